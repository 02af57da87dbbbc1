"""Removing personal data while keeping the figures: what a purge under the retention schedule and an erasure
both do to a case, a stored message and a letter, in the caller's transaction.

A purged case keeps an anonymised skeleton — reference, kind, policy, stage, status, mailbox, service, flags,
dates, stage deadlines and outcomes, and the names of the actions in its audit trail — so the board report and
the digest count it as before. Everything a person wrote or is named by goes: messages, letters, attachments,
subjects, names and addresses, free-text reasons, notes and learning. A purged message or letter stays as an
empty row, so intake never fetches and records the same mail from the mailbox again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, delete, or_, select, text
from sqlalchemy.orm import Session, sessionmaker

from mailbot.cases import records
from mailbot.db.models import Attachment, Case, CaseEvent, Correspondence, InboundMessage, Outbox
from mailbot.intake.store import blob_path
from mailbot.vocabulary import SAFEGUARDING_ALERT_EVENT, InboundState, OutboxState

PURGED_EVENT = "purged"
WITHDRAWN = "withdrawn before sending: the case's personal data was erased"
UNSENT = (OutboxState.PENDING, OutboxState.SENDING, OutboxState.HELD)
# Audit-trail actions whose detail mailbot writes from fixed words, dates and stage names only; every other
# detail (reasons, notes, addresses, what was found) is cleared.
PLAIN_DETAILS = frozenset(
    {"escalated", "outcome", "closed", "acknowledged", "kind", "stage", "follow-up", "flagged", PURGED_EVENT}
)


@dataclass
class Removed:
    """What a purge or an erasure removed; blobs are deleted from the store after the commit."""

    cases: list[str] = field(default_factory=list)
    messages: int = 0
    letters: int = 0
    attachments: int = 0
    blobs: set[str] = field(default_factory=set)

    def __iadd__(self, other: Removed) -> Removed:
        self.cases += other.cases
        self.messages += other.messages
        self.letters += other.letters
        self.attachments += other.attachments
        self.blobs |= other.blobs
        return self

    def summary(self) -> str:
        return (
            f"{len(self.cases)} case(s), {self.messages} message(s), {self.letters} letter(s), "
            f"{self.attachments} attachment(s)"
        )


def purge_case(session: Session, case: Case, at: datetime, why: str) -> Removed:
    """Remove the case's personal data, keep its figures, and say in its audit trail why."""
    removed = Removed(cases=[case.ref])
    inbound_ids, outbox_ids = _stored_mail_of(session, case)
    _remove_correspondence(session, case, removed)
    on_case = or_(InboundMessage.case_id == case.id, InboundMessage.id.in_(inbound_ids))
    for message in session.scalars(select(InboundMessage).where(on_case)):
        removed.messages += purge_inbound(message)
    for letter in session.scalars(
        select(Outbox).where(or_(Outbox.case_id == case.id, Outbox.id.in_(outbox_ids)))
    ):
        removed.letters += purge_letter(letter)
    _anonymise(session, case, at)
    records.log_event(session, case, "mailbot", PURGED_EVENT, at, why)
    return removed


def _stored_mail_of(session: Session, case: Case) -> tuple[set[int], set[int]]:
    """The stored messages and letters the case's correspondence came from (a staff mail recorded on the case,
    a copy of a direct reply), besides those that carry the case's id themselves."""
    rows = session.execute(
        select(Correspondence.inbound_id, Correspondence.outbox_id).where(Correspondence.case_id == case.id)
    ).all()
    return {i for i, _ in rows if i is not None}, {o for _, o in rows if o is not None}


def _remove_correspondence(session: Session, case: Case, removed: Removed) -> None:
    """Delete the case's messages, letters and attachment rows; the attachment files go after the commit."""
    entries = select(Correspondence.id).where(Correspondence.case_id == case.id)
    attachments = Attachment.correspondence_id.in_(entries)
    removed.blobs |= set(session.scalars(select(Attachment.sha256).where(attachments)))
    removed.attachments += session.execute(delete(Attachment).where(attachments)).rowcount
    session.execute(delete(Correspondence).where(Correspondence.case_id == case.id))
    session.expire(case, ["correspondence"])


def _anonymise(session: Session, case: Case, at: datetime) -> None:
    for event in session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)):
        event.actor = "mailbot" if event.actor == "mailbot" else ""
        event.detail = kept_detail(event.action, event.detail)
    for record in case.stages:
        record.extension_reason, record.handler = None, None
    case.complainant_name, case.complainant_address, case.subject = "", "", ""
    case.coordinator, case.learning, case.people_named = None, None, []
    case.held_at = case.held_by = case.hold_reason = None
    case.purged_at = at


def kept_detail(action: str, detail: str) -> str:
    """What of an audit entry's detail survives a purge: the safeguarding categories (the digest counts them)
    and the details mailbot writes from fixed words; nothing a person wrote."""
    if action == SAFEGUARDING_ALERT_EVENT:
        return detail.partition(":")[0]
    return detail if action in PLAIN_DETAILS else ""


def purge_inbound(row: InboundMessage) -> int:
    """Empty a stored message; its row stays (mailbox, folder, UID) so it is never fetched again."""
    if row.state == InboundState.PURGED:
        return 0
    row.raw, row.message_id, row.error, row.outcome = b"", None, None, None
    row.state = InboundState.PURGED
    return 1


def purge_letter(row: Outbox) -> int:
    """Empty a letter; one not yet sent is withdrawn, so delivery never tries to send the empty row."""
    if not row.raw and not row.recipients:
        return 0
    withdrawn = row.state in UNSENT
    row.raw, row.recipients, row.recipient, row.smtp_response = b"", [], "", None
    row.last_error = WITHDRAWN if withdrawn else None
    if withdrawn:
        row.state = OutboxState.SUPPRESSED
    return 1


def delete_blobs(sessions: sessionmaker[Session], store: Path, hashes: Iterable[str]) -> int:
    """After the commit: delete each attachment file no remaining attachment row still uses (the store keeps
    one file for the same bytes received twice, perhaps from someone else)."""
    wanted = set(hashes)
    if not wanted:
        return 0
    with sessions() as session:
        still_used = set(session.scalars(select(Attachment.sha256).where(Attachment.sha256.in_(wanted))))
    deleted = 0
    for digest in sorted(wanted - still_used):
        path = blob_path(store, digest)
        if path.exists():
            path.unlink()
            deleted += 1
    return deleted


def settle(engine: Engine) -> None:
    """SQLite keeps superseded pages in its write-ahead log until a checkpoint: fold them into the database
    (whose freed space ``secure_delete`` has zeroed) and empty the log, so no removed text lingers on disk."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as connection:
        connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
