"""Worker leases on both databases: one holder at a time, taken over on expiry or when the holder has died,
given up at once on release; scheduled jobs one worker at a time; a fair share of the mailboxes each."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from mailbot.db.models import WorkerLease
from mailbot.db.session import make_engine, make_sessionmaker, upgrade
from mailbot.leases import Lease, Roll, mailbox_lease, one_worker_at_a_time


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    upgrade(engine)
    yield make_sessionmaker(engine)
    engine.dispose()


def test_one_holder_at_a_time_until_it_expires_or_is_released(sessions: sessionmaker[Session]) -> None:
    clock = Clock()
    first = Lease(sessions, "mailbox:complaints", "host:1:1:a", seconds=60, clock=clock)
    second = Lease(sessions, "mailbox:complaints", "host:2:2:b", seconds=60, clock=clock)
    assert first.take() and not second.take()
    clock.now += timedelta(seconds=50)
    assert first.take()  # renewed: 60 s from now
    clock.now += timedelta(seconds=50)
    assert not second.take()
    clock.now += timedelta(seconds=11)  # the first stopped renewing: expired
    assert second.take() and not first.take()
    second.release()
    assert first.take()
    with sessions() as session:
        row = session.get(WorkerLease, "mailbox:complaints")
        assert row is not None and row.holder == "host:1:1:a"


def test_a_lease_left_by_a_process_that_has_ended_is_taken_at_once(sessions: sessionmaker[Session]) -> None:
    code = "from mailbot.worker import new_claim; print(new_claim())"
    dead = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert Lease(sessions, "mailbox:complaints", dead.strip()).take()  # then the process ended (kill -9)
    assert mailbox_lease(sessions, "complaints").take()


def test_a_scheduled_job_runs_in_one_worker_at_a_time(sessions: sessionmaker[Session]) -> None:
    ran: list[str] = []
    elsewhere = Lease(sessions, "job:weekly-digest", "otherhost:7:7:x")
    assert elsewhere.take()
    one_worker_at_a_time(sessions, "weekly-digest", ran.append, "while another runs it")
    assert ran == []
    elsewhere.release()
    one_worker_at_a_time(sessions, "weekly-digest", ran.append, "on its own")
    one_worker_at_a_time(sessions, "weekly-digest", ran.append, "again, later")
    assert ran == ["on its own", "again, later"]  # the lease is given up when the job ends


def test_each_worker_takes_its_share_and_gives_back_what_is_over_it(sessions: sessionmaker[Session]) -> None:
    here = Roll(sessions, mailboxes=4)
    here.answer()
    leases = [mailbox_lease(sessions, name) for name in ("a", "b", "c", "d")]
    for lease in leases:
        assert here.room_for_more() and lease.take()  # alone on the roll: all four
    assert not here.room_for_more()
    other = Lease(sessions, "worker:other", "otherhost:9:9:y")  # a second worker joins
    assert other.take()
    assert [here.should_give_back(lease) for lease in leases] == [False, False, False, True]
    leases[3].release()
    assert [here.should_give_back(lease) for lease in leases[:3]] == [False, False, True]
    leases[2].release()
    assert not any(here.should_give_back(lease) for lease in leases[:2]) and not here.room_for_more()


def test_the_roll_forgets_workers_that_vanished_an_hour_ago(sessions: sessionmaker[Session]) -> None:
    long_gone = Lease(
        sessions, "worker:vanished", "otherhost:3:3:z", clock=lambda: datetime.now(UTC) - timedelta(hours=2)
    )
    assert long_gone.take()
    Roll(sessions, mailboxes=1).answer()
    with sessions() as session:
        assert session.get(WorkerLease, "worker:vanished") is None
