"""Every letter exactly once on real servers, when the SMTP server is slow, says nothing, refuses, or a
delivery run dies: a letter whose fate is unknown is never sent again on a guess; it is settled from
evidence or put in front of a person, who settles many at once."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from mailbot import cli
from mailbot.app import App
from mailbot.db.models import Case, CaseEvent, Outbox
from mailbot.scheduled import jobs
from mailbot.scheduled.digest.figures import gather
from mailbot.scheduled.digest.letter import render_digest
from mailbot.scheduled.digest.week import digest_settings, digest_week
from mailbot.testing import Dovecot, SmtpCapture
from tests.conftest import ENVIRON
from tests.mails import mail
from tests.test_routing_e2e import STAFF

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
QUICK = "timeout_seconds = 2\n"  # connecting and each command: 2 s
NO_PATIENCE = "timeout_seconds = 3\nfinal_reply_timeout_seconds = 1\n"


def first_contact(app: App) -> None:
    assert jobs.poll_cycle(app).intake[0].baseline == 0


def the_row(app: App, purpose: str = "acknowledgement") -> Outbox:
    with app.sessions() as session:
        return session.scalars(select(Outbox).where(Outbox.purpose == purpose)).one()


def the_case(app: App) -> Case:
    with app.sessions() as session:
        return session.scalars(select(Case)).one()


def to(smtp: SmtpCapture, address: str) -> list[str]:
    """The subjects of what the server took for one address."""
    return [m.message["Subject"] for m in smtp.messages if address in m.rcpt_tos]


def sent_copies(dovecot: Dovecot, message_id: str) -> int:
    return sum(f"<{message_id}>".encode() in raw for _, _, raw in dovecot.messages(folder="Sent"))


def run_cli(app: App, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    os.environ.update(ENVIRON)
    status = cli.main(["--config", str(app.config.path), *args])
    return status, capsys.readouterr().out


def digest(app: App) -> tuple[str, str]:
    """The subject and text of a digest whose week ends today."""
    settings = digest_settings(app.config)
    zone = ZoneInfo(app.config.timezone)
    week = digest_week(app.clock().astimezone(zone).date() + timedelta(days=1), settings, zone)
    letter = render_digest(app, gather(app, week, settings), None, settings)
    return letter.subject, letter.text


def wait_for(condition: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


# --- a slow or silent server -----------------------------------------------------------------------------


@SQLITE_ONLY
def test_a_final_reply_slower_than_the_command_timeout_is_waited_for_and_sent_once(
    make_app: Callable[..., App], dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    app = make_app(smtp_extra=QUICK)
    first_contact(app)
    smtp_server.final_reply_delay = 4  # the server takes the letter, then answers after 4 s
    dovecot.deliver(mail(sender="slow@example.net"))

    report = jobs.poll_cycle(app)
    jobs.poll_cycle(app)

    assert report.delivery.sent == 1 and report.delivery.held == 0
    assert len(to(smtp_server, "slow@example.net")) == 1
    row = the_row(app)
    assert row.state == "sent" and row.smtp_response == "250 2.0.0 Ok: queued as 00000001"
    assert the_case(app).acknowledged_at is not None
    assert sent_copies(dovecot, row.message_id) == 1


def test_no_final_reply_holds_the_letter_and_a_person_settles_it_delivered(
    make_app: Callable[..., App],
    dovecot: Dovecot,
    smtp_server: SmtpCapture,
    clock,  # type: ignore[no-untyped-def]
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = make_app(smtp_extra=NO_PATIENCE)
    first_contact(app)
    smtp_server.final_reply_delay = 2  # taken at once, answered after we stopped waiting
    dovecot.deliver(mail(sender="unanswered@example.net"))

    report = jobs.poll_cycle(app)
    time.sleep(1.5)  # let the server finish its answer to nobody
    clock.now += timedelta(hours=2)
    jobs.poll_cycle(app)

    assert report.delivery.held == 1
    assert len(to(smtp_server, "unanswered@example.net")) == 1  # never sent again on a guess
    row = the_row(app)
    assert row.state == "held" and the_case(app).acknowledged_at is None
    status, listed = run_cli(app, "outbox", "list", "--held", capsys=capsys)
    assert status == 0 and listed.startswith(f"{row.id}\theld\tacknowledgement\tunanswered@example.net")
    assert f"`mailbot outbox resolve {row.id} --delivered`" in listed
    subject, text = digest(app)
    assert subject.endswith(", 1 letter not delivered or in doubt")
    assert "held since" in text and f"`mailbot outbox release {row.id}`" in text

    assert run_cli(app, "outbox", "resolve", "--held", "--delivered", capsys=capsys)[0] == 0
    jobs.poll_cycle(app)

    row = the_row(app)
    case = the_case(app)
    assert row.state == "sent" and "confirmed it arrived" in (row.smtp_response or "")
    assert case.acknowledged_at == row.handed_over_at  # the day it went, not the day a person said so
    assert case.response_due is not None
    assert len(to(smtp_server, "unanswered@example.net")) == 1
    assert sent_copies(dovecot, row.message_id) == 1


def test_a_held_letter_with_a_copy_in_sent_is_settled_as_delivered_and_not_filed_again(
    make_app: Callable[..., App], dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    app = make_app(smtp_extra=NO_PATIENCE)
    first_contact(app)
    smtp_server.final_reply_delay = 2
    smtp_server.file_copy = lambda raw: dovecot.deliver(raw, folder="Sent")  # as Microsoft 365 does
    dovecot.deliver(mail(sender="filed@example.net"))

    report = jobs.poll_cycle(app)

    assert report.delivery.held == 1 and report.delivery.settled == 1
    row = the_row(app)
    assert row.state == "sent" and "a copy is in the Sent folder" in (row.smtp_response or "")
    assert the_case(app).acknowledged_at is not None
    assert sent_copies(dovecot, row.message_id) == 1  # the server's copy; none appended by us
    assert len(to(smtp_server, "filed@example.net")) == 1


@SQLITE_ONLY
def test_a_reply_quoting_a_held_acknowledgement_settles_it_as_delivered(
    make_app: Callable[..., App], dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    app = make_app(smtp_extra=NO_PATIENCE)
    first_contact(app)
    smtp_server.final_reply_delay = 2
    dovecot.deliver(mail(sender="jane.doe@example.net", message_id="<first@example.net>"))
    jobs.poll_cycle(app)
    assert the_row(app).state == "held"
    wait_for(lambda: len(smtp_server.messages) == 1)
    ack = smtp_server.messages[0].message["Message-ID"]

    dovecot.deliver(
        mail(
            sender="jane.doe@example.net", subject="Re: your letter", in_reply_to=ack,
            references=f"<first@example.net> {ack}", body="Thank you for your letter.\n",
        )
    )  # fmt: skip
    report = jobs.poll_cycle(app)

    assert report.delivery.settled == 1
    row = the_row(app)
    assert row.state == "sent" and "refers to it" in (row.smtp_response or "")
    assert the_case(app).acknowledged_at is not None
    assert len(to(smtp_server, "jane.doe@example.net")) == 1


# --- a delivery run that died ----------------------------------------------------------------------------


def dead_claim() -> str:
    """The claim a run on this machine left when it was killed: its pid no longer runs."""
    probe = subprocess.Popen(["true"])
    probe.wait()
    return f"{socket.gethostname()}:{probe.pid}:12345:deadbeef"


def test_a_run_killed_before_the_final_dot_is_sent_again_and_one_killed_after_it_is_held(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture, clock, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    first_contact(app)
    smtp_server.fail_next(2, 451)  # keep both acknowledgements in the outbox
    for sender in ("before@example.net", "after@example.net"):
        dovecot.deliver(mail(sender=sender))
    jobs.poll_cycle(app)
    with app.sessions.begin() as session:  # as two runs killed mid-send would leave them
        rows = {r.recipient: r for r in session.scalars(select(Outbox))}
        rows["before@example.net"].state = "sending"
        rows["before@example.net"].claimed_by = dead_claim()
        rows["before@example.net"].handed_over_at = None
        rows["after@example.net"].state = "sending"
        rows["after@example.net"].claimed_by = dead_claim()
        rows["after@example.net"].handed_over_at = clock.now

    report = jobs.poll_cycle(app)  # no waiting: this machine sees the runs are gone

    assert report.delivery.held == 1
    assert [m.rcpt_tos for m in smtp_server.messages] == [("before@example.net",)]
    listed = run_cli(app, "outbox", "list", "--held", capsys=capsys)[1]
    assert "after@example.net" in listed and "may have been delivered" in listed

    assert run_cli(app, "outbox", "release", "--held", capsys=capsys)[0] == 0  # a person knows it did not
    clock.now = datetime.now(UTC)  # the command ran on the real clock; flush as of then
    jobs.poll_cycle(app)
    assert sorted(m.rcpt_tos for m in smtp_server.messages) == [
        ("after@example.net",),
        ("before@example.net",),
    ]


def test_a_run_elsewhere_is_waited_for_before_its_letter_is_held(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture, clock
) -> None:  # type: ignore[no-untyped-def]
    first_contact(app)
    smtp_server.fail_next(1, 451)
    dovecot.deliver(mail())
    jobs.poll_cycle(app)
    with app.sessions.begin() as session:
        row = session.scalars(select(Outbox)).one()
        row.state, row.claimed_by, row.handed_over_at = "sending", "other-host:42:1:cafe", clock.now

    clock.now += timedelta(minutes=5)  # it may still be waiting for the server's answer
    assert jobs.poll_cycle(app).delivery.held == 0
    clock.now += timedelta(minutes=10)  # past its ten minutes for the final reply
    assert jobs.poll_cycle(app).delivery.held == 1
    assert smtp_server.messages == []


# --- refused for good -------------------------------------------------------------------------------------


@pytest.fixture
def staffed(make_app: Callable[..., App]) -> App:
    app = make_app(extra=STAFF)
    first_contact(app)
    return app


def test_a_refused_acknowledgement_tells_the_coordinator_at_once_and_shows_on_the_case(
    staffed: App, dovecot: Dovecot, smtp_server: SmtpCapture, capsys: pytest.CaptureFixture[str]
) -> None:
    smtp_server.reject_recipient("gone@example.net", 550)
    dovecot.deliver(mail(sender="gone@example.net", name="Gone Away"))

    report = jobs.poll_cycle(staffed)

    case = the_case(staffed)
    assert report.delivery.failed == 1
    assert case.coordinator == "priya.shah@riverside.example"
    assert f"[{case.ref}] Our acknowledgement could not be delivered to gone@example.net" in to(
        smtp_server, "priya.shah@riverside.example"
    )
    assert "undeliverable" in case.flags
    shown = run_cli(staffed, "cases", "show", case.ref, capsys=capsys)[1]
    assert "acknowledgement not delivered to gone@example.net: 550 5.1.1 No such user" in shown
    jobs.poll_cycle(staffed)
    assert len(to(smtp_server, "priya.shah@riverside.example")) == 2  # the new case, and this: once
    text = digest(staffed)[1]
    assert "LETTERS NOT DELIVERED OR IN DOUBT (1)" in text
    assert f"{case.ref}" in text and "not delivered" in text and "(550)" in text
    assert "gone@example.net" not in text  # addresses stay in `mailbot outbox list`


@SQLITE_ONLY
def test_a_refusal_on_a_case_without_a_coordinator_goes_to_the_leads(
    staffed: App, dovecot: Dovecot, smtp_server: SmtpCapture, clock
) -> None:  # type: ignore[no-untyped-def]
    smtp_server.reject_recipient("gone@example.net", 450)  # deferred at first
    dovecot.deliver(mail(sender="gone@example.net"))
    jobs.poll_cycle(staffed)
    with staffed.sessions.begin() as session:
        session.scalars(select(Case)).one().coordinator = None
    smtp_server.reset_failures()
    smtp_server.reject_recipient("gone@example.net", 550)
    clock.now += timedelta(minutes=2)

    jobs.poll_cycle(staffed)

    [alert] = [s for s in to(smtp_server, "sam.okafor@riverside.example") if "could not be delivered" in s]
    with staffed.sessions() as session:
        events = [e.action for e in session.scalars(select(CaseEvent))]
    assert "acknowledgement not delivered" in events and alert.endswith("to gone@example.net")


# --- no mailbox, no database ------------------------------------------------------------------------------


@SQLITE_ONLY
def test_processing_and_delivery_go_on_while_the_mailbox_is_unreachable(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    first_contact(app)
    for i in range(2):
        dovecot.deliver(mail(sender=f"waiting{i}@example.net"))
    jobs.fetch_mailbox(app, app.config.mailboxes[0], jobs.CycleReport())  # stored, then IMAP goes away
    dovecot.stop()

    report = jobs.poll_cycle(app)

    assert report.processing.processed == 2 and report.delivery.sent == 2
    assert sorted(m.rcpt_tos for m in smtp_server.messages) == [
        ("waiting0@example.net",),
        ("waiting1@example.net",),
    ]
    assert len(report.errors) == 2 and all("complaints" in e for e in report.errors)  # fetch and tidy


@SQLITE_ONLY
def test_a_locked_database_delays_a_message_but_never_shunts_it(
    make_app: Callable[..., App], dovecot: Dovecot, smtp_server: SmtpCapture, database_url: str
) -> None:
    import sqlite3
    import threading

    from mailbot.app import build_app
    from mailbot.config.settings import load_config
    from mailbot.pipeline import process_pending

    app = make_app()
    first_contact(app)
    dovecot.deliver(mail(sender="patient@example.net"))
    jobs.fetch_mailbox(app, app.config.mailboxes[0], jobs.CycleReport())
    config = Path(app.config.path)
    config.write_text(config.read_text().replace('mailbot.db"', 'mailbot.db?timeout=1"'))
    # This app gives up on a lock after 1 s, not 30.
    impatient = build_app(load_config(config, ENVIRON), clock=app.clock)
    holder = sqlite3.connect(database_url.removeprefix("sqlite:///"), check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # another process writing for 3 seconds
    threading.Timer(3, holder.rollback).start()
    try:
        report = process_pending(impatient)
    finally:
        impatient.close()

    assert (report.processed, report.shunted, report.error) == (1, 0, None)
    jobs.poll_cycle(app)
    assert [m.rcpt_tos for m in smtp_server.messages] == [("patient@example.net",)]
    holder.close()
