"""Scheduled jobs on real servers: the [digest] table, the weeks, and the weekly digest sent exactly once per
lead per week by two schedulers running at once, across a restart and when a Monday was missed."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select

from mailbot.app import App
from mailbot.config.digest import DigestSettings, WatchSettings, settings_from_table
from mailbot.config.settings import ConfigError
from mailbot.db.models import Outbox, SentNotice
from mailbot.scheduled import jobs
from mailbot.scheduled.digest import letter
from mailbot.scheduled.digest.letter import send_digests
from mailbot.scheduled.digest.week import DigestWeek, latest_week, week_labelled
from mailbot.scheduled.schedule import DIGEST_JOB, WATCH_JOB, add_scheduled_jobs
from mailbot.testing import SmtpCapture
from tests.conftest import Clock
from tests.test_digest import LEADS, NOW, STAFF, add_known_cases
from tests.test_watch import run_together

LONDON = ZoneInfo("Europe/London")
CONFIG = Path("config.toml")


# --- the [digest] table ------------------------------------------------------------------------------------


def test_the_digest_table_is_read_with_defaults_for_what_it_leaves_out() -> None:
    assert settings_from_table({}, CONFIG) == DigestSettings()
    assert DigestSettings().day == 0 and DigestSettings().at == time(8, 0)
    assert DigestSettings().watch.remind_working_days == 2 and not DigestSettings().names_visible_to

    table = {"day": "Friday", "time": "16:30", "watch_time": time(6, 45), "remind_working_days": 3,
             "at_risk_working_days": 10, "names_visible_to": ["chief_executive"],
             "follow_up_rounds": 4}  # fmt: skip
    assert settings_from_table(table, CONFIG) == DigestSettings(
        day=4, at=time(16, 30), at_risk_working_days=10, names_visible_to=frozenset({"chief_executive"}),
        watch=WatchSettings(at=time(6, 45), remind_working_days=3, follow_up_rounds=4),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("table", "key", "says"),
    [
        ({"day": "Munday"}, "digest.day", "expected a day of the week (monday, tuesday"),
        ({"time": "8am"}, "digest.time", 'expected a local time of day such as "08:00"'),
        ({"time": "25:00"}, "digest.time", "got '25:00'"),
        ({"remind_working_days": 40}, "digest.remind_working_days", "a whole number from 0 to 30"),
        ({"names_visible_to": ["board"]}, "digest.names_visible_to", "unknown role 'board' (accepted: coord"),
        ({"weekday": "monday"}, "digest.weekday", "unknown key (accepted here: "),
    ],
)
def test_a_mistake_in_the_digest_table_names_the_key_and_what_is_accepted(
    table: dict[str, Any], key: str, says: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        settings_from_table(table, CONFIG)
    assert raised.value.key == key and says in raised.value.message and raised.value.path == "config.toml"


# --- weeks -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "label"),
    [
        (datetime(2026, 11, 30, 7, 59, tzinfo=LONDON), "2026-W48"),  # Monday, a minute before the digest
        (datetime(2026, 11, 30, 8, 0, tzinfo=LONDON), "2026-W49"),
        (datetime(2026, 12, 6, 23, 0, tzinfo=LONDON), "2026-W49"),  # the Sunday after
        (datetime(2026, 3, 30, 7, 30, tzinfo=UTC), "2026-W14"),  # 08:30 in summer time: sent at 07:00 UTC
        (datetime(2026, 3, 30, 6, 59, tzinfo=UTC), "2026-W13"),
    ],
)
def test_the_latest_digest_is_the_last_whose_local_send_time_has_come(now: datetime, label: str) -> None:
    assert latest_week(now, DigestSettings(), LONDON).label == label


def test_a_week_names_the_week_it_is_sent_in_and_reports_the_seven_days_before() -> None:
    week = week_labelled("2026-W14", DigestSettings(), LONDON)

    assert week.send_at == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    assert (week.span.start.isoformat(), week.span.end.isoformat()) == ("2026-03-23", "2026-03-29")
    assert week.span.until == datetime(2026, 3, 29, 23, 0, tzinfo=UTC)  # midnight in summer time


# --- the jobs ----------------------------------------------------------------------------------------------


@pytest.fixture
def make_digest_app(make_app: Callable[..., App], clock: Clock) -> Callable[[], App]:
    clock.now = NOW  # Monday 30 November 2026, 09:00: digest 2026-W49 is due
    return lambda: make_app(extra=STAFF)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_jobs_run_in_the_organisations_time_zone_never_two_at_once(
    make_digest_app: Callable[[], App],
) -> None:
    scheduler = BackgroundScheduler(timezone="Europe/London")
    add_scheduled_jobs(scheduler, make_digest_app(), DigestSettings(day=2, at=time(9, 15)))

    jobs_by_id = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs_by_id) == {WATCH_JOB, DIGEST_JOB}
    for job in jobs_by_id.values():
        assert job.coalesce is True and job.max_instances == 1 and job.misfire_grace_time is None
        assert job.trigger.timezone == LONDON
    fields = {f.name: str(f) for f in jobs_by_id[DIGEST_JOB].trigger.fields}
    assert (fields["day_of_week"], fields["hour"], fields["minute"]) == ("wed", "9", "15")
    fields = {f.name: str(f) for f in jobs_by_id[WATCH_JOB].trigger.fields}
    assert (fields["hour"], fields["minute"]) == ("7", "0")


@dataclass
class Runner:
    """A `mailbot run`: an app and a background scheduler with the dated jobs, started at once."""

    app: App
    scheduler: BackgroundScheduler
    results: dict[str, Any] = field(default_factory=dict)
    first_runs: threading.Event = field(default_factory=threading.Event)

    def heard(self, event: JobExecutionEvent) -> None:
        self.results.setdefault(event.job_id, event.exception or event.retval)
        if {WATCH_JOB, DIGEST_JOB} <= set(self.results):
            self.first_runs.set()

    def wait(self) -> dict[str, Any]:
        assert self.first_runs.wait(timeout=60), "the jobs did not run on start"
        for job, result in self.results.items():
            assert not isinstance(result, BaseException), f"{job} failed: {result!r}"
        return self.results


@contextmanager
def running(*apps: App) -> Iterator[list[Runner]]:
    runners = [Runner(app, BackgroundScheduler(timezone=app.config.timezone)) for app in apps]
    for runner in runners:
        add_scheduled_jobs(runner.scheduler, runner.app)
        runner.scheduler.add_listener(runner.heard, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    try:
        for runner in runners:  # started back to back: their first runs overlap
            runner.scheduler.start()
        yield runners
    finally:
        for runner in runners:
            runner.scheduler.shutdown(wait=True)


def digests(app: App) -> list[tuple[str, str]]:
    """(sent-notice key, outbox recipient) of every digest queued."""
    with app.sessions() as session:
        rows = session.execute(
            select(SentNotice.key, Outbox.recipient)
            .join(Outbox, Outbox.id == SentNotice.outbox_id)
            .where(Outbox.purpose == "digest")
            .order_by(SentNotice.key)
        )
        return [(key, recipient) for key, recipient in rows]


def expected(week: str) -> list[tuple[str, str]]:
    return sorted((f"digest:{lead}:{week}", lead) for lead in LEADS)


def test_two_schedulers_at_once_then_a_restart_send_each_lead_one_digest(
    make_digest_app: Callable[[], App], smtp_server: SmtpCapture
) -> None:
    first, second = make_digest_app(), make_digest_app()
    add_known_cases(first)

    with running(first, second) as runners:
        runs = [runner.wait()[DIGEST_JOB] for runner in runners]
    assert sorted(address for run in runs for address in run.sent) == sorted(LEADS)
    with running(make_digest_app()) as [restarted]:
        assert restarted.wait()[DIGEST_JOB].sent == ()

    assert digests(first) == expected("2026-W49")
    jobs.flush(first)
    for lead in LEADS:  # and the watch, racing too, alerted each lead once to the one missed date
        subjects = sorted(m.message["Subject"] for m in smtp_server.messages if m.rcpt_tos == (lead,))
        assert [s.split(":")[0] for s in subjects] == [
            "Complaints digest 2026-W49",
            "[CMP-2026-0073] Deadline missed",
        ]
    reminders = [m for m in smtp_server.messages if m.rcpt_tos == ("priya.shah@riverside.example",)]
    assert sorted(m.message["Subject"][:33] for m in reminders) == [
        "[CMP-2026-0020] Follow-up due Tue",  # the policy's, three months after closure
        "[CMP-2026-0102] Reminder: acknowl",
    ]


def test_a_missed_monday_is_caught_up_once(make_digest_app: Callable[[], App], clock: Clock) -> None:
    clock.now = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)  # down from Sunday until Wednesday morning
    app = make_digest_app()

    with running(app) as [runner]:
        assert runner.wait()[DIGEST_JOB].sent == LEADS
    with running(make_digest_app()) as [runner]:
        assert runner.wait()[DIGEST_JOB].sent == ()
    assert digests(app) == expected("2026-W49")  # this week's, once; none for the weeks before

    clock.now = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)  # the next Monday's digest comes as usual
    with running(make_digest_app()) as [runner]:
        assert runner.wait()[DIGEST_JOB].week.label == "2026-W50"
    assert digests(app) == sorted([*expected("2026-W49"), *expected("2026-W50")])


def test_two_runners_racing_to_insert_the_same_digest_send_it_once(
    make_digest_app: Callable[[], App], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = make_digest_app(), make_digest_app()
    week: DigestWeek = week_labelled("2026-W49", DigestSettings(), LONDON)
    # Both find no key and finish their figures together: only the unique key decides who sends.
    barrier, real_gather = threading.Barrier(2, timeout=30), letter.gather

    def gather_then_wait(*args: Any) -> Any:
        figures = real_gather(*args)
        barrier.wait()
        return figures

    monkeypatch.setattr(letter, "already_claimed", lambda session, keys: set())
    monkeypatch.setattr(letter, "gather", gather_then_wait)

    runs = run_together(lambda: send_digests(first, week), lambda: send_digests(second, week))

    assert sorted(address for run in runs for address in run.sent) == sorted(LEADS)
    assert sorted(address for run in runs for address in run.already) == sorted(LEADS)
    assert digests(first) == expected("2026-W49")
