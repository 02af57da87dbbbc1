"""The daily deadline watch on real servers: a reminder once before a date, a breach alert once after it, the
policy's follow-up to staff and never to the complainant, and each notice once however many watches run."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date, datetime
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailbot.app import App
from mailbot.db.models import Case, Outbox, SentNotice
from mailbot.scheduled import jobs, watch
from mailbot.scheduled.watch import WatchReport, run_watch
from mailbot.testing import SmtpCapture
from tests.conftest import Clock
from tests.test_digest import LEADS, STAFF, add_case, utc

PRIYA = "priya.shah@riverside.example"
COMPLAINANT = "person0200@example.net"


@pytest.fixture
def app(make_app: Callable[..., App], clock: Clock) -> App:
    clock.now = utc(2026, 11, 30, 7)  # Monday 30 November 2026, 07:00 in London
    return make_app(extra=STAFF)


def sent_to(smtp: SmtpCapture, address: str) -> list[EmailMessage]:
    return [m.message for m in smtp.messages if address in m.rcpt_tos]


def watch_on(app: App, clock: Clock, day: date) -> WatchReport:
    clock.now = datetime(day.year, day.month, day.day, 7, tzinfo=clock.now.tzinfo)
    report = run_watch(app)
    jobs.flush(app)
    return report


def test_a_reminder_goes_once_before_the_date_and_a_breach_alert_once_after_it(
    app: App, clock: Clock, smtp_server: SmtpCapture
) -> None:
    with app.sessions.begin() as session:
        add_case(session, "CMP-2026-0200", utc(2026, 11, 16, 10), respond_due=date(2026, 12, 2),
                 acknowledged_at=utc(2026, 11, 16, 11), coordinator=PRIYA)  # fmt: skip

    assert watch_on(app, clock, date(2026, 11, 27)).sent == ()  # Friday: 3 working days left
    assert len(watch_on(app, clock, date(2026, 11, 30)).sent) == 1  # Monday: 2 working days left
    assert watch_on(app, clock, date(2026, 11, 30)).already == 1  # the same day again
    assert watch_on(app, clock, date(2026, 12, 2)).sent == ()  # due today: reminded already
    [reminder] = sent_to(smtp_server, PRIYA)
    assert reminder["Subject"] == "[CMP-2026-0200] Reminder: response due Wednesday 2 December 2026"
    assert reminder["Auto-Submitted"] == "auto-generated"
    assert "findings" in reminder.get_body(("plain",)).get_content()  # what the response must tell

    assert watch_on(app, clock, date(2026, 12, 3)).sent == (
        "breach:CMP-2026-0200:stage1:response:2026-12-02",
    )
    assert watch_on(app, clock, date(2026, 12, 4)).sent == ()
    for lead in LEADS:
        [alert] = sent_to(smtp_server, lead)
        assert (
            alert["Subject"] == "[CMP-2026-0200] Deadline missed: response was due Wednesday 2 December 2026"
        )
        assert "1 working day late" in alert.get_body(("plain",)).get_content()
        assert "Complainant 0200" not in alert.as_string()
    assert len(sent_to(smtp_server, PRIYA)) == 1
    assert sent_to(smtp_server, COMPLAINANT) == []


def test_an_extension_is_a_new_date_with_its_own_reminder(
    app: App, clock: Clock, smtp_server: SmtpCapture
) -> None:
    with app.sessions.begin() as session:
        add_case(session, "CMP-2026-0201", utc(2026, 11, 16, 10), acknowledge_due=date(2026, 12, 1))
    watch_on(app, clock, date(2026, 11, 27))  # the acknowledgement, 2 working days ahead
    with app.sessions.begin() as session:
        case = session.scalars(select(Case)).one()
        case.acknowledged_at, case.response_due = utc(2026, 11, 27, 9), date(2026, 12, 9)

    watch_on(app, clock, date(2026, 12, 7))  # the response, 2 working days ahead

    subjects = sorted(m["Subject"] for m in sent_to(smtp_server, PRIYA))
    assert subjects == [
        "[CMP-2026-0201] Reminder: acknowledgement due Tuesday 1 December 2026",
        "[CMP-2026-0201] Reminder: response due Wednesday 9 December 2026",
    ]  # no coordinator on the case: every coordinator is reminded


def test_the_policy_follow_up_goes_to_the_coordinator_never_the_complainant(
    make_app: Callable[..., App], clock: Clock, smtp_server: SmtpCapture
) -> None:
    app = make_app(extra=STAFF, policy="case-management-cymru")
    with app.sessions.begin() as session:
        add_case(
            session,
            "CMP-2026-0202",
            utc(2026, 7, 1, 9),
            policy="case-management-cymru",
            stage="formal",
            status="closed",
            closed_at=utc(2026, 8, 25, 12),
            outcome="upheld",
            coordinator=PRIYA,
        )
        add_case(
            session,
            "CMP-2026-0203",
            utc(2026, 3, 1, 9),
            policy="case-management-cymru",
            stage="formal",
            status="closed",
            closed_at=utc(2026, 6, 1, 12),
            outcome="upheld",
        )  # fell due in August

    assert watch_on(app, clock, date(2026, 11, 23)).sent == ()
    # Three months after 25 August is Tuesday 24 November; the bot was down, so Wednesday catches it up.
    assert watch_on(app, clock, date(2026, 11, 25)).sent == ("follow-up:CMP-2026-0202:2026-11-24",)
    assert watch_on(app, clock, date(2026, 11, 26)).sent == ()

    [follow_up] = sent_to(smtp_server, PRIYA)
    assert follow_up["Subject"].startswith("[CMP-2026-0202] Follow-up due Tuesday 24 November 2026")
    text = follow_up.get_body(("plain",)).get_content()
    assert "follows up concluded complaints every 3 months, by the Responsible Individual" in text
    assert sent_to(smtp_server, "person0202@example.net") == []
    assert len(smtp_server.messages) == 1


def test_two_watches_at_once_send_each_notice_once(
    make_app: Callable[..., App], clock: Clock, smtp_server: SmtpCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock.now = utc(2026, 11, 30, 7)
    first, second = make_app(extra=STAFF), make_app(extra=STAFF)  # two runners, one database
    with first.sessions.begin() as session:
        for n in range(12):  # half due tomorrow (reminders), half last Friday (breach alerts to two leads)
            add_case(session, f"CMP-2026-03{n:02d}", utc(2026, 11, 16, 10), coordinator=PRIYA,
                     respond_due=date(2026, 12, 1) if n % 2 else date(2026, 11, 27))  # fmt: skip
    # Both runners find nothing sent and reach the first INSERT together: only the unique key can decide.
    barrier, real_deadlines = threading.Barrier(2, timeout=30), watch.open_deadlines

    def deadlines_then_wait(session: Session) -> list[watch.Deadline]:
        found = real_deadlines(session)
        barrier.wait()
        return found

    monkeypatch.setattr(watch, "already_claimed", lambda session, keys: set())
    monkeypatch.setattr(watch, "open_deadlines", deadlines_then_wait)

    reports = run_together(lambda: run_watch(first), lambda: run_watch(second))

    # Each notice was tried by both: one inserted its key, the other's INSERT failed on it.
    assert sum(len(r.sent) for r in reports) == 12 and sum(r.already for r in reports) == 12
    with first.sessions() as session:
        assert session.scalar(select(func.count(SentNotice.id))) == 12
        assert session.scalar(select(func.count(Outbox.id))) == 6 + 6 * len(LEADS)
    jobs.flush(first)
    assert len(sent_to(smtp_server, PRIYA)) == 6
    assert [len(sent_to(smtp_server, lead)) for lead in LEADS] == [6, 6]


def run_together(*calls: Callable[[], Any]) -> list[Any]:
    """Run each call in its own thread at the same time; their results, or the first error raised."""
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            results[index] = calls[index]()
        except BaseException as exc:  # handed back to the test below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    if errors:
        raise errors[0]
    return results


def test_a_notice_with_nobody_to_send_it_to_waits_for_the_staff_directory(
    make_app: Callable[..., App], clock: Clock, smtp_server: SmtpCapture
) -> None:
    clock.now = utc(2026, 11, 30, 7)
    without_staff = make_app()
    with without_staff.sessions.begin() as session:
        add_case(session, "CMP-2026-0400", utc(2026, 11, 16, 10), respond_due=date(2026, 11, 27))

    assert run_watch(without_staff).nobody == ("breach:CMP-2026-0400:stage1:response:2026-11-27",)
    with_staff = make_app(extra=STAFF)  # the same database, once [staff] is written
    assert len(run_watch(with_staff).sent) == 1
    jobs.flush(with_staff)
    assert [len(sent_to(smtp_server, lead)) for lead in LEADS] == [1, 1]


def test_an_imported_backlog_draws_no_acknowledgement_breach_but_its_response_date_still_counts(
    app: App, clock: Clock, smtp_server: SmtpCapture
) -> None:
    with app.sessions.begin() as session:  # as `mailbot import` leaves an old complaint: never acknowledged
        add_case(session, "CMP-2026-0210", utc(2026, 11, 2, 10), acknowledge_due=date(2026, 11, 9),
                 respond_due=date(2026, 11, 20), flags=["imported"], coordinator=PRIYA)  # fmt: skip

    report = watch_on(app, clock, date(2026, 11, 30))

    assert report.sent == ("breach:CMP-2026-0210:stage1:response:2026-11-20",)
