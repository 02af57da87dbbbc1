"""What a subject access export holds for one person, gathered into frozen records: their cases, every message
from or to them, the audit entries about them, their mail on no case, and what was withheld and why.

On their own cases, mail between staff and the mailbot (notifications, commands, notes) is included or
withheld as a person decides; mail from anyone else is withheld as another person's data and listed, so the
data protection officer can decide whether to disclose it. Nothing of a case they are not a party to is
included beyond their own messages and the entries naming them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from mailbot.db.models import Attachment, Case, CaseEvent, Correspondence, InboundMessage
from mailbot.intake.parse import UnparseableMail, parse_mail
from mailbot.intake.store import blob_path
from mailbot.privacy import people
from mailbot.vocabulary import Kind

NOTE_EVENT = "note"
INTERNAL = "mail between staff and the complaints mailbox about the case"
STAFF_NOTE = "a staff note"
THIRD_PARTY = "another person's mail (their personal data): a person decides whether to disclose it"


@dataclass(frozen=True)
class ExportedFile:
    path: str  # inside the export
    filename: str
    content_type: str
    size: int
    sha256: str
    data: bytes | None  # None when no longer in the attachment store


@dataclass(frozen=True)
class ExportedMessage:
    case_ref: str
    direction: str
    kind: str
    sender: str
    recipients: tuple[str, ...]
    subject: str
    date: datetime
    text: str
    files: tuple[ExportedFile, ...]


@dataclass(frozen=True)
class ExportedEvent:
    case_ref: str
    at: datetime
    actor: str
    action: str
    detail: str


@dataclass(frozen=True)
class Withheld:
    case_ref: str
    date: datetime
    what: str
    why: str


@dataclass(frozen=True)
class OtherMail:
    path: str
    received_at: datetime
    state: str
    subject: str
    raw: bytes


@dataclass(frozen=True)
class SubjectAccess:
    organisation: str
    address: str
    generated_at: datetime
    notes_included: bool
    notes_reason: str
    cases: tuple[Case, ...]
    messages: tuple[ExportedMessage, ...]
    events: tuple[ExportedEvent, ...]
    other_mail: tuple[OtherMail, ...]
    withheld: tuple[Withheld, ...]

    @property
    def files(self) -> tuple[ExportedFile, ...]:
        return tuple(f for message in self.messages for f in message.files)


@dataclass(frozen=True)
class Request:
    address: str
    include_notes: bool
    reason: str  # why notes are withheld (or included), recorded with the export
    organisation: str
    store: Path
    now: datetime
    staff: frozenset[str] = frozenset()  # staff and our own addresses: their mail on a case is internal


def gather(session: Session, request: Request) -> SubjectAccess:
    address = request.address
    cases = people.cases_of(session, address)
    own = {case.id for case in cases}
    entries: dict[int, Correspondence] = {c.id: c for case in cases for c in case.correspondence}
    entries.update({c.id: c for c in people.correspondence_of(session, address)})
    included, withheld = [], []
    for entry in sorted(entries.values(), key=lambda c: (c.date, c.id)):
        why = _withheld_because(entry, request)
        if why is None:
            included.append(entry)
        else:
            withheld.append(Withheld(entry.case.ref, entry.date, f"{entry.direction} {entry.kind}", why))
    events, notes = _events(session, cases, address, own, request.include_notes)
    return SubjectAccess(
        request.organisation, address, request.now, request.include_notes, request.reason, tuple(cases),
        tuple(_message(entry, number, request.store) for number, entry in enumerate(included, 1)),
        tuple(events), tuple(_other_mail(row) for row in people.mail_on_no_case(session, address)),
        tuple(withheld + notes),
    )  # fmt: skip


def _withheld_because(entry: Correspondence, request: Request) -> str | None:
    sender = entry.from_address.lower()
    if request.address in (sender, *(entry.to_addresses or [])):
        return None
    internal = entry.direction == "out" or entry.kind == Kind.STAFF_REPLY or sender in request.staff
    if internal:
        return None if request.include_notes else INTERNAL
    return THIRD_PARTY


def _events(
    session: Session, cases: list[Case], address: str, own: set[int], include_notes: bool
) -> tuple[list[ExportedEvent], list[Withheld]]:
    kept: dict[int, CaseEvent] = {e.id: e for case in cases for e in case.events}
    kept.update({e.id: e for e in people.events_naming(session, address)})
    events, withheld = [], []
    for event in sorted(kept.values(), key=lambda e: (e.at, e.id)):
        if event.action == NOTE_EVENT and event.case_id in own and not include_notes:
            withheld.append(Withheld(event.case.ref, event.at, NOTE_EVENT, STAFF_NOTE))
        else:
            events.append(ExportedEvent(event.case.ref, event.at, event.actor, event.action, event.detail))
    return events, withheld


def _message(entry: Correspondence, number: int, store: Path) -> ExportedMessage:
    files = tuple(
        _file(attachment, f"files/{number:03d}-{index}-{attachment.filename}", store)
        for index, attachment in enumerate(entry.attachments, 1)
    )
    return ExportedMessage(
        entry.case.ref, entry.direction, entry.kind, entry.from_address, tuple(entry.to_addresses or ()),
        entry.subject, entry.date, entry.new_text, files,
    )  # fmt: skip


def _file(attachment: Attachment, path: str, store: Path) -> ExportedFile:
    return ExportedFile(
        path, attachment.filename, attachment.content_type, attachment.size, attachment.sha256,
        _blob(store, attachment.sha256),
    )  # fmt: skip


def _blob(store: Path, sha256: str) -> bytes | None:
    path = blob_path(store, sha256)
    return path.read_bytes() if path.is_file() else None


def _other_mail(row: InboundMessage) -> OtherMail:
    try:
        subject = parse_mail(row.raw).subject
    except UnparseableMail:
        subject = "(cannot be read as a mail)"
    return OtherMail(f"mail/{row.id}.eml", row.received_at, row.state, subject, row.raw)
