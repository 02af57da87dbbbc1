"""Which worker reads which mailbox: one lease row per mailbox, held until it expires and renewed while the
worker reads, so several ``mailbot run`` processes on one database share the mailboxes, one reader each.

The lease saves work (one IMAP connection and one IDLE per mailbox, not one per worker); it is not what
keeps mail from being handled twice. Storing a UID, processing a message and sending a letter each claim
their own row, so two readers that briefly overlap (a lease taken over from a worker that was only slow)
store, process and send everything once all the same.

A row, not PostgreSQL advisory locks, on both databases: it works the same on SQLite, it can be read
(``SELECT * FROM mailbox_lease`` says who reads what), and it survives a pooler (pgbouncer in transaction
mode) that would drop a session's advisory locks between transactions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import case, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from mailbot import worker
from mailbot.db.models import MailboxLease

log = logging.getLogger(__name__)
LEASE_SECONDS = 90  # how long a worker that stops renewing (hung, cut off) keeps others away
RENEW_SECONDS = 20  # renewed this often while reading, well inside the lease


def wall_clock() -> datetime:
    """Leases measure real time between processes, never a test's or a report's chosen clock."""
    return datetime.now(UTC)


@dataclass
class Lease:
    """This worker's hold on one mailbox: ``take`` (or renew), ``release``."""

    sessions: sessionmaker[Session]
    mailbox: str
    holder: str = field(default_factory=worker.new_claim)
    seconds: int = LEASE_SECONDS
    clock: Callable[[], datetime] = wall_clock
    held: bool = False

    def take(self) -> bool:
        """Take the mailbox if it is free, expired or left by a process that has died; renew it if ours."""
        now = self.clock()
        taken = self._update(now, or_(MailboxLease.holder == self.holder, MailboxLease.expires_at <= now))
        if not taken:
            taken = self._insert(now) or self._take_from_the_dead(now)
        if taken != self.held:
            log.info("mailbox %s: %s", self.mailbox, "now read by this worker" if taken else "read elsewhere")
        self.held = taken
        return taken

    def release(self) -> None:
        """Give the mailbox up at once (on shutdown), so another worker need not wait for the expiry."""
        with self.sessions.begin() as session:
            session.execute(
                delete(MailboxLease).where(
                    MailboxLease.mailbox == self.mailbox, MailboxLease.holder == self.holder
                )
            )
        self.held = False

    def _update(self, now: datetime, free: object) -> bool:
        with self.sessions.begin() as session:
            done = session.execute(
                update(MailboxLease)
                .where(MailboxLease.mailbox == self.mailbox, free)  # type: ignore[arg-type]
                .values(
                    holder=self.holder,
                    expires_at=now + timedelta(seconds=self.seconds),
                    acquired_at=case(
                        (MailboxLease.holder == self.holder, MailboxLease.acquired_at), else_=now
                    ),
                )
            )
            return done.rowcount == 1

    def _insert(self, now: datetime) -> bool:
        try:
            with self.sessions.begin() as session:
                if session.get(MailboxLease, self.mailbox) is not None:
                    return False
                session.add(
                    MailboxLease(
                        mailbox=self.mailbox,
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
            holder = session.scalar(select(MailboxLease.holder).where(MailboxLease.mailbox == self.mailbox))
        if holder is None or worker.is_gone(holder) is not True:
            return False
        log.warning("mailbox %s: taken over from %s, which has ended", self.mailbox, holder)
        return self._update(now, MailboxLease.holder == holder)
