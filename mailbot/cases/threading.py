"""Which case a mail belongs to: by the Message-ID chain, or by a written reference from a party to the case.

Also recognises a mail we have already handled (the same mail in two mailboxes, or fetched twice)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from mailbot.cases.reference import ReferenceFormat
from mailbot.classify import ThreadMatch
from mailbot.db.models import Case, Correspondence, InboundMessage
from mailbot.intake.parse import ParsedMail
from mailbot.vocabulary import InboundState

# Reply and forward prefixes as Outlook writes them in the sender's language (English, German, Scandinavian,
# Dutch, Finnish, Polish; FW/WG/TR/RV/Doorst/VB/VL/PD forwards). A reference is found wherever it stands in
# a subject, so threading does not need them stripped; a case's subject is kept without them.
REPLY_PREFIXES = (
    "re",
    "aw",
    "sv",
    "antw",
    "vs",
    "odp",
    "fw",
    "fwd",
    "wg",
    "tr",
    "rv",
    "doorst",
    "vb",
    "vl",
    "pd",
)
_PREFIXES = re.compile(
    r"^(?:\s*(?:" + "|".join(REPLY_PREFIXES) + r")(?:\s*\[\d+\])?\s*[:\uff1a])+\s*", re.IGNORECASE
)


def without_reply_prefixes(subject: str) -> str:
    """``AW: SV: Re[2]: Missed visits`` -> ``Missed visits``; a subject of prefixes alone stays as it is."""
    return _PREFIXES.sub("", subject) or subject


@dataclass(frozen=True)
class ThreadLookup:
    """The case a mail threads into (if any) and, when a reference was refused, why."""

    match: ThreadMatch | None
    refused: str | None = None


def find_thread(
    session: Session, mail: ParsedMail, refs: ReferenceFormat, staff: bool = False
) -> ThreadLookup:
    """Match by Message-ID chain first; then by a reference in the subject, the body or a plus-address.

    A reference is only honoured from a party to that case or from staff our server vouches for: anyone can
    type a reference into a subject, and must not thereby read or add to someone else's case.
    """
    case = case_by_message_ids(session, (*mail.in_reply_to, *mail.references))
    if case is not None:
        return ThreadLookup(ThreadMatch(case.ref, "references"))
    sender = mail.sender.email if mail.sender else ""
    refused = None
    for matched_by, ref in _written_references(mail, refs):
        case = case_by_reference(session, ref)
        if case is None:
            continue
        if staff or is_party(session, case, sender):
            return ThreadLookup(ThreadMatch(case.ref, matched_by))
        refused = (
            refused
            or f"{case.ref} quoted in the {matched_by} by {sender or 'an unknown sender'}, "
            "who is not a party to that case"
        )
    return ThreadLookup(None, refused)


def _written_references(mail: ParsedMail, refs: ReferenceFormat) -> list[tuple[str, str]]:
    found = [("subject", ref) for ref in refs.find_all(mail.subject)]
    found += [("body", ref) for ref in refs.find_all(mail.text[:20000])]
    plus = [a.email.split("@")[0].partition("+")[2] for a in (*mail.to, *mail.cc)]
    found += [("plus_address", ref) for tag in plus for ref in refs.find_all(tag)]
    return found


def case_by_message_ids(session: Session, message_ids: tuple[str, ...]) -> Case | None:
    if not message_ids:
        return None
    return session.scalars(
        select(Case)
        .join(Correspondence)
        .where(Correspondence.message_id.in_(message_ids))
        .order_by(Correspondence.id.desc())
        .limit(1)
    ).first()


def case_by_reference(session: Session, ref: str) -> Case | None:
    return session.scalars(select(Case).where(func.lower(Case.ref) == ref.lower())).first()


def is_party(session: Session, case: Case, address: str) -> bool:
    """The complainant, or anyone who has already written on the case."""
    address = address.lower()
    if not address:
        return False
    if case.complainant_address == address:
        return True
    wrote = select(Correspondence.id).where(
        Correspondence.case_id == case.id,
        Correspondence.direction == "in",
        func.lower(Correspondence.from_address) == address,
    )
    return session.scalars(wrote.limit(1)).first() is not None


def known_message(
    session: Session, message_id: str | None, sha256: str, exclude_id: int
) -> InboundMessage | None:
    """An earlier copy of the same mail (same Message-ID, or same bytes when it has none)."""
    condition = InboundMessage.message_id == message_id if message_id else InboundMessage.sha256 == sha256
    return session.scalars(
        select(InboundMessage)
        .where(
            condition,
            InboundMessage.id != exclude_id,
            or_(InboundMessage.state == InboundState.PROCESSED, InboundMessage.case_id.is_not(None)),
        )
        .order_by(InboundMessage.id)
        .limit(1)
    ).first()
