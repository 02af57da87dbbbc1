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


def has_copy(client: IMAPClient, message_id: str) -> bool:
    """Whether the selected folder holds a message with this Message-ID (IMAP SEARCH HEADER)."""
    return bool(client.search(["HEADER", "Message-ID", f"<{message_id}>"]))


def file_sent_copies(
    client: IMAPClient, box: MailboxConfig, sessions: sessionmaker[Session], clock: Clock
) -> int:
    """Append what was sent for this mailbox to its Sent folder, unless a copy is there already. Returns
    how many were appended."""
    waiting = _unfiled(sessions, box, clock())
    if not waiting:
        return 0
    _select(client, box.sent_folder)
    claim, appended = worker.new_claim(), 0
    for outbox_id, earlier_claim in waiting:
        row = _claim_filing(sessions, clock, outbox_id, earlier_claim, claim)
        if row is None:
            continue
        if not has_copy(client, row.message_id):
            client.append(box.sent_folder, row.raw, flags=[b"\\Seen"], msg_time=row.sent_at)
            appended += 1
        _mark_filed(sessions, clock, outbox_id, claim)
    return appended


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


def _claim_filing(
    sessions: sessionmaker[Session], clock: Clock, outbox_id: int, earlier: str | None, claim: str
) -> Outbox | None:
    """Take the filing of one copy, only if nobody took it since we looked."""
    same = Outbox.filing_claimed_by.is_(None) if earlier is None else Outbox.filing_claimed_by == earlier

    def work() -> Outbox | None:
        with sessions.begin() as session:
            taken = session.execute(
                update(Outbox)
                .where(Outbox.id == outbox_id, Outbox.filed_at.is_(None), same)
                .values(filing_claimed_by=claim, filing_claimed_at=clock())
            )
            return session.get(Outbox, outbox_id) if taken.rowcount == 1 else None

    return retrying(work, f"outbox {outbox_id}: claiming its Sent copy")


def _mark_filed(sessions: sessionmaker[Session], clock: Clock, outbox_id: int, claim: str) -> None:
    def work() -> None:
        with sessions.begin() as session:
            session.execute(
                update(Outbox)
                .where(Outbox.id == outbox_id, Outbox.filing_claimed_by == claim)
                .values(filed_at=clock())
            )

    retrying(work, f"outbox {outbox_id}: recording its Sent copy")


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
