"""`mailbot poll --once` killed with kill -9 at random points, and two of them at once, on real Dovecot, SMTP,
SQLite and PostgreSQL: every complaint stored once, every complainant acknowledged exactly once or shown to a
person as held, every Sent copy filed once. A few kills per database here; ``benchmarks/crashes.py`` runs
many more, with outages, a slow server and a locked database.

A failure prints the random seed; ``MAILBOT_CRASH_SEED=N`` runs the same kill points again.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest

from mailbot.testing import Dovecot, SmtpCapture
from mailbot.testing.crashes import (
    Tally,
    bot,
    complaint,
    finished,
    kill_at,
    measure_phases,
    run_to_the_end,
    tally,
)
from tests.conftest import ENVIRON, write_config

KILLS = 10
BATCH = 5  # complaints delivered before each run


class Mailbox:
    """Complaints delivered so far: sender -> Message-ID."""

    def __init__(self, dovecot: Dovecot) -> None:
        self.dovecot = dovecot
        self.senders: dict[str, str] = {}

    def deliver(self, count: int) -> None:
        for _ in range(count):
            number = len(self.senders)
            sender, raw = complaint(number)
            self.dovecot.deliver(raw)
            self.senders[sender] = f"crash-{number}@example.net"


def assert_once(result: Tally, context: str) -> None:
    assert result.failures == 0, f"{context}\n{result}"
    assert result.acknowledged_once + result.held - result.held_yet_delivered == result.complaints, context


@pytest.mark.parametrize("smtp_extra", ["", "connections = 4"], ids=["one-connection", "four-connections"])
def test_kill_9_at_random_points_loses_nothing_and_sends_nothing_twice(
    tmp_path: Path, dovecot: Dovecot, smtp_server: SmtpCapture, database_url: str, smtp_extra: str
) -> None:
    """With four SMTP connections a kill can fall between a wave's hand-over and its letters' final dots."""
    config = write_config(tmp_path, dovecot, smtp_server, database_url, smtp_extra=smtp_extra)
    seed = int(os.environ.get("MAILBOT_CRASH_SEED", time.time_ns() % 1_000_000))
    rng, mailbox = random.Random(seed), Mailbox(dovecot)
    run_to_the_end(config, ENVIRON)  # first contact: the empty mailbox is the baseline
    mailbox.deliver(BATCH)
    phases = measure_phases(config, ENVIRON)
    kills = []
    for _ in range(KILLS):
        mailbox.deliver(BATCH)
        phase, moment = phases.random_moment(rng)
        kills.append(f"{phase}@{moment:.2f}s{'' if kill_at(config, ENVIRON, moment) else ' (had finished)'}")
    for _ in range(2):  # the restarts after the last kill
        run_to_the_end(config, ENVIRON)

    result = tally(database_url, smtp_server, dovecot, mailbox.senders)
    assert_once(result, f"seed {seed}; phases: {phases}; kills: {', '.join(kills)}")
    assert result.complaints == (KILLS + 1) * BATCH


def test_two_workers_at_once_store_acknowledge_and_file_each_message_once(
    tmp_path: Path, dovecot: Dovecot, smtp_server: SmtpCapture, database_url: str
) -> None:
    config = write_config(tmp_path, dovecot, smtp_server, database_url)
    mailbox = Mailbox(dovecot)
    run_to_the_end(config, ENVIRON)
    for _ in range(2):
        mailbox.deliver(15)
        workers = [bot(config, ENVIRON, "poll", "--once") for _ in range(2)]
        for worker in workers:
            finished(worker)

    result = tally(database_url, smtp_server, dovecot, mailbox.senders)
    assert_once(result, "two workers")
    assert (result.acknowledged_once, result.held) == (30, 0)
