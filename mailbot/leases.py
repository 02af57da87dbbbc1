"""Which worker reads which mailbox, and runs which scheduled job: one lease row each, held until it
expires and renewed while the worker reads, so several ``mailbot run`` processes on one database share the
mailboxes, one reader each, and run each scheduled job one at a time.

The lease saves work (one IMAP connection and one IDLE per mailbox, not one per worker); it is not what
keeps mail from being handled twice. Storing a UID, processing a message and sending a letter each claim
their own row, so two readers that briefly overlap (a lease taken over from a worker that was only slow)
store, process and send everything once all the same.

A row, not PostgreSQL advisory locks, on both databases: it works the same on SQLite, it can be read
(``SELECT * FROM worker_lease`` says who reads what), and it survives a pooler (pgbouncer in transaction
mode) that would drop a session's advisory locks between transactions.
"""

from __future__ import annotations

import logging
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import case, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from mailbot import worker
from mailbot.db.models import WorkerLease

log = logging.getLogger(__name__)
LEASE_SECONDS = 60  # how long a worker that stops renewing (hung, cut off) keeps others away
RENEW_SECONDS = 10  # renewed this often while reading, well inside the lease
JOB_LEASE_SECONDS = 6 * 3600  # a job is not renewed while it runs; a purge of years of cases may be long


def wall_clock() -> datetime:
    """Leases measure real time between processes, never a test's or a report's chosen clock."""
    return datetime.now(UTC)


@dataclass
class Lease:
    """This worker's hold on one mailbox or job: ``take`` (or renew), ``release``."""

    sessions: sessionmaker[Session]
    name: str  # "mailbox:NAME", "job:ID", or "worker:TOKEN" (the roll)
    holder: str = field(default_factory=worker.new_claim)
    seconds: int = LEASE_SECONDS
    clock: Callable[[], datetime] = wall_clock
    held: bool = False

    def take(self) -> bool:
        """Take the lease if it is free, expired or left by a process that has died; renew it if ours."""
        now = self.clock()
        taken = self._update(now, or_(WorkerLease.holder == self.holder, WorkerLease.expires_at <= now))
        if not taken:
            taken = self._insert(now) or self._take_from_the_dead(now)
        if taken != self.held:
            log.info("%s: %s", self.name, "held by this worker" if taken else "held by another worker")
        self.held = taken
        return taken

    def release(self) -> None:
        """Give it up at once (on shutdown, or a job done), so another worker need not wait for the expiry."""
        with self.sessions.begin() as session:
            session.execute(
                delete(WorkerLease).where(WorkerLease.name == self.name, WorkerLease.holder == self.holder)
            )
        self.held = False

    def _update(self, now: datetime, free: object) -> bool:
        with self.sessions.begin() as session:
            done = session.execute(
                update(WorkerLease)
                .where(WorkerLease.name == self.name, free)  # type: ignore[arg-type]
                .values(
                    holder=self.holder,
                    expires_at=now + timedelta(seconds=self.seconds),
                    acquired_at=case((WorkerLease.holder == self.holder, WorkerLease.acquired_at), else_=now),
                )
            )
            return done.rowcount == 1

    def _insert(self, now: datetime) -> bool:
        try:
            with self.sessions.begin() as session:
                if session.get(WorkerLease, self.name) is not None:
                    return False
                session.add(
                    WorkerLease(
                        name=self.name,
                        holder=self.holder,
                        acquired_at=now,
                        expires_at=now + timedelta(seconds=self.seconds),
                    )
                )
            return True
        except IntegrityError:  # another worker inserted it first
            return False

    def _take_from_the_dead(self, now: datetime) -> bool:
        """A holder on this host whose process has ended (kill -9, a crash) is not waited for."""
        with self.sessions() as session:
            holder = session.scalar(select(WorkerLease.holder).where(WorkerLease.name == self.name))
        if holder is None or worker.is_gone(holder) is not True:
            return False
        log.warning("%s: taken over from %s, which has ended", self.name, holder)
        return self._update(now, WorkerLease.holder == holder)


def mailbox_lease(sessions: sessionmaker[Session], mailbox: str) -> Lease:
    return Lease(sessions, f"mailbox:{mailbox}")


def one_worker_at_a_time(
    sessions: sessionmaker[Session], job: str, work: Callable[..., object], *args: object
) -> None:
    """Run a scheduled job unless another worker is running it now. Each job is safe to run again (what it
    sends is keyed in ``sent_notice``; a purge finds nothing left to purge), but not to run twice at once:
    two purges at once would race over the same cases."""
    lease = Lease(sessions, f"job:{job}", seconds=JOB_LEASE_SECONDS)
    if not lease.take():
        log.info("job:%s: running in another worker; not here", job)
        return
    try:
        work(*args)
    finally:
        lease.release()


class Roll:
    """The workers alive now, each on the roll under a lease of its own, and this worker's fair share of
    the mailboxes: without it the first worker to start would take every mailbox and keep them all."""

    def __init__(self, sessions: sessionmaker[Session], mailboxes: int) -> None:
        self.sessions, self.mailboxes = sessions, mailboxes
        self.me = Lease(sessions, f"worker:{secrets.token_hex(8)}")
        self.process = worker.this_process()

    def answer(self) -> None:
        """Join the roll, or stay on it: renewed as often as a mailbox lease. Entries left by workers that
        stopped without leaving (kill -9) are cleared once they are an hour out of date."""
        self.me.take()
        long_ago = wall_clock() - timedelta(hours=1)
        with self.sessions.begin() as session:
            session.execute(
                delete(WorkerLease).where(
                    WorkerLease.name.startswith("worker:"), WorkerLease.expires_at < long_ago
                )
            )

    def leave(self) -> None:
        self.me.release()

    def room_for_more(self) -> bool:
        held, share = self._held_and_share()
        return len(held) < share

    def should_give_back(self, lease: Lease) -> bool:
        """More than the share here (a worker has joined): the last mailbox by name goes back, one a time."""
        held, share = self._held_and_share()
        return len(held) > share and lease.name == max(held)

    def _held_and_share(self) -> tuple[list[str], int]:
        now = wall_clock()
        with self.sessions() as session:
            live = session.scalar(
                select(func.count()).where(
                    WorkerLease.name.startswith("worker:"), WorkerLease.expires_at > now
                )
            )
            held = session.scalars(
                select(WorkerLease.name).where(
                    WorkerLease.name.startswith("mailbox:"),
                    WorkerLease.holder.startswith(f"{self.process}:", autoescape=True),
                    WorkerLease.expires_at > now,
                )
            )
            return list(held), math.ceil(self.mailboxes / max(1, live or 0))
