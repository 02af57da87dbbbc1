"""Storing what a poll fetched: each message in its own transaction with the folder's new high-water mark.

Big messages are fetched one at a time, and a message the database refuses is stored shunted with the error,
so that no message can stop intake: the UID always advances and the next message is fetched.
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import logging
import re
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from imapclient import IMAPClient
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session, sessionmaker

from mailbot import checked
from mailbot.config.settings import MailboxConfig
from mailbot.db.models import InboundMessage, MailboxState
from mailbot.db.session import is_transient
from mailbot.intake import limits
from mailbot.intake.headers import normalise_message_id
from mailbot.vocabulary import InboundState

log = logging.getLogger(__name__)

PROCESSED_KEYWORD = "$MailbotProcessed"
SHUNTED_KEYWORD = "$MailbotShunted"
FETCH_BUDGET = 16 * 1024 * 1024  # bytes of mail asked for in one FETCH; a bigger message comes on its own
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Ledger:
    """Where intake keeps its record: the database, and the clock that stamps what it writes."""

    sessions: sessionmaker[Session]
    clock: Clock


def store_batch(
    ledger: Ledger,
    client: IMAPClient,
    box: MailboxConfig,
    uidvalidity: int,
    uids: list[int],
    send_allowed: bool,
) -> int:
    stored = 0
    for group in _by_size(uids, client.fetch(uids, ["RFC822.SIZE"])):
        fetched = client.fetch(group, ["BODY.PEEK[]", "INTERNALDATE"])
        for uid in group:
            data = fetched.pop(uid, None)  # popped, so each raw message is freed once stored
            if data is None:  # expunged by someone else between SEARCH and FETCH
                continue
            arrival = _Arrival(uidvalidity, uid, bytes(data.pop(b"BODY[]")), data.get(b"INTERNALDATE"))
            kept = _store_one(ledger, box, arrival, send_allowed)
            if kept is None:
                client.add_flags([uid], [SHUNTED_KEYWORD], silent=True)
            stored += bool(kept)
    return stored


def _by_size(uids: list[int], sizes: dict[int, dict[bytes, object]]) -> Iterator[list[int]]:
    """UIDs in groups of at most FETCH_BUDGET bytes: a big message is fetched on its own, so memory holds one
    big message at a time (five 30 MB attachments fetched together cost over 600 MB)."""
    group: list[int] = []
    total = 0
    for uid in uids:
        size = int(str(sizes.get(uid, {}).get(b"RFC822.SIZE", 0)))
        if group and total + size > FETCH_BUDGET:
            yield group
            group, total = [], 0
        group.append(uid)
        total += size
    if group:
        yield group


@dataclass(frozen=True)
class _Arrival:
    """One message as the server handed it over."""

    uidvalidity: int
    uid: int
    raw: bytes
    internaldate: datetime | None


def _store_one(ledger: Ledger, box: MailboxConfig, arrival: _Arrival, send_allowed: bool) -> bool | None:
    """One transaction: the raw message (state ``fetched``) and the folder's new high-water mark.

    True when stored, False when it already was. A database error the message itself caused (a value the
    column refuses; not a lost connection or a lock, which are raised and retried) stores it shunted with the
    error, so the UID advances and the next message is fetched. None when even that failed: the UID advances
    and the caller flags the message in the mailbox, where it stays."""
    try:
        return _insert(ledger, box, arrival, send_allowed)
    except StatementError as exc:
        if is_transient(exc):
            raise
        if isinstance(exc, IntegrityError) and _stored_by_another(ledger, box, arrival):
            return False
        return _store_shunted(ledger, box, arrival, send_allowed, traceback.format_exc())


def _insert(
    ledger: Ledger, box: MailboxConfig, arrival: _Arrival, send_allowed: bool, error: str | None = None
) -> bool:
    with ledger.sessions.begin() as session:
        _advance(session, box, arrival.uid)
        if _already_stored(session, box, arrival.uidvalidity, arrival.uid):
            return False
        session.add(
            InboundMessage(
                mailbox=box.name,
                folder=box.folder,
                uidvalidity=arrival.uidvalidity,
                uid=arrival.uid,
                message_id=None if error else header_message_id(arrival.raw),
                sha256=hashlib.sha256(arrival.raw).hexdigest(),
                raw=arrival.raw,
                received_at=_aware(arrival.internaldate, ledger.clock()),
                fetched_at=ledger.clock(),
                state=InboundState.SHUNTED if error else InboundState.FETCHED,
                send_allowed=send_allowed,
                error=error,
                processed_at=ledger.clock() if error else None,
            )
        )
    return True


def _store_shunted(
    ledger: Ledger, box: MailboxConfig, arrival: _Arrival, send_allowed: bool, error: str
) -> bool | None:
    log.error("mailbox %s UID %s could not be stored; stored shunted:\n%s", box.name, arrival.uid, error)
    try:
        return _insert(ledger, box, arrival, send_allowed, error=limits.error_text(error))
    except StatementError as exc:
        if is_transient(exc):
            raise
        log.critical("mailbox %s UID %s cannot be stored at all; left in the mailbox, flagged %s:\n%s",
                     box.name, arrival.uid, SHUNTED_KEYWORD, traceback.format_exc())  # fmt: skip
        with ledger.sessions.begin() as session:
            _advance(session, box, arrival.uid)
        return None


def _stored_by_another(ledger: Ledger, box: MailboxConfig, arrival: _Arrival) -> bool:
    with ledger.sessions() as session:
        return _already_stored(session, box, arrival.uidvalidity, arrival.uid)


def _advance(session: Session, box: MailboxConfig, uid: int) -> None:
    state = session.scalars(
        select(MailboxState)
        .where(MailboxState.mailbox == box.name, MailboxState.folder == box.folder)
        .with_for_update()
    ).first()
    if state is not None and uid > state.last_uid:
        state.last_uid = uid


def _already_stored(session: Session, box: MailboxConfig, uidvalidity: int, uid: int) -> bool:
    return (
        session.scalars(
            select(InboundMessage.id).where(
                InboundMessage.mailbox == box.name,
                InboundMessage.folder == box.folder,
                InboundMessage.uidvalidity == uidvalidity,
                InboundMessage.uid == uid,
            )
        ).first()
        is not None
    )


def _aware(value: datetime | None, fallback: datetime) -> datetime:
    if value is None:
        return fallback
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_HEADERS = email.parser.BytesHeaderParser(policy=email.policy.compat32)
_HEADER_END = re.compile(rb"\r?\n\r?\n")


def header_message_id(raw: bytes) -> str | None:
    """The Message-ID, read cheaply at intake (from the header block alone) so the same mail in two mailboxes
    is recognised; None unless it is a valid msg-id that fits its column."""
    end = _HEADER_END.search(raw)
    value = _HEADERS.parsebytes(raw[: end.end()] if end else raw).get("Message-ID")
    return checked.message_id(normalise_message_id(str(value))) if value else None
