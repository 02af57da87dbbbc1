"""Mailbox readers for ``mailbot run``: one thread per mailbox that waits for new mail with IMAP IDLE and
handles it at once (store, process, send the acknowledgement, tidy), so a complainant hears back within
seconds rather than at the next poll.

Each reader holds its mailbox's lease (``mailbot.leases``) while it reads, so several workers on one
database share the mailboxes. IDLE is renewed before servers drop it (RFC 2177: after 29 minutes); any
error closes the connection and the reader connects again after a capped, jittered exponential backoff
(an OAuth2 token is fetched afresh then if it is due). A server without IDLE, or ``idle = false``, is
polled on ``poll_interval_seconds`` instead.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from selectors import EVENT_READ, DefaultSelector

from imapclient import IMAPClient

from mailbot.app import App
from mailbot.config.servers import MailboxConfig
from mailbot.intake import mailbox
from mailbot.leases import RENEW_SECONDS, Roll, mailbox_lease
from mailbot.scheduled.jobs import CycleReport, process_and_deliver, tidy_connected

log = logging.getLogger(__name__)
FIRST_RETRY_SECONDS = 1.0
LONGEST_RETRY_SECONDS = 300.0  # a server down for hours is still tried every few minutes
CHECK_SECONDS = 1.0  # how often a reader looks up from IDLE: how long a shutdown may wait for it
STOP_WAIT_SECONDS = 60.0


class ConnectionDropped(ConnectionError):
    """The server closed the connection during IDLE (a restart, a timeout, a kicked session)."""


class Backoff:
    """Exponential delays between reconnections, capped, with jitter so that many readers cut off by one
    server restart do not all come back in the same second."""

    def __init__(self, first: float = FIRST_RETRY_SECONDS, longest: float = LONGEST_RETRY_SECONDS) -> None:
        self.first, self.longest, self.failures = first, longest, 0

    def next_delay(self) -> float:
        ceiling = min(self.longest, self.first * 2**self.failures)
        self.failures += 1
        return random.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.failures = 0


class Turns:
    """Processing and delivery for one process, one turn at a time. A reader that asks while another turn
    runs does not wait: the running turn goes round once more, so what it stored is handled straight after."""

    def __init__(self, work: Callable[[], None]) -> None:
        self._work = work
        self._running = threading.Lock()
        self._wanted = threading.Event()

    def request(self) -> None:
        self._wanted.set()
        # Checked after releasing the lock, so a request made during the last round is never missed.
        while self._wanted.is_set() and self._running.acquire(blocking=False):
            try:
                self._wanted.clear()
                self._work()
            finally:
                self._running.release()


class MailboxReader(threading.Thread):
    """Reads one mailbox for as long as the service runs."""

    def __init__(
        self, app: App, box: MailboxConfig, turns: Turns, roll: Roll, stopping: threading.Event,
        watchers: list[Callable[[str, float], None]] | None = None,
    ) -> None:  # fmt: skip
        super().__init__(name=f"mailbox-{box.name}", daemon=True)
        self.app, self.box, self.turns, self.roll, self.stopping = app, box, turns, roll, stopping
        self.watchers = watchers if watchers is not None else []  # told how long each look took
        self.lease = mailbox_lease(app.sessions, box.name)
        self.backoff = Backoff()
        self._uidnext = 0  # as last seen before storing what was new
        self._lease_due = 0.0  # when the lease is next renewed (time.monotonic)

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self._read_while_held()
            except Exception as exc:  # a reader must outlive anything one connection can throw at it
                delay = self.backoff.next_delay()
                log.error("mailbox %s: %s; connecting again in %.1f s", self.box.name, _said(exc), delay)
                log.debug("mailbox %s: the error in full", self.box.name, exc_info=True)
                self.stopping.wait(delay)
        self._let_go()

    def _read_while_held(self) -> None:
        if not ((self.lease.held or self.roll.room_for_more()) and self.lease.take()):
            self.stopping.wait(RENEW_SECONDS)  # another worker reads it; try again in case that one stops
            return
        with mailbox.connect(self.box) as client:
            if self.box.idle and client.has_capability("IDLE"):
                self._idle_loop(client)
                return
            if self.box.idle:
                log.warning(
                    "mailbox %s: %s:%s has no IDLE; polling every %d s",
                    self.box.name, self.box.host, self.box.port, self.app.config.poll_interval_seconds,
                )  # fmt: skip
            self._handle(client)
        self.backoff.reset()
        self._wait_holding(self.app.config.poll_interval_seconds)

    def _idle_loop(self, client: IMAPClient) -> None:
        self._handle(client)  # what arrived while we were not waiting is never left behind
        self.backoff.reset()
        log.info("mailbox %s: waiting for mail with IDLE", self.box.name)
        while not self.stopping.is_set() and self._idle(client):
            self._handle(client)  # new mail, or the renewal: a cheap look costs nothing if none came

    def _handle(self, client: IMAPClient) -> None:
        """Store what is new, process it and send what is due, then tidy the mailbox."""
        report, started = CycleReport(), time.monotonic()
        self._uidnext = _uidnext(client.select_folder(self.box.folder))
        report.intake.append(mailbox.fetch_new(client, self.box, self.app.sessions, self.app.clock))
        self.turns.request()
        tidy_connected(self.app, self.box, client, report)
        for watcher in self.watchers:  # e.g. the metrics' poll duration
            watcher(self.box.name, time.monotonic() - started)

    def _idle(self, client: IMAPClient) -> bool:
        """Wait in IDLE until new mail, the renewal time or a shutdown; False when the lease was lost."""
        if not self._lease_kept():
            return False
        # Tidying may have selected the Sent folder; and mail that came since we looked would not be
        # announced during IDLE, as it is already there when IDLE begins.
        if _uidnext(client.select_folder(self.box.folder)) != self._uidnext:
            return True
        client.idle()
        renew_at = time.monotonic() + self.box.idle_renew_minutes * 60
        with DefaultSelector() as selector:
            selector.register(client.socket(), EVENT_READ)
            while not self.stopping.is_set() and time.monotonic() < renew_at:
                if not self._lease_kept() or self._new_mail(client, selector):
                    break
        client.idle_done()
        return self.lease.held

    def _lease_kept(self) -> bool:
        """Renewed every RENEW_SECONDS however often mail comes (each mail ends one IDLE, begins another)."""
        if time.monotonic() < self._lease_due:
            return True
        self._lease_due = time.monotonic() + RENEW_SECONDS
        return self._keep_lease()

    def _new_mail(self, client: IMAPClient, selector: DefaultSelector) -> bool:
        sock = client.socket()
        if not (getattr(sock, "pending", lambda: 0)() or selector.select(CHECK_SECONDS)):
            return False
        responses = client.idle_check(timeout=0)
        if not responses:  # readable with nothing to read: the server has closed the connection
            raise ConnectionDropped(f"{self.box.host}:{self.box.port} closed the connection during IDLE")
        return any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses)

    def _wait_holding(self, seconds: float) -> None:
        """Wait for the next poll, keeping the lease meanwhile."""
        until = time.monotonic() + seconds
        while not self.stopping.is_set() and time.monotonic() < until:
            self.stopping.wait(min(RENEW_SECONDS, max(0.0, until - time.monotonic())))
            if not self.stopping.is_set() and not self._keep_lease():
                return

    def _keep_lease(self) -> bool:
        """Renew the lease; or give the mailbox back where this worker holds more than its share."""
        if not self.lease.take():
            return False
        if self.roll.should_give_back(self.lease):
            log.info("mailbox %s: left to another worker (this one holds more than its share)", self.box.name)
            self.lease.release()
            return False
        return True

    def _let_go(self) -> None:
        try:
            self.lease.release()
        except Exception as exc:  # shutting down: the lease expires on its own
            log.warning("mailbox %s: lease not released (%s); it expires by itself", self.box.name, exc)


def _uidnext(selected: dict) -> int:
    """The UID the next message will get (or, where a server does not say, how many there are)."""
    return int(selected.get(b"UIDNEXT", selected.get(b"EXISTS", 0)))


def _said(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, mailbox.MailboxError) else f"{type(exc).__name__}: {exc}"


class Readers:
    """Every mailbox's reader, started together and stopped together."""

    def __init__(self, app: App, turns: Turns) -> None:
        self.stopping = threading.Event()
        self.roll = Roll(app.sessions, len(app.config.mailboxes))
        self.watchers: list[Callable[[str, float], None]] = []  # shared: one added later reaches every reader
        self.threads: list[threading.Thread] = [
            MailboxReader(app, box, turns, self.roll, self.stopping, self.watchers)
            for box in app.config.mailboxes
        ]
        self.threads.append(threading.Thread(target=self._on_the_roll, name="worker-roll", daemon=True))

    def start(self) -> None:
        self.roll.answer()
        for thread in self.threads:
            thread.start()

    def _on_the_roll(self) -> None:
        while not self.stopping.wait(RENEW_SECONDS):
            try:
                self.roll.answer()
            except Exception as exc:  # the database is away: mailbox readers meet the same and back off
                log.warning("worker roll not renewed: %s", exc)
        try:
            self.roll.leave()
        except Exception as exc:  # shutting down: the entry expires on its own
            log.warning("worker roll not left (%s); the entry expires by itself", exc)

    def stop(self) -> None:
        """Ask every reader to stop, and wait for each to finish what it is doing."""
        self.stopping.set()
        deadline = time.monotonic() + STOP_WAIT_SECONDS
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                log.warning("%s did not stop within %.0f s; leaving it", thread.name, STOP_WAIT_SECONDS)


def start_readers(app: App) -> tuple[Readers, Turns]:
    turns = Turns(lambda: process_and_deliver(app, CycleReport()))
    readers = Readers(app, turns)
    readers.start()
    return readers, turns
