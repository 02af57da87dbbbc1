"""Who is a party to a case: its complainant, and anyone a coordinator added (an advocate, a relative acting
for them). Only a party's mail threads into a case, and only a party receives a letter about it; no header of
a mail (From, Reply-To, Cc) makes anyone a party — a person does."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailbot import checked
from mailbot.cases import records
from mailbot.db.models import Case, CaseParty, InboundMessage
from mailbot.errors import UserError


class PartyError(UserError):
    """An address that cannot be made a party; says what would be accepted."""


@dataclass(frozen=True)
class Party:
    name: str
    address: str


def complainant(case: Case) -> Party:
    return Party(case.complainant_name, case.complainant_address)


def parties(session: Session, case: Case) -> list[Party]:
    """The complainant first, then those added, in the order they were added."""
    added = session.scalars(select(CaseParty).where(CaseParty.case_id == case.id).order_by(CaseParty.id))
    return [complainant(case), *(Party(p.name, p.address) for p in added)]


def party_for(session: Session, case: Case, address: str) -> Party | None:
    """The party this address is, as recorded on the case (the same address, any letter case)."""
    wanted = address.strip().lower()
    if not wanted:
        return None
    if case.complainant_address and case.complainant_address.lower() == wanted:
        return complainant(case)
    added = session.scalars(
        select(CaseParty).where(CaseParty.case_id == case.id, func.lower(CaseParty.address) == wanted)
    ).first()
    return Party(added.name, added.address) if added else None


def is_party(session: Session, case: Case, address: str) -> bool:
    return party_for(session, case, address) is not None


def add_party(
    session: Session, case: Case, address: str, name: str, by: str, at: datetime,
    inbound: InboundMessage | None = None,
) -> str:  # fmt: skip
    """Record someone as a party to the case; the audit trail says who added them."""
    checked_address = checked.address(address)
    if checked_address is None:
        raise PartyError(f"{address!r} is not an email address (expected name@example.org)")
    if is_party(session, case, checked_address):
        return f"{checked_address} is already a party to {case.ref}"
    shown = checked.display_name(name)
    session.add(CaseParty(case_id=case.id, address=checked_address, name=shown, added_by=by, added_at=at))
    detail = f"{shown} <{checked_address}>" if shown else checked_address
    records.log_event(session, case, by, "party added", at, detail, inbound)
    return f"{checked_address} added as a party to {case.ref}"
