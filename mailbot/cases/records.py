"""Case records: finding the case a mail belongs to, opening cases, recording correspondence and events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from mailbot.cases.reference import ReferenceFormat
from mailbot.classify import ThreadMatch
from mailbot.db.models import Attachment, Case, CaseEvent, Correspondence, InboundMessage, Outbox
from mailbot.intake.headers import Address
from mailbot.intake.parse import ParsedMail
from mailbot.intake.store import sanitise_filename, save_blob


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


@dataclass(frozen=True)
class NewCase:
    ref: str
    kind: str
    policy: str
    mailbox: str
    received_at: datetime
    flags: tuple[str, ...]
    complainant: Address | None
    coordinator: str | None = None


def open_case(session: Session, new: NewCase, mail: ParsedMail) -> Case:
    sender = new.complainant
    case = Case(
        ref=new.ref,
        kind=new.kind,
        policy=new.policy,
        stage="recorded",  # until a complaints stage starts; compliments and the like stay recorded
        status="recorded",
        mailbox=new.mailbox,
        subject=mail.subject,
        complainant_name=sender.name if sender else "",
        complainant_address=sender.email if sender else "",
        received_at=new.received_at,
        flags=list(new.flags),
        coordinator=new.coordinator,
    )
    session.add(case)
    session.flush()
    return case


def record_inbound(
    session: Session,
    case: Case,
    mail: ParsedMail,
    inbound: InboundMessage,
    kind: str,
    new_text: str,
    store_dir: Path,
) -> Correspondence:
    """Add a received mail to the case, with its attachments written to the content-addressed store."""
    entry = Correspondence(
        case_id=case.id,
        direction="in",
        kind=kind,
        from_address=mail.sender.email if mail.sender else "",
        to_addresses=[a.email for a in (*mail.to, *mail.cc)],
        subject=mail.subject,
        date=mail.date or inbound.received_at,
        new_text=new_text,
        message_id=mail.message_id,
        in_reply_to=mail.in_reply_to[0] if mail.in_reply_to else None,
        references=list(mail.references),
        inbound_id=inbound.id,
    )
    session.add(entry)
    session.flush()
    for item in mail.attachments:
        session.add(
            Attachment(
                correspondence_id=entry.id,
                sha256=save_blob(store_dir, item.payload),
                filename=sanitise_filename(item.filename),
                content_type=item.content_type,
                size=len(item.payload),
            )
        )
    return entry


def record_outbound(
    session: Session, case: Case, row: Outbox, subject: str, text: str, kind: str, thread_parent: str | None
) -> Correspondence:
    """Our own mail on the case, so replies to it thread by Message-ID."""
    entry = Correspondence(
        case_id=case.id,
        direction="out",
        kind=kind,
        from_address=row.sender,
        to_addresses=list(row.recipients),
        subject=subject,
        date=row.created_at,
        new_text=text,
        message_id=row.message_id,
        in_reply_to=thread_parent,
        references=[],
        outbox_id=row.id,
    )
    session.add(entry)
    return entry


def last_inbound(session: Session, case: Case) -> Correspondence | None:
    """The complainant's latest mail on the case (staff mail recorded on it does not count)."""
    return session.scalars(
        select(Correspondence)
        .where(
            Correspondence.case_id == case.id,
            Correspondence.direction == "in",
            func.lower(Correspondence.from_address) == case.complainant_address,
        )
        .order_by(Correspondence.id.desc())
        .limit(1)
    ).first()


def log_event(
    session: Session,
    case: Case,
    actor: str,
    action: str,
    at: datetime,
    detail: str = "",
    inbound: InboundMessage | None = None,
) -> None:
    session.add(
        CaseEvent(
            case_id=case.id,
            at=at,
            actor=actor,
            action=action,
            detail=detail,
            inbound_id=inbound.id if inbound else None,
        )
    )


def list_cases(session: Session, status: str | None = None) -> list[Case]:
    query = select(Case).order_by(Case.id)
    if status:
        query = query.where(Case.status == status)
    return list(session.scalars(query))


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
            or_(InboundMessage.state == "processed", InboundMessage.case_id.is_not(None)),
        )
        .order_by(InboundMessage.id)
        .limit(1)
    ).first()


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def as_dict(case: Case, correspondence: bool = True) -> dict[str, object]:
    """The stable JSON shape of ``cases list --json`` and ``cases show --json``."""
    data: dict[str, object] = {
        "ref": case.ref,
        "kind": case.kind,
        "stage": case.stage,
        "status": case.status,
        "complainant": {"name": case.complainant_name, "address": case.complainant_address},
        "received_at": _iso(case.received_at),
        "acknowledge_due": _iso(case.acknowledge_due),
        "acknowledged_at": _iso(case.acknowledged_at),
        "response_due": _iso(case.response_due),
        "flags": list(case.flags or []),
    }
    if correspondence:
        data["correspondence"] = [
            {
                "direction": c.direction,
                "from": c.from_address,
                "subject": c.subject,
                "date": _iso(c.date),
                "kind": c.kind,
            }
            for c in case.correspondence
        ]
    return data


def one_line(case: Case) -> str:
    due = f"respond by {case.response_due}" if case.response_due else ""
    acked = "acknowledged" if case.acknowledged_at else f"ack due {case.acknowledge_due or '-'}"
    return f"{case.ref}\t{case.kind}\t{case.stage}\t{case.status}\t{case.complainant_address}\t{acked}\t{due}"


def describe(case: Case) -> str:
    lines = [
        one_line(case),
        f"  subject: {case.subject}",
        f"  received: {case.received_at:%Y-%m-%d %H:%M} UTC",
    ]
    for entry in case.correspondence:
        lines.append(
            f"  {entry.date:%Y-%m-%d %H:%M} {entry.direction:>3} {entry.kind:<15} {entry.from_address}: "
            f"{entry.subject}"
        )
    lines += [f"  event {e.at:%Y-%m-%d %H:%M} {e.actor}: {e.action} {e.detail}".rstrip() for e in case.events]
    return "\n".join(lines)
