"""Storing what a poll fetched: each message in its own transaction with the folder's new high-water mark.

Big messages are fetched one at a time, and a message the database refuses is stored shunted with the error,
so that no message can stop intake: the UID always advances and the next message is fetched.
"""

from __future__ import annotations

import binascii
import email.parser
import email.policy
import hashlib
import logging
import re
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from imapclient import IMAPClient
from sqlalchemy import Connection, bindparam, func, insert, select
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session, sessionmaker

from mailbot import checked
from mailbot.config.settings import MailboxConfig
from mailbot.db.models import InboundMessage, InboundRaw, MailboxState
from mailbot.db.rows import write_now
from mailbot.db.transient import is_transient
from mailbot.intake import limits
from mailbot.intake.headers import normalise_message_id
from mailbot.vocabulary import InboundState

log = logging.getLogger(__name__)

PROCESSED_KEYWORD = "$MailbotProcessed"
SHUNTED_KEYWORD = "$MailbotShunted"
FETCH_BUDGET = 16 * 1024 * 1024  # bytes of mail asked for in one FETCH; a bigger message comes on its own
CHUNK = 2 * 1024 * 1024  # a message bigger than this is read in pieces of this size
COPY_RAW = "COPY inbound_raw (inbound_id, raw) FROM STDIN"
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
    sizes = {
        uid: int(str(data.get(b"RFC822.SIZE", 0)))
        for uid, data in client.fetch(uids, ["RFC822.SIZE"]).items()
    }
    return sum(
        _store_group(ledger, client, box, _Group(uidvalidity, group, sizes), send_allowed)
        for group in _by_size(uids, sizes)
    )


@dataclass(frozen=True)
class _Group:
    uidvalidity: int
    uids: list[int]
    sizes: dict[int, int]


def _store_group(
    ledger: Ledger, client: IMAPClient, box: MailboxConfig, group: _Group, send_allowed: bool
) -> int:
    """Fetch and store one group; a function of its own so that nothing fetched outlives it.

    The group is stored in one transaction, with the folder's high-water mark: until it commits the UIDs
    have not advanced and the mail is still in the mailbox, so a crash loses nothing (it is fetched again).
    Should the database refuse one of them, that transaction is rolled back and each message is stored in
    a transaction of its own, the refused one shunted with the error."""
    arrivals = list(_fetch(client, group))
    if len(arrivals) > 1:
        try:
            return _insert_all(ledger, box, arrivals, send_allowed)
        except StatementError as exc:
            if is_transient(exc):
                raise
            log.info("mailbox %s: storing UIDs %s one at a time: %s", box.name, group.uids, exc)
    stored = 0
    for arrival in arrivals:
        kept = _store_one(ledger, box, arrival, send_allowed)
        if kept is None:
            client.add_flags([arrival.uid], [SHUNTED_KEYWORD], silent=True)
        stored += bool(kept)
    return stored


def _by_size(uids: list[int], sizes: dict[int, int]) -> Iterator[list[int]]:
    """UIDs in groups of at most FETCH_BUDGET bytes; a message bigger than that is a group on its own."""
    group: list[int] = []
    total = 0
    for uid in uids:
        if group and total + sizes.get(uid, 0) > FETCH_BUDGET:
            yield group
            group, total = [], 0
        group.append(uid)
        total += sizes.get(uid, 0)
    if group:
        yield group


@dataclass(frozen=True)
class _Arrival:
    """One message as the server handed it over."""

    uidvalidity: int
    uid: int
    raw: bytes | bytearray
    internaldate: datetime | None


def _fetch(client: IMAPClient, group: _Group) -> Iterator[_Arrival]:
    """The group's messages one by one, each freed once the caller has stored it; a message skipped when
    someone expunged it between SEARCH and FETCH."""
    [first, *others] = group.uids
    if not others and group.sizes.get(first, 0) > CHUNK:
        arrival = _fetch_in_pieces(client, group.uidvalidity, first, group.sizes[first])
        if arrival is not None:
            yield arrival
        return
    fetched = client.fetch(group.uids, ["BODY.PEEK[]", "INTERNALDATE"])
    for uid in group.uids:
        data = fetched.pop(uid, None)
        if data is not None:
            yield _Arrival(group.uidvalidity, uid, data.pop(b"BODY[]"), data.get(b"INTERNALDATE"))


def _fetch_in_pieces(client: IMAPClient, uidvalidity: int, uid: int, size: int) -> _Arrival | None:
    """A big message read CHUNK bytes at a time (IMAP partial FETCH) into one buffer: read whole, the IMAP
    library held three or four copies of it (140 MB for a 40 MB message)."""
    raw = bytearray(size)
    offset, internaldate = 0, None
    while True:
        data = client.fetch([uid], [f"BODY.PEEK[]<{offset}.{CHUNK}>", "INTERNALDATE"]).get(uid)
        if data is None:
            return None
        piece = data.get(f"BODY[]<{offset}>".encode()) or b""
        raw[offset : offset + len(piece)] = piece
        offset, internaldate = offset + len(piece), data.get(b"INTERNALDATE")
        if len(piece) < CHUNK:
            del raw[offset:]  # the server's RFC822.SIZE is a promise, not a guarantee
            return _Arrival(uidvalidity, uid, raw, internaldate)


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


def _insert_all(ledger: Ledger, box: MailboxConfig, arrivals: list[_Arrival], send_allowed: bool) -> int:
    """Every arrival not stored before, in one transaction; how many were new."""
    with ledger.sessions.begin() as session:
        _advance(session, box, max(arrival.uid for arrival in arrivals))
        known = _stored_uids(session, box, arrivals[0].uidvalidity, [arrival.uid for arrival in arrivals])
        new = [arrival for arrival in arrivals if arrival.uid not in known]
        for arrival in new:  # each row written at once (``db.rows.write_now``): a flush costs more
            row = write_now(session, _row(ledger, box, arrival, send_allowed))
            write_raw(session, row.id, arrival.raw)
    return len(new)


def _insert(
    ledger: Ledger, box: MailboxConfig, arrival: _Arrival, send_allowed: bool, error: str | None = None
) -> bool:
    with ledger.sessions.begin() as session:
        _advance(session, box, arrival.uid)
        if _already_stored(session, box, arrival.uidvalidity, arrival.uid):
            return False
        session.add(row := _row(ledger, box, arrival, send_allowed, error))
        session.flush()
        write_raw(session, row.id, arrival.raw)
    return True


def _row(
    ledger: Ledger, box: MailboxConfig, arrival: _Arrival, send_allowed: bool, error: str | None = None
) -> InboundMessage:
    return InboundMessage(
        mailbox=box.name,
        folder=box.folder,
        uidvalidity=arrival.uidvalidity,
        uid=arrival.uid,
        message_id=None if error else header_message_id(arrival.raw),
        sha256=hashlib.sha256(arrival.raw).hexdigest(),
        received_at=_aware(arrival.internaldate, ledger.clock()),
        fetched_at=ledger.clock(),
        state=InboundState.SHUNTED if error else InboundState.FETCHED,
        send_allowed=send_allowed,
        error=error,
        processed_at=ledger.clock() if error else None,
    )


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
    return bool(_stored_uids(session, box, uidvalidity, [uid]))


def _stored_uids(session: Session, box: MailboxConfig, uidvalidity: int, uids: list[int]) -> set[int]:
    return set(
        session.scalars(
            select(InboundMessage.uid).where(
                InboundMessage.mailbox == box.name,
                InboundMessage.folder == box.folder,
                InboundMessage.uidvalidity == uidvalidity,
                InboundMessage.uid.in_(uids),
            )
        )
    )


def _aware(value: datetime | None, fallback: datetime) -> datetime:
    if value is None:
        return fallback
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def write_raw(session: Session, inbound_id: int, raw: bytes | bytearray) -> None:
    """The message's bytes, written once and a piece at a time where the driver allows: SQLite through its
    blob writer, PostgreSQL (psycopg) through COPY. Bound as one value, SQLite held two more copies of them
    and libpq kept a buffer the size of the biggest message for as long as its connection lived."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        connection.execute(_NEW_BLOB, {"inbound_id": inbound_id, "size": len(raw)})
        with _dbapi(connection).blobopen("inbound_raw", "raw", inbound_id) as blob:
            for piece in _pieces(raw):
                blob.write(piece)
    elif connection.dialect.driver == "psycopg":
        with _dbapi(connection).cursor() as cursor, cursor.copy(COPY_RAW) as copy:
            copy.write(f"{inbound_id}\t\\\\x".encode())  # COPY's text form of a bytea: \\x, then hex
            for piece in _pieces(raw):
                copy.write(binascii.hexlify(piece))
            copy.write(b"\n")
    else:  # parameters apart from the statement: a value inside a statement stays in SQLAlchemy's cache
        session.execute(insert(InboundRaw), {"inbound_id": inbound_id, "raw": raw})


# Built once, on the table (a plain statement, not the ORM's bulk INSERT): every message stored runs it.
_NEW_BLOB = InboundRaw.__table__.insert().values(raw=func.zeroblob(bindparam("size")))


def _pieces(raw: bytes | bytearray) -> Iterator[memoryview]:
    view = memoryview(raw)
    for start in range(0, len(raw), CHUNK):
        yield view[start : start + CHUNK]


def read_raw(session: Session, inbound_id: int) -> bytearray:
    """A stored message's bytes, read a piece at a time into one buffer: read whole, the database drivers
    held two or three copies of them (PostgreSQL sends a bytea as hex text, twice its size)."""
    connection = session.connection()
    row = InboundRaw.inbound_id == inbound_id
    if connection.dialect.name == "sqlite":  # its substr() reads the whole blob each time: its blob reader
        with _dbapi(connection).blobopen("inbound_raw", "raw", inbound_id, readonly=True) as blob:
            raw = bytearray(len(blob))
            for start in range(0, len(raw), CHUNK):
                raw[start : start + CHUNK] = blob.read(CHUNK)
        return raw
    # The size and the first piece in one statement: most mail is a single piece.
    size, first = session.execute(
        select(func.length(InboundRaw.raw), func.substr(InboundRaw.raw, 1, CHUNK)).where(row)
    ).one()
    raw = bytearray(size or 0)
    raw[: len(first or b"")] = first or b""
    for start in range(CHUNK, len(raw), CHUNK):
        raw[start : start + CHUNK] = session.scalars(
            select(func.substr(InboundRaw.raw, start + 1, CHUNK)).where(row)
        ).one()
    return raw


def _dbapi(connection: Connection) -> Any:
    """The driver's own connection, in the session's transaction, for what SQLAlchemy does not offer."""
    return connection.connection.dbapi_connection


_HEADERS = email.parser.BytesHeaderParser(policy=email.policy.compat32)
_HEADER_END = re.compile(rb"\r?\n\r?\n")


def header_message_id(raw: bytes | bytearray) -> str | None:
    """The Message-ID, read cheaply at intake (from the header block alone) so the same mail in two mailboxes
    is recognised; None unless it is a valid msg-id that fits its column."""
    end = _HEADER_END.search(raw)
    value = _HEADERS.parsebytes(raw[: end.end()] if end else raw).get("Message-ID")
    return checked.message_id(normalise_message_id(str(value))) if value else None
