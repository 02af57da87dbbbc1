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

from sqlalchemy import Engine, Executable, delete, func, insert, literal, or_, select, text, update
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from mailbot.db.models import (
    Attachment,
    Case,
    CaseEvent,
    CaseParty,
    Correspondence,
    InboundMessage,
    InboundRaw,
    InformationRequest,
    KindExample,
    Outbox,
    StageRecord,
)
from mailbot.intake.store import blob_path
from mailbot.vocabulary import SAFEGUARDING_ALERT_EVENT, InboundState, OutboxState

PURGED_EVENT = "purged"
WITHDRAWN = "withdrawn before sending: the case's personal data was erased"
UNSENT = (OutboxState.PENDING, OutboxState.SENDING, OutboxState.HELD)
SUPPRESSED = OutboxState.SUPPRESSED
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


def purge_cases(session: Session, expired: list[tuple[Case, str]], at: datetime) -> Removed:
    """Remove the personal data of each case, keep its figures, and say in its audit trail why. Set-wise, a
    few statements for the whole batch, so a monthly purge of thousands of cases takes seconds."""
    ids = [case.id for case, _why in expired]
    removed = Removed(cases=[case.ref for case, _why in expired])
    if not ids:
        return removed
    session.flush()  # what the caller changed goes first; the statements below bypass the session
    inbound_ids, outbox_ids = _stored_mail_of(session, ids)
    _remove_correspondence(session, ids, removed)
    removed.messages = empty_messages(
        session, or_(InboundMessage.case_id.in_(ids), InboundMessage.id.in_(inbound_ids))
    )
    removed.letters = empty_letters(session, or_(Outbox.case_id.in_(ids), Outbox.id.in_(outbox_ids)), at)
    _anonymise(session, ids, at)
    session.expire_all()  # objects loaded before hold what was removed; read them again if needed
    purged = [
        {"case_id": case_id, "at": at, "actor": "mailbot", "action": PURGED_EVENT, "detail": why}
        for case_id, (_case, why) in zip(ids, expired, strict=True)
    ]
    session.execute(insert(CaseEvent), purged)
    return removed


def _stored_mail_of(session: Session, ids: list[int]) -> tuple[set[int], set[int]]:
    """The stored messages and letters the cases' correspondence came from (a staff mail recorded on a case,
    a copy of a direct reply), besides those that carry the case's id themselves."""
    rows = session.execute(
        select(Correspondence.inbound_id, Correspondence.outbox_id).where(Correspondence.case_id.in_(ids))
    ).all()
    return {i for i, _ in rows if i is not None}, {o for _, o in rows if o is not None}


def _remove_correspondence(session: Session, ids: list[int], removed: Removed) -> None:
    """Delete the cases' messages, letters and attachment rows; the attachment files go after the commit."""
    entries = select(Correspondence.id).where(Correspondence.case_id.in_(ids))
    attachments = Attachment.correspondence_id.in_(entries)
    removed.blobs |= set(session.scalars(select(Attachment.sha256).where(attachments)))
    removed.attachments = _bulk(session, delete(Attachment).where(attachments))
    _bulk(session, delete(Correspondence).where(Correspondence.case_id.in_(ids)))


def empty_messages(session: Session, which: ColumnElement[bool]) -> int:
    """Empty stored messages; each row stays (mailbox, folder, UID) so the mail is never fetched again."""
    emptied = {
        "message_id": None, "sender": None, "content_sha256": None, "released_by": None,
        "error": None, "outcome": None, "state": InboundState.PURGED,
    }  # fmt: skip
    statement = update(InboundMessage).where(which, InboundMessage.state != InboundState.PURGED)
    ids = select(InboundMessage.id).where(which, InboundMessage.state != InboundState.PURGED)
    _bulk(session, delete(InboundRaw).where(InboundRaw.inbound_id.in_(ids)))  # the raw bytes live apart
    return _bulk(session, statement.values(**emptied))


def empty_letters(session: Session, which: ColumnElement[bool], at: datetime) -> int:
    """Empty letters; one not yet sent is withdrawn, so delivery never tries to send an empty row, and one
    not yet copied to the Sent folder never will be (there is nothing left to copy)."""
    not_to_file = func.coalesce(Outbox.filed_at, literal(at, Outbox.filed_at.type))
    emptied = {"raw": b"", "recipients": [], "recipient": "", "smtp_response": None, "filed_at": not_to_file}
    held = update(Outbox).where(which, func.length(Outbox.raw) > 0)
    unsent = held.where(Outbox.state.in_(UNSENT)).values(**emptied, last_error=WITHDRAWN, state=SUPPRESSED)
    withdrawn = _bulk(session, unsent)
    return withdrawn + _bulk(session, held.values(**emptied, last_error=None))


def _anonymise(session: Session, ids: list[int], at: datetime) -> None:
    events = CaseEvent.case_id.in_(ids)
    _bulk(session, update(CaseEvent).where(events, CaseEvent.actor != "mailbot").values(actor=""))
    free_text = CaseEvent.action.not_in([*PLAIN_DETAILS, SAFEGUARDING_ALERT_EVENT])
    _bulk(session, update(CaseEvent).where(events, free_text).values(detail=""))
    alerts = select(CaseEvent).where(events, CaseEvent.action == SAFEGUARDING_ALERT_EVENT)
    for alert in session.scalars(alerts):
        alert.detail = kept_detail(alert.action, alert.detail)
    _bulk(
        session,
        update(StageRecord).where(StageRecord.case_id.in_(ids)).values(extension_reason=None, handler=None),
    )
    _forget_people_and_words(session, ids)
    anonymous = {
        "complainant_name": "", "complainant_address": "", "subject": "", "coordinator": None,
        "learning": None, "people_named": [], "held_at": None, "held_by": None, "hold_reason": None,
        "purged_at": at,
    }  # fmt: skip
    _bulk(session, update(Case).where(Case.id.in_(ids)).values(**anonymous))


def _forget_people_and_words(session: Session, ids: list[int]) -> None:
    """Parties a coordinator added and texts kept to teach the kind model are personal data of the case too;
    an information request keeps only its dates (the figures), not where it was forwarded."""
    _bulk(session, delete(CaseParty).where(CaseParty.case_id.in_(ids)))
    _bulk(session, delete(KindExample).where(KindExample.case_id.in_(ids)))
    _bulk(
        session,
        update(InformationRequest).where(InformationRequest.case_id.in_(ids)).values(forwarded_to=None),
    )


def _bulk(session: Session, statement: Executable) -> int:
    """A set-wise statement, not synchronised with objects in the session (they are expired afterwards)."""
    result = session.execute(statement, execution_options={"synchronize_session": False})
    return int(getattr(result, "rowcount", 0) or 0)


def kept_detail(action: str, detail: str) -> str:
    """What of an audit entry's detail survives a purge: the safeguarding categories (the digest counts them)
    and the details mailbot writes from fixed words; nothing a person wrote."""
    if action == SAFEGUARDING_ALERT_EVENT:
        return detail.partition(":")[0]
    return detail if action in PLAIN_DETAILS else ""


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
