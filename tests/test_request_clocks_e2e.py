"""Subject access and FOI requests chased on the law's dates by the daily watch, shown in the digest as due or
overdue, and moved onto or off their statutory clock by a coordinator's ``#kind`` (real Dovecot, SMTP and
databases)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from mailbot.app import App
from mailbot.config.digest import DigestSettings
from mailbot.db.models import Case, CaseEvent, InformationRequest
from mailbot.scheduled import jobs
from mailbot.scheduled.digest.figures import gather
from mailbot.scheduled.digest.letter import render_digest
from mailbot.scheduled.digest.week import digest_week
from mailbot.scheduled.watch import WatchReport, run_watch
from mailbot.testing import Dovecot, SmtpCapture
from tests.conftest import Clock
from tests.mails import mail
from tests.test_coordinators_e2e import COORDINATOR, staff_mail
from tests.test_front_door_e2e import CONFIG, deliver_at, to, words

DPO, FOI_OFFICER, LEAD = "dpo@riverside.example", "foi@riverside.example", "sam.okafor@riverside.example"
# Monday 2 November 2026, 10:00 in London: a SAR received then is due on Wednesday 2 December 2026.
RECEIVED = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
SAR_BODY = "Under the UK GDPR please send me a copy of all the personal data you hold about me.\nMo Patel\n"


@pytest.fixture
def app(make_app: Callable[..., App], clock: Clock) -> App:
    clock.now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    app = make_app(extra=CONFIG)
    jobs.poll_cycle(app)  # first contact
    return app


def watch_on(app: App, clock: Clock, day: date) -> WatchReport:
    clock.now = datetime(day.year, day.month, day.day, 7, tzinfo=UTC)
    report = run_watch(app)
    jobs.flush(app)
    return report


def only_case(app: App) -> Case:
    with app.sessions() as session:
        return session.scalars(select(Case)).one()


def events(app: App, action: str) -> list[str]:
    with app.sessions() as session:
        return list(session.scalars(select(CaseEvent.detail).where(CaseEvent.action == action)))


def subjects(messages: list[EmailMessage]) -> list[str]:
    return [str(m["Subject"]) for m in messages]


def test_a_subject_access_request_is_chased_before_on_and_after_its_statutory_date(
    app: App, clock: Clock, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    sar = mail(sender="mo.patel@example.net", name="Mo Patel", subject="My data", body=SAR_BODY)
    deliver_at(dovecot, sar, RECEIVED)
    jobs.poll_cycle(app)
    ref = only_case(app).ref
    forwarded = len(to(smtp_server, DPO))  # the request itself, sent on when it arrived

    assert watch_on(app, clock, date(2026, 11, 27)).sent == ()  # Friday: 3 working days left
    assert len(watch_on(app, clock, date(2026, 11, 30)).sent) == 1  # Monday: 2 working days left
    assert watch_on(app, clock, date(2026, 11, 30)).already == 1  # the same day again: nothing more
    assert len(watch_on(app, clock, date(2026, 12, 2)).sent) == 1  # the day itself
    assert len(watch_on(app, clock, date(2026, 12, 3)).sent) == 1  # a day late: the leads hear too
    assert watch_on(app, clock, date(2026, 12, 4)).sent == ()  # once

    reminders = to(smtp_server, DPO)[forwarded:]
    assert subjects(reminders) == [
        f"[{ref}] Reminder: subject access request due Wednesday 2 December 2026",
        f"[{ref}] Reminder: subject access request due today",
        f"[{ref}] Overdue: subject access request was due Wednesday 2 December 2026",
    ]
    assert "within 2 working days, by Wednesday 2 December 2026" in words(reminders[0])
    assert "UK GDPR art. 15" in words(reminders[0]) and "Tuesday 2 February 2027" in words(reminders[0])
    assert reminders[0]["Auto-Submitted"] == "auto-generated"
    [overdue] = [m for m in to(smtp_server, LEAD) if "Overdue" in str(m["Subject"])]
    assert "1 day late" in words(overdue)
    assert not [m for m in to(smtp_server, "mo.patel@example.net") if "Reminder" in str(m["Subject"])]
    assert not [m for m in to(smtp_server, COORDINATOR) if "Reminder" in str(m["Subject"])]


def test_a_request_closed_when_answered_is_chased_no_more(
    app: App, clock: Clock, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    deliver_at(dovecot, mail(sender="mo.patel@example.net", subject="My data", body=SAR_BODY), RECEIVED)
    jobs.poll_cycle(app)
    case = only_case(app)
    dovecot.deliver(staff_mail("#close\n", subject=f"RE: [{case.ref}] {case.subject}"))
    jobs.poll_cycle(app)

    assert only_case(app).status == "closed"
    assert watch_on(app, clock, date(2026, 11, 30)).sent == ()
    assert watch_on(app, clock, date(2026, 12, 3)).sent == ()


def test_the_digest_shows_open_requests_as_due_or_overdue(
    app: App, clock: Clock, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    foi = "Under the Freedom of Information Act 2000, how many home care visits were missed in 2025?\n"
    deliver_at(dovecot, mail(sender="mo.patel@example.net", subject="My data", body=SAR_BODY), RECEIVED)
    deliver_at(dovecot, mail(sender="reporter@example-news.co.uk", subject="FOI", body=foi),
               datetime(2026, 11, 23, 10, 0, tzinfo=UTC))  # fmt: skip
    jobs.poll_cycle(app)

    clock.now = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)  # Monday 7 December: the SAR is overdue
    settings = DigestSettings()
    figures = gather(app, digest_week(date(2026, 12, 7), settings, ZoneInfo("Europe/London")), settings)
    standing = [(r.kind, r.due, r.overdue) for r in figures.open_requests]
    # FOIA: day one is Tuesday 24 November; Monday 30 November is St Andrew's Day, a bank holiday in Scotland,
    # and FOIA leaves out every UK nation's: the twentieth working day is Tuesday 22 December.
    assert standing == [("subject_access", date(2026, 12, 2), True), ("foi", date(2026, 12, 22), False)]
    lead = app.config.staff.person_for(LEAD)  # type: ignore[union-attr]
    letter = render_digest(app, figures, lead, settings)
    text = " ".join(letter.text.split())
    assert "REQUESTS ON THE LAW'S CLOCK (2)" in text
    assert "subject access, OVERDUE: was due" in text and "FOI, due" in text and "(11 working days)" in text
    assert "overdue: was due" in (letter.html or "")


def test_kind_subject_access_takes_a_complaint_off_the_stages_and_kind_complaint_puts_it_back(
    app: App, clock: Clock, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    body = "I want copies of the notes your staff wrote about my visits to Dad, they were wrong about me.\n"
    deliver_at(dovecot, mail(sender="mo.patel@example.net", subject="Notes", body=body), RECEIVED)
    jobs.poll_cycle(app)
    complaint = only_case(app)
    assert (complaint.kind, complaint.status) == ("complaint", "open")
    stage, acknowledge_due, response_due = complaint.stage, complaint.acknowledge_due, complaint.response_due
    assert response_due is not None

    clock.now = datetime(2026, 11, 4, 9, 0, tzinfo=UTC)
    dovecot.deliver(staff_mail("#kind subject_access\n", subject=f"RE: [{complaint.ref}] Notes"))
    jobs.poll_cycle(app)

    case = only_case(app)
    with app.sessions() as session:
        request = session.scalars(select(InformationRequest)).one()
    assert (case.kind, case.status, case.response_due) == ("subject_access", "request", None)
    assert (request.received_on, request.due, request.forwarded_to) == (
        date(2026, 11, 2),
        date(2026, 12, 2),
        DPO,
    )
    assert subjects(to(smtp_server, DPO)) == [
        f"[{case.ref}] Subject access request received: respond by Wednesday 2 December 2026"
    ]
    assert events(app, "statutory clock") == [
        "UK GDPR art. 15 (one month): due 2026-12-02 (extendable to 2027-02-02)"
    ]
    assert "off the complaints stages, due 2026-12-02" in words(to(smtp_server, COORDINATOR)[-1])
    assert watch_on(app, clock, date(2026, 11, 30)).sent  # now chased on the law's date

    clock.now = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    dovecot.deliver(staff_mail("#kind complaint\n", subject=f"RE: [{case.ref}] Notes"))
    jobs.poll_cycle(app)

    back = only_case(app)
    with app.sessions() as session:
        assert session.scalars(select(InformationRequest)).all() == []
    assert (back.kind, back.status, back.stage) == ("complaint", "open", stage)
    assert (back.acknowledge_due, back.response_due) == (
        acknowledge_due,
        response_due,
    )  # counted from receipt
    assert len(events(app, "complaints clock")) == 1


def request_row(app: App) -> InformationRequest:
    with app.sessions() as session:
        return session.scalars(select(InformationRequest)).one()


def open_sar(app: App, dovecot: Dovecot) -> Case:
    sar = mail(sender="mo.patel@example.net", name="Mo Patel", subject="My data", body=SAR_BODY)
    deliver_at(dovecot, sar, RECEIVED)
    jobs.poll_cycle(app)
    return only_case(app)


def coordinator_writes(app: App, dovecot: Dovecot, case: Case, body: str) -> None:
    dovecot.deliver(staff_mail(body, subject=f"RE: [{case.ref}] {case.subject}"))
    jobs.poll_cycle(app)


def test_extend_on_a_subject_access_request_moves_its_date_up_to_two_months_and_tells_the_requester(
    app: App, clock: Clock, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    case = open_sar(app, dovecot)
    clock.now = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    reason = "The records are held by three homes and a former provider."
    coordinator_writes(app, dovecot, case, f"#extend {reason}\n")

    assert request_row(app).due == date(2027, 2, 2)  # received 2 November: three months on, a Tuesday
    [letter] = [m for m in to(smtp_server, "mo.patel@example.net") if "More time" in str(m["Subject"])]
    assert str(letter["Subject"]) == f"[{case.ref}] More time to answer your subject access request"
    text = words(letter)
    assert "was due to be answered by Wednesday 2 December 2026" in text
    assert "will now respond by Tuesday 2 February 2027" in text
    assert "held by three homes and a former provider" in text
    assert "Information Commissioner" in text
    assert events(app, "request extended") == [
        "from 2026-12-02 to 2027-02-02: The records are held by three homes and a former provider."
    ]
    assert "Done" in str(to(smtp_server, COORDINATOR)[-1]["Subject"])
    forwarded = len(to(smtp_server, DPO))
    assert watch_on(app, clock, date(2026, 11, 30)).sent == ()  # the old date is no longer chased
    assert watch_on(app, clock, date(2027, 1, 29)).sent != ()  # the new one is
    assert "due Tuesday 2 February 2027" in str(to(smtp_server, DPO)[forwarded]["Subject"])


def test_extend_by_days_on_a_subject_access_request_never_passes_the_latest_date_the_law_allows(
    app: App, clock: Clock, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    case = open_sar(app, dovecot)
    coordinator_writes(app, dovecot, case, "#extend 14 Several requests from the same family.\n")
    assert request_row(app).due == date(2026, 12, 16)

    coordinator_writes(app, dovecot, case, "#extend 200 Still waiting for archived files.\n")
    assert request_row(app).due == date(2027, 2, 2)  # capped at three months from receipt

    coordinator_writes(app, dovecot, case, "#extend 5 More again.\n")
    assert request_row(app).due == date(2027, 2, 2)
    refused = to(smtp_server, COORDINATOR)[-1]
    assert "Not done" in str(refused["Subject"])
    assert "already due 2027-02-02, the latest the law allows" in words(refused)


def test_extend_is_refused_on_an_foi_request_and_after_the_first_month(
    app: App, clock: Clock, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    foi = "Under the Freedom of Information Act 2000, how many home care visits were missed in 2025?\n"
    deliver_at(dovecot, mail(sender="reporter@example-news.co.uk", subject="FOI", body=foi), RECEIVED)
    jobs.poll_cycle(app)
    case = only_case(app)
    due = request_row(app).due

    coordinator_writes(app, dovecot, case, "#extend 10 It is a big request.\n")

    assert request_row(app).due == due
    refused = to(smtp_server, COORDINATOR)[-1]
    assert "Not done" in str(refused["Subject"]) and "FOIA 2000 s.10(3)" in words(refused)
    assert not [m for m in to(smtp_server, "reporter@example-news.co.uk") if "More time" in str(m["Subject"])]


def test_a_subject_access_request_past_its_date_can_no_longer_be_extended(
    app: App, clock: Clock, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    case = open_sar(app, dovecot)
    clock.now = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)  # the day after it was due
    coordinator_writes(app, dovecot, case, "#extend We had not started.\n")

    assert request_row(app).due == date(2026, 12, 2)
    assert "within the first month (UK GDPR art. 12(3))" in words(to(smtp_server, COORDINATOR)[-1])
