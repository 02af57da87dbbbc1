"""The front door on real servers (Dovecot, aiosmtpd, SQLite and PostgreSQL): spam held and released,
newsletters and robots left alone, a person behind a no-reply address still heard, subject access and FOI
requests on their own clocks, and an unsure kind asked about."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from mailbot import cli
from mailbot.app import App
from mailbot.db.models import Case, InboundMessage, InformationRequest, KindExample, StageRecord
from mailbot.scheduled import jobs
from mailbot.testing import Dovecot, SmtpCapture
from tests.conftest import ENVIRON, Clock
from tests.mails import mail
from tests.test_coordinators_e2e import COORDINATOR, staff_mail
from tests.test_routing_e2e import MONDAY, STAFF, deliver_at

OFFICERS = """
subject_access = "dpo@riverside.example"
foi = "foi@riverside.example"
"""
CONFIG = STAFF + OFFICERS
SPAM_HEADERS = (
    b"X-Spam-Checker-Version: SpamAssassin 4.0.0 (2022-12-13) on mx.riverside.example\r\n"
    b"X-Spam-Flag: YES\r\n"
    b"X-Spam-Status: Yes, score=12.3 required=5.0 tests=BAYES_99,URIBL_BLACK version=4.0.0\r\n"
)


@pytest.fixture
def app(make_app: Callable[..., App], clock: Clock) -> App:
    clock.now = MONDAY
    app = make_app(extra=CONFIG)
    jobs.poll_cycle(app)  # first contact
    return app


def to(smtp: SmtpCapture, address: str) -> list[EmailMessage]:
    return [m.message for m in smtp.messages if address in m.rcpt_tos]


def words(message: EmailMessage) -> str:
    return " ".join(message.get_body(("plain",)).get_content().split())


def cases(app: App) -> list[Case]:
    with app.sessions() as session:
        return list(session.scalars(select(Case).order_by(Case.id)))


def run_cli(app: App, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    for name, value in ENVIRON.items():
        monkeypatch.setenv(name, value)
    assert cli.main(["--config", str(app.config.path), *args]) == 0
    return capsys.readouterr().out


def test_spam_our_server_flagged_is_held_unanswered_and_a_person_can_release_it(
    app: App,
    dovecot: Dovecot,
    smtp_server: SmtpCapture,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    clock: Clock,
) -> None:
    body = "Please find my complaint: my father's carers did not come on Sunday and nobody rang us.\n"
    # Received on the fixed Monday: the reference's year is the year of receipt, whatever day the suite runs.
    deliver_at(
        dovecot,
        SPAM_HEADERS + mail(sender="sender@example.net", subject="Carers on Sunday", body=body),
        MONDAY,
    )
    jobs.poll_cycle(app)

    assert to(smtp_server, "sender@example.net") == []
    assert cases(app) == []
    assert len(dovecot.messages()) == 1  # never deleted
    listed = run_cli(app, monkeypatch, capsys, "spam", "list")
    [line] = listed.splitlines()
    held_id = line.split("\t")[0]
    assert "sender@example.net\tCarers on Sunday\tspam-verdict" in line

    released = run_cli(app, monkeypatch, capsys, "spam", "release", held_id)

    assert "opened CMP-2026-0001 (complaint)" in released
    # The command ran on the real clock, as a person runs it; the bot delivers on its own clock, moved to
    # the present so that what the command queued is due (the test's fixed Monday may be past or to come).
    clock.now = max(clock.now, datetime.now(UTC))
    jobs.flush(app)
    [ack] = to(smtp_server, "sender@example.net")
    assert ack["Subject"].startswith("[CMP-2026-0001]")
    assert run_cli(app, monkeypatch, capsys, "spam", "list") == "none\n"


def test_a_spam_verdict_the_sender_wrote_cannot_hide_a_complaint(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    raw = mail(sender="jean.rowe@example.net", subject="Missed visits",
               headers={"X-Spam-Flag": "YES", "X-Spam-Status": "Yes, score=99.0 required=5.0"})  # fmt: skip
    dovecot.deliver(raw)
    jobs.poll_cycle(app)

    [case] = cases(app)
    assert case.kind == "complaint"
    assert len(to(smtp_server, "jean.rowe@example.net")) == 1


def test_newsletters_and_robots_without_list_headers_get_nothing(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    newsletter = mail(
        sender="news@caresector.example.com", name="Care Sector Weekly", subject="This week in care",
        headers={"X-MC-User": "4a1b2c3d4e", "Feedback-ID": "77e1:mailchimp"},
        body="View this email in your browser\nThis week: pay rates.\nUnsubscribe | Update preferences\n",
    )  # fmt: skip
    robot = mail(
        sender="no-reply@rota.example.com", name="", subject="Your rota for next week has been published",
        body="Log in to the app to view your shifts.\nThis is an automated message, please do not reply.\n",
    )  # fmt: skip
    dovecot.deliver(newsletter)
    dovecot.deliver(robot)
    jobs.poll_cycle(app)

    assert cases(app) == []
    assert smtp_server.messages == []
    with app.sessions() as session:
        assert list(session.scalars(select(InboundMessage.kind).order_by(InboundMessage.id))) == [
            "bulk",
            "bulk",
        ]


def test_mass_mail_known_only_by_its_marks_gets_nothing(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    # No list header, no sending platform's fields: a tracking link and "why you got this"; a report's rows
    # from a robot's address.
    invitation = mail(
        sender="events@careforum.example.org", name="Care Forum", subject="Spring conference: book now",
        body="Early-bird places for our spring conference.\n"
        "Book: https://click.careforum.example.org/ls/click?upn=Zk2\n"
        "You're getting this because you came last year.\n",
    )  # fmt: skip
    report = mail(
        sender="noreply@nursecall.example.com", name="Nurse Call", subject="Weekly summary",
        body="Calls: 1,102\nAverage response: 2m 10s\nLongest: 14m\nRooms over 10 minutes: 3\n",
    )  # fmt: skip
    dovecot.deliver(invitation)
    dovecot.deliver(report)
    jobs.poll_cycle(app)

    assert cases(app) == []
    assert smtp_server.messages == []


def test_one_mark_of_mass_mail_on_a_persons_mail_opens_a_case_without_an_acknowledgement(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    # A web form sent through a sending platform: borderline, so the case opens, nothing automatic goes
    # to the sender, and the coordinator is told why.
    body = "Name: Rob Tate\nMessage: My mother's carers keep arriving an hour late and I want it sorted.\n"
    raw = mail(sender="forms@sitehost.example.com", name="Website", subject="Contact form", body=body,
               headers={"X-SG-EID": "u001.abc"})  # fmt: skip
    dovecot.deliver(raw)
    jobs.poll_cycle(app)

    [case] = cases(app)
    assert case.kind == "complaint" and "bulk_marks" in case.flags
    assert to(smtp_server, "forms@sitehost.example.com") == []
    [told] = to(smtp_server, COORDINATOR)
    assert "No acknowledgement was sent: it carries a mark of mass mail" in words(told)


def test_a_person_writing_from_a_no_reply_address_opens_a_case_and_the_coordinator_is_told(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    body = (
        "I visit my aunt at Ashgrove most evenings. Twice I have found the night staff asleep in the lounge "
        "while call bells were going. I'm not giving my details.\n"
    )
    dovecot.deliver(
        mail(sender="noreply.anon4471@protonmail.example.com", name="", subject="nights", body=body)
    )
    jobs.poll_cycle(app)

    [case] = cases(app)
    assert case.kind == "complaint"
    assert {"anonymous", "no_reply_address"} <= set(case.flags)
    assert to(smtp_server, "noreply.anon4471@protonmail.example.com") == []
    [told] = to(smtp_server, COORDINATOR)
    assert (
        "No acknowledgement was sent: the writer used an address that takes no replies and gave no name"
        in (words(told))
    )


def test_a_subject_access_request_runs_on_its_own_clock_and_goes_to_the_data_protection_officer(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    body = (
        "Under Article 15 of the UK GDPR I request a copy of all personal data you hold about me, including "
        "my care plans and any complaint I made last year.\nJoan Mercer\n"
    )
    raw = mail(sender="joan.mercer@example.net", name="Joan Mercer", subject="My data", body=body)
    deliver_at(dovecot, raw, datetime(2025, 10, 31, 10, 0, tzinfo=UTC))  # Friday 31 October 2025
    jobs.poll_cycle(app)

    [case] = cases(app)
    with app.sessions() as session:
        request = session.scalars(select(InformationRequest)).one()
        stage_records = session.scalars(select(StageRecord)).all()
    assert (case.kind, case.status, case.stage) == ("subject_access", "request", "recorded")
    assert stage_records == []  # never a complaints stage
    # One calendar month from Friday 31 October 2025: November has no 31st, so its last day, Sunday 30
    # November, carried to the next working day, Monday 1 December. Three months: Saturday 31 January 2026,
    # carried to Monday 2 February.
    assert (request.due, request.latest_due) == (date(2025, 12, 1), date(2026, 2, 2))
    [forwarded] = to(smtp_server, "dpo@riverside.example")
    assert (
        forwarded["Subject"]
        == f"[{case.ref}] Subject access request received: respond by Monday 1 December 2025"
    )
    [ack] = to(smtp_server, "joan.mercer@example.net")
    assert "The law gives us until Monday 1 December 2025 to respond (UK GDPR art. 15 (one month))" in words(
        ack
    )


def test_a_freedom_of_information_request_in_scotland_counts_twenty_scottish_working_days(
    make_app: Callable[..., App], clock: Clock, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    clock.now = MONDAY
    app = make_app(extra=CONFIG, policy="spso-model")
    jobs.poll_cycle(app)
    body = "Under the Freedom of Information (Scotland) Act 2002, how many care visits were missed?\n"
    raw = mail(sender="a.mackay@example.scot", name="Alasdair Mackay", subject="FOISA", body=body)
    deliver_at(dovecot, raw, datetime(2025, 12, 15, 10, 0, tzinfo=UTC))  # Monday 15 December 2025
    jobs.poll_cycle(app)

    [case] = cases(app)
    with app.sessions() as session:
        request = session.scalars(select(InformationRequest)).one()
    # Day one is Tuesday 16 December; 25 and 26 December and Scotland's 1 and 2 January do not count: the
    # twentieth working day is Friday 16 January 2026.
    assert (case.kind, request.law) == ("foi", "FOISA 2002 s.10 (20 working days)")
    assert request.due == date(2026, 1, 16)
    assert len(to(smtp_server, "foi@riverside.example")) == 1


def test_an_unsure_kind_is_acknowledged_in_neutral_words_runs_on_the_complaint_clock_and_is_asked_about(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    body = "The lady who comes on a Tuesday. Mum mentioned her again this week.\n"
    dovecot.deliver(mail(sender="sam.ellis@example.net", name="Sam Ellis", subject="Tuesday", body=body))
    jobs.poll_cycle(app)

    [case] = cases(app)
    assert case.kind == "complaint" and "unsure_kind" in case.flags
    assert case.response_due is not None  # the complaint clock runs
    [ack] = to(smtp_server, "sam.ellis@example.net")
    assert "We have received your message" in ack["Subject"]
    assert "received your complaint" not in words(ack)
    [told] = to(smtp_server, COORDINATOR)
    assert "The kind is a guess" in words(told) and "#kind compliment" in words(told)

    dovecot.deliver(staff_mail("#kind concern\n", subject=f"RE: [{case.ref}] {case.subject}"))
    jobs.poll_cycle(app)

    [case] = cases(app)
    assert case.kind == "concern" and "unsure_kind" not in case.flags
    with app.sessions() as session:
        [example] = session.scalars(select(KindExample)).all()
    assert (example.kind, example.case_id) == ("concern", case.id)
    assert "The lady who comes on a Tuesday" in example.text


def test_the_digest_counts_spam_held_and_lists_kinds_to_confirm(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    from zoneinfo import ZoneInfo

    from mailbot.config.digest import DigestSettings
    from mailbot.scheduled.digest.figures import gather
    from mailbot.scheduled.digest.week import digest_week

    # Received on the fixed Monday, in the week the digest covers, whenever the suite runs.
    deliver_at(dovecot, SPAM_HEADERS + mail(sender="offers@example.com", subject="Cheap loans"), MONDAY)
    tuesdays = mail(sender="sam.ellis@example.net", subject="Tuesday", body="The lady on Tuesdays.\n")
    deliver_at(dovecot, tuesdays, MONDAY)
    jobs.poll_cycle(app)

    settings = DigestSettings()
    week = digest_week(date(2026, 12, 7), settings, ZoneInfo("Europe/London"))  # covers 30 Nov to 6 Dec
    figures = gather(app, week, settings)
    assert figures.spam_held == 1
    assert [c.ref for c in figures.unconfirmed] == [cases(app)[0].ref]


SALES_PITCH = """Hi there,

I'm Dan from BrightLeads, a B2B lead generation agency. We help care providers like yours fill beds faster
with our done-for-you marketing platform. Our clients typically see 3x more enquiries in 90 days.

Could I book 15 minutes in your calendar next week for a quick demo? Our rates start from just 299 per month.

Best regards,
Dan Carter, Business Development Manager, BrightLeads Ltd
"""


def test_mail_judged_out_of_scope_opens_no_case_and_the_digest_lists_it_for_a_person_to_check(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    from zoneinfo import ZoneInfo

    from mailbot.config.digest import DigestSettings
    from mailbot.scheduled.digest.figures import gather
    from mailbot.scheduled.digest.letter import render_digest
    from mailbot.scheduled.digest.week import digest_week

    # Received on the fixed Monday, in the week the digest covers, whenever the suite runs.
    deliver_at(
        dovecot,
        mail(sender="dan@brightleads.example.com", subject="Quick question", body=SALES_PITCH),
        MONDAY,
    )
    jobs.poll_cycle(app)

    assert cases(app) == [] and to(smtp_server, "dan@brightleads.example.com") == []
    with app.sessions() as session:
        [inbound] = session.scalars(select(InboundMessage)).all()
    assert inbound.kind == "out_of_scope"
    settings = DigestSettings()
    figures = gather(app, digest_week(date(2026, 12, 7), settings, ZoneInfo("Europe/London")), settings)
    sender = "dan@brightleads.example.com"
    assert [(m.inbound_id, m.sender) for m in figures.left_out] == [(inbound.id, sender)]
    letter = render_digest(app, figures, None, settings)
    text = " ".join(letter.text.split())
    assert "Left without a case: 1" in text and "Please check none is a complaint" in text
    assert f"message {inbound.id}," in text and f"message {inbound.id}," in (letter.html or "")
