"""Case records: opening cases, recording correspondence and events, and showing a case to a person."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from mailbot import checked
from mailbot.db.models import Attachment, Case, CaseEvent, Correspondence, InboundMessage, Outbox, StageRecord
from mailbot.db.notes import transaction_notes
from mailbot.db.rows import write_new, write_now
from mailbot.intake.headers import Address
from mailbot.intake.parse import ParsedMail
from mailbot.intake.store import sanitise_filename, save_blob
from mailbot.intake.subjects import without_reply_prefixes
from mailbot.vocabulary import RECORDED_STAGE, CaseStatus


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


OPENED = "cases opened"  # transaction_notes: the cases this transaction opened


def open_case(session: Session, new: NewCase, mail: ParsedMail) -> Case:
    """The new case, added to the session but not yet written: what is set on it before the next flush (its
    first stage, the staff it names) goes into the one INSERT."""
    case = new_case(new, mail)
    session.add(case)
    transaction_notes(session).setdefault(OPENED, set()).add(case)
    return case


def new_case(new: NewCase, mail: ParsedMail) -> Case:
    """The new case, not yet in the session: what is set on it before ``write_new_case`` (its first stage,
    the staff it names) goes into its one INSERT."""
    sender = new.complainant
    return Case(
        ref=new.ref,
        kind=new.kind,
        policy=new.policy,
        stage=RECORDED_STAGE,  # until a complaints stage starts; compliments and the like stay recorded
        status=CaseStatus.RECORDED,
        mailbox=new.mailbox,
        subject=without_reply_prefixes(mail.subject),
        # The name as letters greet them: no address, link or markup, at most 64 characters.
        complainant_name=checked.display_name(sender.name) if sender else "",
        complainant_address=sender.email if sender else "",
        received_at=new.received_at,
        flags=list(new.flags),
        coordinator=new.coordinator,
        stages=[],  # a new case has none: known without asking the database
    )


def write_new_case(session: Session, case: Case, first_stage: StageRecord | None) -> None:
    """Write the new case, and its first stage if it has one, at once: the rows that follow need the case's
    id, and a flush for it would write everything else pending too (``db.rows.write_now``)."""
    write_now(session, case)
    begun = []
    if first_stage is not None:
        first_stage.case_id = case.id
        begun.append(write_now(session, first_stage))
    set_committed_value(case, "stages", begun)
    transaction_notes(session).setdefault(OPENED, set()).add(case)


def opened_here(session: Session, case: Case) -> bool:
    """Whether this transaction opened the case: nothing about it can have been written before."""
    return case in transaction_notes(session).get(OPENED, ())


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
    values = {
        "case_id": case.id,
        "direction": "in",
        "kind": kind,
        "from_address": mail.sender.email if mail.sender else "",
        "to_addresses": [a.email for a in (*mail.to, *mail.cc)],
        "subject": mail.subject,
        "date": mail.date or inbound.received_at,
        "new_text": new_text,
        "message_id": mail.message_id,
        "in_reply_to": mail.in_reply_to[0] if mail.in_reply_to else None,
        "references": list(mail.references),
        "inbound_id": inbound.id,
    }
    files = [
        {
            "sha256": save_blob(store_dir, item.payload),
            "filename": sanitise_filename(item.filename),
            "content_type": item.content_type,
            "size": len(item.payload),
        }
        for item in mail.attachments
    ]
    if "correspondence" in case.__dict__:
        # The case's mail is loaded in this session: the entry joins it there, and goes with the next flush.
        entry = Correspondence(**values)
        entry.case = case
        entry.attachments.extend(Attachment(**file) for file in files)
        session.add(entry)
        return entry
    # Otherwise written at once (``db.rows.write_new``): a flush costs more than the rows.
    entry = write_new(session, Correspondence, **values)
    written = [write_new(session, Attachment, correspondence_id=entry.id, **file) for file in files]
    set_committed_value(entry, "attachments", written)
    return entry


def record_outbound(
    session: Session, case: Case, row: Outbox, subject: str, text: str, kind: str, thread_parent: str | None
) -> Correspondence:
    """Our own mail on the case, so replies to it thread by Message-ID."""
    return write_new(  # at once: a flush costs more than the row
        session,
        Correspondence,
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
    log_event_on(session, case.id, actor, action, at, detail, inbound.id if inbound else None)


def log_event_on(
    session: Session, case_id: int, actor: str, action: str, at: datetime, detail: str = "",
    inbound_id: int | None = None,
) -> None:  # fmt: skip
    """Add a line to a case's audit trail as a plain INSERT on the session's connection: the ORM's unit of
    work cost more than the row itself, and what is pending in the session is not flushed for it (the case
    has its id, so its row is written already). Written at once, or within ``events_together`` with the
    others at its end; a later read in the same transaction finds it, as once a flush had written it."""
    values = {"case_id": case_id, "at": at, "actor": actor, "action": action, "detail": detail}
    held = session.info.get(HELD_EVENTS)
    if held is not None:
        held.append({**values, "inbound_id": inbound_id})
        return
    session.connection().execute(_NEW_EVENT, {**values, "inbound_id": inbound_id})


@contextmanager
def events_together(session: Session) -> Iterator[None]:
    """The audit lines logged inside are written in one statement at its end (opening a case logs three to
    five). Should the block fail, they go with the transaction it fails. Code inside that reads the audit
    trail calls ``write_held_events`` first."""
    if HELD_EVENTS in session.info:  # already inside one: its end writes them
        yield
        return
    session.info[HELD_EVENTS] = []
    try:
        yield
        write_held_events(session)
    finally:
        session.info.pop(HELD_EVENTS, None)


def write_held_events(session: Session) -> None:
    """Write the audit lines ``events_together`` holds so far, so a read of the trail finds them."""
    held = session.info.get(HELD_EVENTS)
    if held:
        session.connection().execute(_NEW_EVENT, list(held))
        held.clear()


HELD_EVENTS = "case events held"  # session.info: the audit lines events_together will write at its end
_NEW_EVENT = CaseEvent.__table__.insert()


def list_cases(session: Session, status: str | None = None) -> list[Case]:
    query = select(Case).order_by(Case.id)
    if status:
        query = query.where(Case.status == status)
    return list(session.scalars(query))


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
        data["parties"] = [
            {"name": p.name, "address": p.address, "added_by": p.added_by, "added_at": _iso(p.added_at)}
            for p in case.parties
        ]
        data["correspondence"] = [
            {
                "direction": c.direction,
                "from": c.from_address,
                "subject": c.subject,
                "date": _iso(c.date),
                "kind": c.kind,
                "text": c.new_text,
                "attachments": [attachment_dict(a) for a in c.attachments],
            }
            for c in case.correspondence
        ]
    return data


def attachment_dict(attachment: Attachment) -> dict[str, object]:
    return {
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "sha256": attachment.sha256,
    }


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
    for party in case.parties:  # besides the complainant, who may write on the case and receive its letters
        lines.append(
            f"  party: {party.name} <{party.address}> added by {party.added_by} {party.added_at:%Y-%m-%d}"
        )
    for entry in case.correspondence:
        lines.append(
            f"  {entry.date:%Y-%m-%d %H:%M} {entry.direction:>3} {entry.kind:<15} {entry.from_address}: "
            f"{entry.subject}"
        )
    lines += [f"  event {e.at:%Y-%m-%d %H:%M} {e.actor}: {e.action} {e.detail}".rstrip() for e in case.events]
    return "\n".join(lines)
