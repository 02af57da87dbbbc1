"""Processing stored messages: parse, classify, thread, act — one transaction per message.

An unexpected error rolls the message's transaction back and shunts it with its traceback; the next
message goes on. A shunted message is never lost: it keeps its raw bytes and can be retried with
``mailbot shunted retry``. A transient database error (a lock, a serialisation failure, a lost connection)
is no fault of the message: it is tried again with backoff and never shunted; if the database stays
unusable the message is left ``fetched`` and the cycle stops, to go on at the next one.
"""

from __future__ import annotations

import logging
import traceback
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, bindparam, inspect, select, update
from sqlalchemy.orm import Session

from mailbot.ahead import Guess, Reader, reading_ahead
from mailbot.app import App
from mailbot.cases import records, threading
from mailbot.classify import Classification
from mailbot.db.models import Case, InboundMessage
from mailbot.db.rows import as_loaded
from mailbot.db.transient import DatabaseUnavailable, retrying
from mailbot.intake import limits, quotes
from mailbot.intake.arrivals import read_raw
from mailbot.intake.parse import ParsedMail, parse_mail
from mailbot.routing import Routing, route
from mailbot.staff import staffmail
from mailbot.vocabulary import InboundState

log = logging.getLogger(__name__)


@dataclass
class ProcessReport:
    processed: int = 0
    shunted: int = 0
    outcomes: list[str] = field(default_factory=list)
    error: str | None = None  # why processing stopped early: the database kept failing


def process_pending(app: App) -> ProcessReport:
    """Process every message still in the ``fetched`` state, oldest first."""
    report = ProcessReport()
    # The kind model's examples are looked at once for the whole batch.
    try:
        with app.learner.batch() if app.learner else nullcontext():
            waiting = retrying(lambda: _waiting(app), "finding messages to process")
            with reading_ahead(app, waiting) as reader:
                for inbound_id in waiting:
                    state = process_one(app, inbound_id, reader)
                    report.processed += state == InboundState.PROCESSED
                    report.shunted += state == InboundState.SHUNTED
    except DatabaseUnavailable as exc:
        report.error = str(exc)
        log.error("processing stopped until the next cycle: %s", exc)
    return report


def _waiting(app: App) -> list[int]:
    with app.sessions() as session:
        return list(
            session.scalars(
                select(InboundMessage.id)
                .where(InboundMessage.state == InboundState.FETCHED)
                .order_by(InboundMessage.id)
            )
        )


def process_one(app: App, inbound_id: int, reader: Reader | None = None) -> InboundState | None:
    """Process one message; returns its new state, or None when another worker already took it.
    DatabaseUnavailable when the database kept failing: the message is then left as it was."""
    guess = reader.guess(inbound_id) if reader else None
    try:
        return retrying(lambda: _process(app, inbound_id, guess), f"message {inbound_id}")
    except DatabaseUnavailable:
        raise
    except Exception:  # the runner's error policy: whatever went wrong, the message is kept and shunted
        error = traceback.format_exc()
    retrying(lambda: shunt(app, inbound_id, error), f"message {inbound_id}: shunting it")
    return InboundState.SHUNTED


def _process(app: App, inbound_id: int, guess: Guess | None = None) -> InboundState | None:
    with app.sessions.begin() as session:
        inbound = _claim(session, inbound_id)
        if inbound is None:
            return None
        case = _handle(session, app, inbound, guess)
        line = processed_line(session, inbound, case)
        _write_message(session, inbound)
        log.info("%s", line)
        return InboundState.PROCESSED


def _write_message(session: Session, inbound: InboundMessage) -> None:
    """What processing set on the message, written in one plain UPDATE, and the message then let go of by
    the session (it is not read again in this transaction). Often it is the last row to write, and the
    commit's flush cost more than the statement; whatever else is pending is flushed at the commit."""
    state = inspect(inbound)
    changed = {}
    for key in _MESSAGE_COLUMNS.intersection(state.committed_state):
        added = state.attrs[key].history.added
        if added:
            changed[key] = added[0]
    if changed:
        session.connection().execute(_MESSAGE_WRITTEN, {"the_message": inbound.id, **changed})
    session.expunge(inbound)


_messages = InboundMessage.__table__
_MESSAGE_COLUMNS = frozenset(column.key for column in _messages.columns) - {"id"}
_MESSAGE_WRITTEN = update(_messages).where(_messages.c.id == bindparam("the_message"))


def processed_line(session: Session, inbound: InboundMessage, known: Case | None = None) -> str:
    """The log's one line per message: which, its case's reference, its kind, and what was done. ``known``
    is the case processing threaded it into, if any: an unchanged one may have left the session already."""
    case = known if known and known.id == inbound.case_id else None
    case = case or (session.get(Case, inbound.case_id) if inbound.case_id else None)
    ref = case.ref if case else "no case"
    return f"message {inbound.id} ({inbound.mailbox}): {ref}, {inbound.kind}: {inbound.outcome}"


def _claim(session: Session, inbound_id: int) -> InboundMessage | None:
    """Take the message for this transaction, and read it in the same statement. On PostgreSQL a message
    another worker is processing is passed over at once (SKIP LOCKED) rather than waited for; the conditional
    UPDATE is what makes the claim (SQLite has no row locks: there a second claim waits for the first
    transaction, then finds it taken). A plain statement, its row made the session's object by
    ``db.rows.as_loaded``: the ORM's UPDATE .. RETURNING and loading cost more than the statement."""
    statement = _CLAIM_SKIPPING if session.get_bind().dialect.name == "postgresql" else _CLAIM
    found = session.connection().execute(statement, {"inbound_id": inbound_id}).mappings().first()
    return as_loaded(session, InboundMessage, found) if found is not None else None


def _claim_statement(skip_locked: bool) -> Any:
    """Built once a process: every message is claimed with it."""
    this = and_(_messages.c.id == bindparam("inbound_id"), _messages.c.state == InboundState.FETCHED)
    if skip_locked:
        this = _messages.c.id.in_(select(_messages.c.id).where(this).with_for_update(skip_locked=True))
    return update(_messages).where(this).values(state=InboundState.PROCESSED).returning(*_messages.c)


_CLAIM, _CLAIM_SKIPPING = _claim_statement(False), _claim_statement(True)


def shunt(app: App, inbound_id: int, error: str) -> None:
    log.error("message %s shunted:\n%s", inbound_id, error)
    with app.sessions.begin() as session:
        inbound = session.get(InboundMessage, inbound_id)
        if inbound is not None:
            inbound.state, inbound.processed_at = InboundState.SHUNTED, app.clock()
            inbound.error = limits.error_text(error)  # it may quote the message: NUL and all
            inbound.case_id = None


def _handle(session: Session, app: App, inbound: InboundMessage, guess: Guess | None = None) -> Case | None:
    """Decide and act; the case the mail threaded into, if any. ``guess``: the mail as a worker parsed
    and classified it ahead (``mailbot.ahead``), if one did."""
    # Read once, a piece at a time (a big message is not held twice); not at all when a worker parsed it.
    raw = None if guess else read_raw(session, inbound.id)
    mail = guess.mail if guess else parse_mail(raw or b"")
    if guess:
        quotes.remember(mail, guess.text)
    # Only reads until the case is known; what is set on the message is written once, with the rest.
    with session.no_autoflush:
        _identify(inbound, mail)
        inbound.processed_at = app.clock()
        earlier, reused = threading.earlier_copies(session, inbound)
        if earlier is not None:
            inbound.kind, inbound.case_id = earlier.kind, earlier.case_id
            inbound.outcome = f"duplicate of message {earlier.id} ({earlier.mailbox}); nothing done"
            return None
        note = _reuse_note(inbound, reused)
        staff = staffmail.check_sender(app, mail)
        lookup = threading.find_thread(session, mail, app.references, staff=staff.person is not None)
        verdict = _verdict(session, app, inbound, mail, lookup, guess, raw)
        inbound.kind, inbound.rules_hit = verdict.kind, list(verdict.rules_hit)
        case = _thread_case(session, lookup)
    routing = Routing(session, app, inbound, mail, verdict, lookup, case, staff, note)
    inbound.outcome = route(routing)
    if note:
        _record_note(session, app, inbound, note)
    _note_cuts(session, app, inbound, mail)
    return case


def _verdict(
    session: Session,
    app: App,
    inbound: InboundMessage,
    mail: ParsedMail,
    lookup: threading.ThreadLookup,
    guess: Guess | None,
    raw: bytearray | None,
) -> Classification:
    """The worker's verdict where what it assumed holds (new mail, not released); else worked out here."""
    released = inbound.released_at is not None
    if guess is not None and lookup.match is None and not released:
        return guess.verdict
    raw = raw if raw is not None else read_raw(session, inbound.id)
    return app.classify(mail, lookup.match, raw, released=released)


def _identify(inbound: InboundMessage, mail: ParsedMail) -> None:
    """What makes this mail the same as another: its (checked) Message-ID, sender and content."""
    inbound.message_id = mail.message_id
    inbound.sender = (mail.sender.email if mail.sender else "")[:320]
    inbound.content_sha256 = threading.content_hash(mail)


def _reuse_note(inbound: InboundMessage, earlier: InboundMessage | None) -> str | None:
    """A Message-ID already used by a different mail: this one is handled in its own right, and said so."""
    if earlier is None:
        return None
    if earlier.sender == inbound.sender:
        before = f"message {earlier.id} from the same sender used this Message-ID before, with other content"
    else:
        before = (
            f"message {earlier.id} from {earlier.sender or 'an unknown sender'} used this Message-ID before"
        )
    return f"{before}; this one is handled in its own right"


def _record_note(session: Session, app: App, inbound: InboundMessage, note: str) -> None:
    inbound.outcome = f"{inbound.outcome}; note: {note}"
    case = session.get(Case, inbound.case_id) if inbound.case_id else None
    if case is not None:
        records.log_event(session, case, "mailbot", "Message-ID reused", app.clock(), note, inbound)


def _note_cuts(session: Session, app: App, inbound: InboundMessage, mail: ParsedMail) -> None:
    """What had to be cut from the mail to store it is said where a person looks: its outcome and its case."""
    if not mail.notes:
        return
    said = "; ".join(mail.notes)
    inbound.outcome = f"{inbound.outcome}; stored with changes: {said}"
    case = session.get(Case, inbound.case_id) if inbound.case_id else None
    if case is not None:
        records.log_event(session, case, "mailbot", "cut at intake", app.clock(), said, inbound)


def _thread_case(session: Session, lookup: threading.ThreadLookup) -> Case | None:
    return threading.case_by_reference(session, lookup.match.case_ref) if lookup.match else None


def classify_only(app: App, mail: ParsedMail) -> tuple[Classification, threading.ThreadLookup]:
    """What processing would decide, without changing anything (for ``mailbot classify``)."""
    with app.sessions() as session:
        lookup = threading.find_thread(session, mail, app.references)
        return app.classify(mail, lookup.match, save_model=False), lookup
