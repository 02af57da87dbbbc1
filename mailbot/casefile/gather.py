"""Everything the case file shows, read from the database and the attachment store into frozen records: the
summary, the parties, every message and letter in order, each stage's dates against the policy's deadlines,
extensions with their reasons, outcomes and learning, and the audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from mailbot.config.staff import StaffDirectory
from mailbot.db.models import Attachment, Case, CaseEvent, Correspondence, StageRecord
from mailbot.intake.store import blob_path
from mailbot.policy import Policy

# Attachment types a browser draws as a picture; anything else (SVG above all, which can carry script) is
# offered as a file only.
PICTURES = ("image/png", "image/jpeg", "image/gif", "image/webp")
EXTENDED_EVENT = "extended"


@dataclass(frozen=True)
class FileAttachment:
    filename: str
    content_type: str
    size: int
    sha256: str
    data: bytes | None  # None when the file is no longer in the store

    @property
    def is_picture(self) -> bool:
        return self.data is not None and self.content_type.lower() in PICTURES


@dataclass(frozen=True)
class FileItem:
    """One message or letter in the chronology."""

    number: int
    direction: str  # "in" | "out"
    kind: str
    sender: str
    recipients: tuple[str, ...]
    subject: str
    at: datetime  # local time
    text: str
    attachments: tuple[FileAttachment, ...]


@dataclass(frozen=True)
class Party:
    role: str
    name: str
    address: str


@dataclass(frozen=True)
class Deadline:
    """A date the policy set and what happened: ``kept`` is None while it is neither met nor passed."""

    due: date | None
    done: date | None
    kept: bool | None


@dataclass(frozen=True)
class FileStage:
    name: str
    label: str
    timescales: str  # the policy's words: "acknowledge within 5 working days; respond within 20 ..."
    started: date
    acknowledgement: Deadline
    response: Deadline
    extended_to: date | None
    extension_reason: str | None
    extension_agreed: bool
    outcome: str | None
    handler: str | None


@dataclass(frozen=True)
class FileEvent:
    at: datetime  # local time
    actor: str
    action: str
    detail: str


@dataclass(frozen=True)
class CaseFile:
    organisation: str
    generated_at: datetime
    zone: str
    case: Case
    policy_title: str
    policy_source: str
    parties: tuple[Party, ...]
    items: tuple[FileItem, ...]
    stages: tuple[FileStage, ...]
    extensions: tuple[FileEvent, ...]
    events: tuple[FileEvent, ...]

    @property
    def outcomes(self) -> tuple[FileStage, ...]:
        return tuple(stage for stage in self.stages if stage.outcome)

    @property
    def attachments(self) -> tuple[FileAttachment, ...]:
        return tuple(a for item in self.items for a in item.attachments)


def gather_case_file(
    case: Case, policy: Policy, staff: StaffDirectory | None, store: Path, organisation: str, zone: str,
    now: datetime,
) -> CaseFile:  # fmt: skip
    local = ZoneInfo(zone)
    events = tuple(_event(e, local) for e in case.events)
    return CaseFile(
        organisation, now.astimezone(local), zone, case, policy.title, _source(policy),
        parties(case, staff), tuple(_item(i, c, store, local) for i, c in enumerate(case.correspondence, 1)),
        tuple(_stage(r, policy, local, now.astimezone(local).date()) for r in case.stages),
        tuple(e for e in events if e.action == EXTENDED_EVENT), events,
    )  # fmt: skip


def _source(policy: Policy) -> str:
    parts = (policy.source.document, policy.source.section, policy.source.url)
    return ", ".join(part for part in parts if part)


def parties(case: Case, staff: StaffDirectory | None) -> tuple[Party, ...]:
    """The complainant, the staff who handled the case, anyone else who wrote on it, and staff it names."""
    found = [Party("complainant", case.complainant_name, case.complainant_address)]
    if case.coordinator:
        found.append(Party("coordinator", _staff_name(staff, case.coordinator), case.coordinator))
    found += [
        Party(f"handler, {record.stage}", _staff_name(staff, record.handler), record.handler)
        for record in case.stages
        if record.handler
    ]
    known = {p.address for p in found}
    for entry in case.correspondence:
        writer = entry.from_address.lower()
        if entry.direction == "in" and writer and writer not in known:
            role = "staff" if staff and staff.is_staff_address(writer) else "also wrote"
            found.append(Party(role, _staff_name(staff, writer) if role == "staff" else "", writer))
            known.add(writer)
    found += [Party("named in the complaint", name, "") for name in case.people_named]
    return tuple(found)


def _staff_name(staff: StaffDirectory | None, address: str) -> str:
    person = staff.person_for(address) if staff else None
    return person.name if person else ""


def _item(number: int, entry: Correspondence, store: Path, zone: ZoneInfo) -> FileItem:
    return FileItem(
        number, entry.direction, entry.kind, entry.from_address, tuple(entry.to_addresses or ()),
        entry.subject, entry.date.astimezone(zone), entry.new_text,
        tuple(_attachment(a, store) for a in entry.attachments),
    )  # fmt: skip


def _attachment(row: Attachment, store: Path) -> FileAttachment:
    path = blob_path(store, row.sha256)
    data = path.read_bytes() if path.is_file() else None
    return FileAttachment(row.filename, row.content_type, row.size, row.sha256, data)


def _stage(record: StageRecord, policy: Policy, zone: ZoneInfo, today: date) -> FileStage:
    try:
        stage = policy.stage(record.stage)
        label, timescales = stage.label, _timescales(policy, record.stage)
    except KeyError:  # a stage the policy no longer has
        label, timescales = record.stage, "not in the current policy"
    respond_due = record.extended_to or record.respond_due
    return FileStage(
        record.stage, label, timescales, record.started_at.astimezone(zone).date(),
        deadline(record.acknowledge_due, record.acknowledged_at, zone, today),
        deadline(respond_due, record.responded_at, zone, today),
        record.extended_to, record.extension_reason, record.extension_agreed, record.outcome, record.handler,
    )  # fmt: skip


def deadline(due: date | None, done_at: datetime | None, zone: ZoneInfo, today: date) -> Deadline:
    """Kept when done on or before the local date due; missed when done later or not done by a past date."""
    done = done_at.astimezone(zone).date() if done_at else None
    if due is None:
        return Deadline(None, done, None)
    if done is not None:
        return Deadline(due, done, done <= due)
    return Deadline(due, None, False if due < today else None)


def _timescales(policy: Policy, name: str) -> str:
    stage = policy.stage(name)
    parts = [f"acknowledge within {stage.acknowledge.within}"] if stage.acknowledge else []
    respond = stage.respond
    if respond.within is None:
        parts.append("respond by a date agreed with the complainant")
    else:
        counted = "receipt" if respond.counted == "from_receipt" else "acknowledgement"
        parts.append(f"respond within {respond.within} of {counted}")
    if respond.extension is not None:
        limit = respond.extension.limit
        parts.append(f"extension of up to {limit}" if limit else "extension allowed (no maximum stated)")
    return "; ".join(parts)


def _event(event: CaseEvent, zone: ZoneInfo) -> FileEvent:
    return FileEvent(event.at.astimezone(zone), event.actor, event.action, event.detail)
