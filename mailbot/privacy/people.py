"""Finding what is held about one person, by their email address: the cases they complained in, every message
from or to them on any case, the audit entries that name them, and their mail that is on no case."""

from __future__ import annotations

import email.parser
import email.policy
import email.utils

from sqlalchemy import Text, cast, func, or_, select
from sqlalchemy.orm import Session

from mailbot import checked
from mailbot.db.models import Case, CaseEvent, Correspondence, InboundMessage, InboundRaw
from mailbot.errors import UserError
from mailbot.vocabulary import InboundState

_HEADERS = email.parser.BytesHeaderParser(policy=email.policy.compat32)
HEADER_BYTES = 64 * 1024  # where a From header is found in any mail a real client sends


class AddressError(UserError):
    """An address given on the command line that is not one."""


def person_address(value: str) -> str:
    """The address as stored (lower case), or an error saying what would be accepted."""
    address = checked.address(value)
    if address is None:
        raise AddressError(f"--address {value!r}: expected an email address such as jane.doe@example.net")
    return address


def cases_of(session: Session, address: str) -> list[Case]:
    """The cases where they are the complainant (the party a case is about)."""
    query = select(Case).where(func.lower(Case.complainant_address) == address).order_by(Case.id)
    return list(session.scalars(query))


def correspondence_of(session: Session, address: str) -> list[Correspondence]:
    """Every message from them and every letter or mail to them, on any case."""
    # JSON lists are text on SQLite and json on PostgreSQL: a LIKE on the quoted address works on both.
    to_them = cast(Correspondence.to_addresses, Text).contains(f'"{address}"', autoescape=True)
    query = select(Correspondence).where(or_(func.lower(Correspondence.from_address) == address, to_them))
    return list(session.scalars(query.order_by(Correspondence.date, Correspondence.id)))


def events_naming(session: Session, address: str) -> list[CaseEvent]:
    """Audit entries on any case whose actor is them or whose detail names their address."""
    named = func.lower(CaseEvent.detail).contains(address, autoescape=True)
    query = select(CaseEvent).where(or_(func.lower(CaseEvent.actor) == address, named))
    return list(session.scalars(query.order_by(CaseEvent.at, CaseEvent.id)))


def mail_on_no_case(session: Session, address: str) -> list[InboundMessage]:
    """Their mail that opened no case and joined none: shunted, machine mail, spam, known by the From header
    of the stored bytes. Only the start of each message is read, a batch at a time; the retention schedule
    keeps such mail for days, not years, so there is never much of it."""
    head = func.substr(InboundRaw.raw, 1, HEADER_BYTES)
    query = (
        select(InboundMessage.id, head)
        .join(InboundRaw, InboundRaw.inbound_id == InboundMessage.id)
        .where(InboundMessage.case_id.is_(None), InboundMessage.state != InboundState.PURGED)
        .order_by(InboundMessage.id)
        .execution_options(yield_per=200)
    )
    found = [row_id for row_id, start in session.execute(query) if sender_of(bytes(start or b"")) == address]
    return [session.get_one(InboundMessage, row_id) for row_id in found]


def sender_of(raw: bytes) -> str | None:
    """The From address of stored bytes, lower case; None when there is none to read."""
    try:
        value = _HEADERS.parsebytes(raw).get("From")
    except (TypeError, ValueError):
        return None
    found = [addr for _name, addr in email.utils.getaddresses([str(value)]) if addr] if value else []
    return found[0].strip().lower() if found else None
