"""Prometheus metrics from ``mailbot run``, when ``[metrics] listen`` names an address (off by default).

The figures about mail and letters are read from the database at each scrape, as ``mailbot health`` reads
them: they count what every worker did, and survive a restart. How long each mailbox's poll took is timed
here: around each mailbox reader's look at its folder (scheduled/idle.py), or the scheduler's poll jobs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from wsgiref.simple_server import WSGIServer

from apscheduler.schedulers.base import BaseScheduler
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from mailbot import health
from mailbot.app import App
from mailbot.db.models import InboundMessage, Outbox
from mailbot.vocabulary import InboundState, OutboxState

POLL_JOB_PREFIX = "poll:"  # the scheduler's poll jobs are named "poll:MAILBOX" (scheduled/jobs.py)


@dataclass
class PollTimes:
    """Each mailbox's last poll: how long it took and when it ended (seconds since the epoch)."""

    seconds: dict[str, float] = field(default_factory=dict)
    ended: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, mailbox: str, seconds: float) -> None:
        """A mailbox reader's look at its folder (IMAP IDLE, scheduled/idle.py), which is its poll."""
        with self.lock:
            self.seconds[mailbox], self.ended[mailbox] = seconds, time.time()

    def timed(self, mailbox: str, poll: Callable[..., None]) -> Callable[..., None]:
        def timed_poll(*args: object) -> None:
            started = time.monotonic()
            try:
                poll(*args)
            finally:
                with self.lock:
                    self.seconds[mailbox] = time.monotonic() - started
                    self.ended[mailbox] = time.time()

        return timed_poll


class MailbotCollector(Collector):
    def __init__(self, app: App, polls: PollTimes) -> None:
        self.app, self.polls = app, polls

    def collect(self) -> Iterator[Metric]:
        with self.app.sessions() as session:
            messages = session.execute(
                select(InboundMessage.state, InboundMessage.kind, func.count()).group_by(
                    InboundMessage.state, InboundMessage.kind
                )
            ).all()
            letters = session.execute(select(Outbox.state, func.count()).group_by(Outbox.state)).all()
            waiting = health.unacknowledged(session)
        yield from self._message_metrics(messages)
        yield from self._letter_metrics(letters)
        yield _gauge(
            "mailbot_oldest_unacknowledged_complaint_age_seconds",
            "How long the oldest open case has waited for its acknowledgement (0: none waiting)",
            max((self.app.clock() - started).total_seconds() for _, started in waiting) if waiting else 0,
        )
        yield from self._poll_metrics()

    def _message_metrics(self, rows: list) -> Iterator[Metric]:  # type: ignore[type-arg]
        by_kind = GaugeMetricFamily(
            "mailbot_messages", "Inbound messages recorded, by state and kind", labels=["state", "kind"]
        )
        shunted = 0
        for state, kind, count in rows:
            by_kind.add_metric([state, kind or "unknown"], count)
            shunted += count if state == InboundState.SHUNTED else 0
        yield by_kind
        yield _gauge("mailbot_shunted_messages", "Messages that failed and wait to be retried", shunted)

    def _letter_metrics(self, rows: list) -> Iterator[Metric]:  # type: ignore[type-arg]
        letters = GaugeMetricFamily(
            "mailbot_letters",
            "Outgoing letters, by state (sent, held, failed, pending ...)",
            labels=["state"],
        )
        counts = dict.fromkeys((state.value for state in OutboxState), 0) | {state: n for state, n in rows}
        for state, count in sorted(counts.items()):
            letters.add_metric([state], count)
        yield letters
        yield _gauge("mailbot_outbox_backlog", "Letters waiting to be sent", counts[OutboxState.PENDING])

    def _poll_metrics(self) -> Iterator[Metric]:
        took = GaugeMetricFamily(
            "mailbot_poll_duration_seconds", "How long each mailbox's last poll took", labels=["mailbox"]
        )
        ended = GaugeMetricFamily(
            "mailbot_last_poll_end_timestamp_seconds",
            "When each mailbox's last poll ended",
            labels=["mailbox"],
        )
        with self.polls.lock:
            for mailbox, seconds in sorted(self.polls.seconds.items()):
                took.add_metric([mailbox], seconds)
                ended.add_metric([mailbox], self.polls.ended[mailbox])
        yield took
        yield ended


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def serve(
    app: App, scheduler: BaseScheduler, watchers: list[Callable[[str, float], None]] | None = None
) -> WSGIServer | None:
    """Open the endpoint [metrics] names, timing the scheduler's polls, or the mailbox readers' looks when
    ``watchers`` is theirs; None when metrics are off."""
    watching = app.config.watching
    if watching.metrics_host is None:
        return None
    polls = PollTimes()
    if watchers is not None:
        watchers.append(polls.record)
    for job in scheduler.get_jobs():
        if job.id.startswith(POLL_JOB_PREFIX):
            job.modify(func=polls.timed(job.id.removeprefix(POLL_JOB_PREFIX), job.func))
    registry = CollectorRegistry()
    registry.register(MailbotCollector(app, polls))
    server, _thread = start_http_server(watching.metrics_port, addr=watching.metrics_host, registry=registry)
    return server
