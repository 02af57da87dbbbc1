"""The mailbox's Sent folder: a copy of each letter sent is filed there once, so staff see what was said; and
a copy found there settles a held letter as delivered (Microsoft 365 and Gmail file one themselves for mail
sent through them).

Each copy is claimed before it is filed, and the folder is searched for the letter's Message-ID before the
APPEND, so neither two workers nor a run killed between its APPEND and its commit files a letter twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from imapclient import IMAPClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from mailbot import worker
from mailbot.config.settings import MailboxConfig
from mailbot.db.models import Outbox
from mailbot.db.transient import retrying
from mailbot.outgoing import held
from mailbot.vocabulary import OutboxState

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
# A filing claim by a run elsewhere that has said nothing for this long is taken over (an APPEND takes
# seconds); one by a run on this machine is taken over as soon as that run is gone.
FILING_LEASE = timedelta(minutes=10)
FILING_BATCH = 50  # copies claimed, then marked filed, in one transaction each
MULTIAPPEND_BYTES = 8 * 1024 * 1024  # at most this much in one APPEND command of several copies
SEEN = b"\\Seen"


def has_copy(client: IMAPClient, message_id: str) -> bool:
    """Whether the selected folder holds a message with this Message-ID (IMAP SEARCH HEADER)."""
    return bool(client.search(["HEADER", "Message-ID", f"<{message_id}>"]))


def file_sent_copies(
    client: IMAPClient, box: MailboxConfig, sessions: sessionmaker[Session], clock: Clock
) -> int:
    """Append what was sent for this mailbox to its Sent folder, unless a copy is there already. Returns
    how many were appended. Copies are claimed and marked filed a batch at a time, over one connection."""
    waiting = _unfiled(sessions, box, clock())
    if not waiting:
        return 0
    _select(client, box.sent_folder)
    claim, appended = worker.new_claim(), 0
    for start in range(0, len(waiting), FILING_BATCH):
        appended += _file_batch(client, box, sessions, clock, waiting[start : start + FILING_BATCH], claim)
    return appended


def _file_batch(
    client: IMAPClient,
    box: MailboxConfig,
    sessions: sessionmaker[Session],
    clock: Clock,
    waiting: list[tuple[int, str | None]],
    claim: str,
) -> int:
    earlier = dict(waiting)
    rows = _claim_filings(sessions, clock, waiting, claim)
    filed: list[int] = []
    in_flight: list[int] = []
    appended = 0
    try:
        for group in _appends(client, rows):
            in_flight = [row.id for row in group]
            # A copy nobody claimed before was never appended (the claim is committed before any APPEND);
            # one claimed by a run that died may have been: the folder is searched first.
            missing = [
                row for row in group if earlier[row.id] is None or not has_copy(client, row.message_id)
            ]
            _append(client, box.sent_folder, missing)
            appended += len(missing)
            filed, in_flight = filed + in_flight, []
    finally:
        # What was not tried (the mailbox went away) is given back at once, not left to the lease; what was in
        # flight may have been filed, and waits for the lease, then a search, as a dead run's claim does.
        done = set(filed) | set(in_flight)
        untried = [row.id for row in rows if row.id not in done]
        _mark_filed(sessions, clock, filed, claim, untried)
    return appended


def _never_filed(client: IMAPClient, row: Outbox, earlier_claim: str | None) -> bool:
    return earlier_claim is None or not has_copy(client, row.message_id)


def _appends(client: IMAPClient, rows: list[Outbox]) -> list[list[Outbox]]:
    """The copies in APPEND commands: several to a command where the server takes MULTIAPPEND (RFC 3502:
    all of them filed or none; about a quarter of the time of one APPEND each on Dovecot), one otherwise."""
    if not client.has_capability("MULTIAPPEND"):
        return [[row] for row in rows]
    groups: list[list[Outbox]] = [[]]
    size = 0
    for row in rows:
        if groups[-1] and size + len(row.raw) > MULTIAPPEND_BYTES:
            groups.append([])
            size = 0
        groups[-1].append(row)
        size += len(row.raw)
    return [group for group in groups if group]


def _append(client: IMAPClient, folder: str, rows: list[Outbox]) -> None:
    if len(rows) == 1:
        client.append(folder, rows[0].raw, flags=[SEEN], msg_time=rows[0].sent_at)
    elif rows:
        client.multiappend(folder, [{"msg": row.raw, "flags": [SEEN], "date": row.sent_at} for row in rows])


def _select(client: IMAPClient, folder: str) -> None:
    if not client.folder_exists(folder):
        client.create_folder(folder)
    client.select_folder(folder, readonly=True)


def _unfiled(
    sessions: sessionmaker[Session], box: MailboxConfig, now: datetime
) -> list[tuple[int, str | None]]:
    """Sent letters without a copy filed, and not being filed by a live run: (id, the claim to replace)."""
    with sessions() as session:
        rows = session.execute(
            select(Outbox.id, Outbox.filing_claimed_by, Outbox.filing_claimed_at)
            .where(Outbox.mailbox == box.name, Outbox.state == OutboxState.SENT, Outbox.filed_at.is_(None))
            .order_by(Outbox.id)
        ).all()
    return [
        (row.id, row.filing_claimed_by)
        for row in rows
        if row.filing_claimed_by is None
        or worker.is_gone(row.filing_claimed_by)
        or (row.filing_claimed_at is not None and row.filing_claimed_at < now - FILING_LEASE)
    ]


def _claim_filings(
    sessions: sessionmaker[Session], clock: Clock, waiting: list[tuple[int, str | None]], claim: str
) -> list[Outbox]:
    """Take the filing of each copy in one transaction, only where nobody took it since we looked."""
    never = [outbox_id for outbox_id, earlier in waiting if earlier is None]
    taken_over = [(outbox_id, earlier) for outbox_id, earlier in waiting if earlier is not None]

    def work() -> list[Outbox]:
        with sessions.begin() as session:
            now = clock()
            if never:
                _take(session, Outbox.id.in_(never), Outbox.filing_claimed_by.is_(None), claim, now)
            for outbox_id, earlier in taken_over:
                _take(session, Outbox.id == outbox_id, Outbox.filing_claimed_by == earlier, claim, now)
            ids = [outbox_id for outbox_id, _ in waiting]
            return list(
                session.scalars(
                    select(Outbox)
                    .where(Outbox.id.in_(ids), Outbox.filing_claimed_by == claim, Outbox.filed_at.is_(None))
                    .order_by(Outbox.id)
                )
            )

    return retrying(work, f"outbox: claiming {len(waiting)} Sent copies")


def _take(session: Session, which: Any, same: Any, claim: str, now: datetime) -> None:
    session.execute(
        update(Outbox)
        .where(which, same, Outbox.filed_at.is_(None))
        .values(filing_claimed_by=claim, filing_claimed_at=now)
        .execution_options(synchronize_session=False)
    )


def _mark_filed(
    sessions: sessionmaker[Session], clock: Clock, outbox_ids: list[int], claim: str, untried: list[int]
) -> None:
    if not outbox_ids and not untried:
        return

    def work() -> None:
        with sessions.begin() as session:
            for ids, values in ((outbox_ids, {"filed_at": clock()}), (untried, {"filing_claimed_by": None})):
                session.execute(
                    update(Outbox)
                    .where(Outbox.id.in_(ids), Outbox.filing_claimed_by == claim)
                    .values(**values)
                    .execution_options(synchronize_session=False)
                )

    retrying(work, f"outbox: recording {len(outbox_ids)} Sent copies")


def settle_from_sent_folder(
    client: IMAPClient,
    box: MailboxConfig,
    sessions: sessionmaker[Session],
    clock: Clock,
    on_sent: held.OnFate,
) -> int:
    """Held letters of this mailbox with a copy in its Sent folder were taken by the server: settle them as
    delivered, and as filed (the copy is already there). Returns how many were settled."""
    with sessions() as session:
        waiting = session.execute(
            select(Outbox.id, Outbox.message_id).where(
                Outbox.mailbox == box.name, Outbox.state == OutboxState.HELD
            )
        ).all()
    if not waiting or not client.folder_exists(box.sent_folder):
        return 0
    client.select_folder(box.sent_folder, readonly=True)
    evidence = f"a copy is in the {box.sent_folder} folder of mailbox {box.name!r}"
    settled = 0
    for outbox_id, message_id in waiting:
        if has_copy(client, message_id):
            settled += retrying(
                lambda outbox_id=outbox_id: held.settle(sessions, outbox_id, evidence, on_sent, clock()),
                f"outbox {outbox_id}: settling it from its copy in {box.sent_folder}",
            )
    return settled
