"""Staff actions refuse what makes no sense for the case, show with ``--dry-run`` what they would send, and
say what they did; the command line and ``#`` commands by mail share one rule. On real servers (issue 16: a
compliment escalated from the command line sent "We have received your complaint" to the person who praised
a carer)."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage

import pytest
from sqlalchemy import func, select

from mailbot import cli
from mailbot.app import App
from mailbot.db.models import Case, Outbox
from mailbot.scheduled import jobs
from mailbot.testing import Dovecot, SmtpCapture
from tests.conftest import ENVIRON, ROOT
from tests.mails import mail
from tests.test_coordinators_e2e import COORDINATOR, staff_mail
from tests.test_routing_e2e import STAFF

Run = Callable[..., tuple[int, str, str]]
PRAISER = "tom.baker@example.org.uk"
COMPLAINANT = "jane.doe@example.net"


@pytest.fixture
def app(make_app: Callable[..., App], dovecot: Dovecot) -> App:
    """A compliment and a complaint, each opened and acknowledged, and the outbox flushed."""
    app = make_app(extra=STAFF)
    jobs.poll_cycle(app)  # first contact
    dovecot.deliver((ROOT / "examples" / "02-thank-you.eml").read_bytes())
    dovecot.deliver(mail(sender=COMPLAINANT))
    jobs.poll_cycle(app)
    return app


@pytest.fixture
def run_cli(app: App, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Run:
    for name, value in ENVIRON.items():
        monkeypatch.setenv(name, value)

    def invoke(*args: str) -> tuple[int, str, str]:
        status = cli.main(["--config", str(app.config.path), *args])
        out, err = capsys.readouterr()
        return status, out, err

    return invoke


def case_of(app: App, address: str) -> Case:
    with app.sessions() as session:
        return session.scalars(select(Case).where(Case.complainant_address == address)).one()


def outbox_rows(app: App) -> int:
    with app.sessions() as session:
        return session.scalar(select(func.count(Outbox.id))) or 0


def mail_to(smtp: SmtpCapture, address: str) -> list[EmailMessage]:
    return [m.message for m in smtp.messages if address in m.rcpt_tos]


def test_escalating_a_compliment_is_refused_naming_the_case_and_queues_nothing(
    app: App, run_cli: Run, smtp_server: SmtpCapture
) -> None:
    thanks = case_of(app, PRAISER)
    assert thanks.kind == "compliment"
    letters_before, mail_before = outbox_rows(app), len(mail_to(smtp_server, PRAISER))

    status, out, err = run_cli("cases", "escalate", thanks.ref)

    assert status == 2 and out == ""
    assert err.startswith(f"mailbot: {thanks.ref} is a compliment, recorded without a complaints stage; ")
    assert "#kind complaint" in err
    after = case_of(app, PRAISER)
    assert (after.kind, after.status, after.stage) == (thanks.kind, thanks.status, thanks.stage)
    assert outbox_rows(app) == letters_before
    jobs.poll_cycle(app)
    assert len(mail_to(smtp_server, PRAISER)) == mail_before


def test_a_closed_case_is_not_closed_again_nor_escalated(app: App, run_cli: Run) -> None:
    ref = case_of(app, COMPLAINANT).ref
    status, out, _ = run_cli("cases", "close", ref)
    assert status == 0 and out.startswith(f"{ref} closed\n")
    closed_at = case_of(app, COMPLAINANT).closed_at

    for action in (("close",), ("escalate",), ("extend", "--by", "5", "--reason", "holidays")):
        status, out, err = run_cli("cases", action[0], ref, *action[1:])
        assert status == 2 and out == "" and f"mailbot: {ref} is closed on " in err
    assert case_of(app, COMPLAINANT).closed_at == closed_at


def test_escalating_past_the_last_stage_says_what_to_do_instead(app: App, run_cli: Run) -> None:
    ref = case_of(app, COMPLAINANT).ref
    status, out, _ = run_cli("cases", "escalate", ref)
    assert status == 0 and f"{ref} escalated to stage2; acknowledgement letter queued to {COMPLAINANT}" in out
    letters = outbox_rows(app)

    status, _, err = run_cli("cases", "escalate", ref)

    assert status == 2 and f"{ref} is already at " in err and "the last stage of" in err
    assert "`mailbot cases outcome`" in err
    assert outbox_rows(app) == letters


def test_dry_run_shows_the_letter_it_would_send_and_changes_nothing(
    app: App, run_cli: Run, smtp_server: SmtpCapture
) -> None:
    before = case_of(app, COMPLAINANT)
    letters, sent = outbox_rows(app), len(mail_to(smtp_server, COMPLAINANT))

    status, out, _ = run_cli("cases", "escalate", before.ref, "--dry-run")

    assert status == 0
    lines = out.splitlines()
    assert lines[
        0
    ] == f"dry run, nothing changed or sent; it would do: {before.ref} escalated to stage2; " + (
        f"acknowledgement letter queued to {COMPLAINANT}"
    )
    assert lines[1] == f"would send acknowledgement to {COMPLAINANT}"
    assert lines[2].startswith(f"  Subject: [{before.ref}]")
    assert any(line.startswith("  | Dear Jane Doe") for line in lines[3:])
    after = case_of(app, COMPLAINANT)
    assert (after.stage, after.acknowledged_at) == (before.stage, before.acknowledged_at)
    assert outbox_rows(app) == letters
    jobs.poll_cycle(app)
    assert len(mail_to(smtp_server, COMPLAINANT)) == sent

    status, out, _ = run_cli("cases", "close", before.ref, "--dry-run")
    assert (status, out) == (
        0,
        f"dry run, nothing changed or sent; it would do: {before.ref} closed\nletters: none\n",
    )
    assert case_of(app, COMPLAINANT).status == "open"


def test_a_refused_dry_run_is_refused_as_the_action_is(app: App, run_cli: Run) -> None:
    ref = case_of(app, PRAISER).ref
    status, out, err = run_cli("cases", "escalate", ref, "--dry-run")
    assert status == 2 and out == "" and f"{ref} is a compliment" in err


def test_a_coordinator_moving_a_compliment_to_a_stage_by_mail_is_refused_by_the_same_rule(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    thanks = case_of(app, PRAISER)
    mail_before = len(mail_to(smtp_server, PRAISER))

    dovecot.deliver(staff_mail("#stage 1\n", subject=f"RE: [{thanks.ref}] Thank you"))
    jobs.poll_cycle(app)

    after = case_of(app, PRAISER)
    assert (after.kind, after.status, after.stage) == (thanks.kind, thanks.status, thanks.stage)
    assert len(mail_to(smtp_server, PRAISER)) == mail_before
    [refusal] = [
        m for m in mail_to(smtp_server, COORDINATOR) if "#stage 1" in m.get_body(("plain",)).get_content()
    ]
    said = " ".join(refusal.get_body(("plain",)).get_content().split())
    assert f"{thanks.ref} is a compliment, recorded without a complaints stage" in said


def test_after_its_kind_is_corrected_a_compliment_can_be_escalated(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    thanks = case_of(app, PRAISER)
    dovecot.deliver(staff_mail("#kind complaint\n#stage 1\n", subject=f"RE: [{thanks.ref}] Thank you"))
    jobs.poll_cycle(app)
    after = case_of(app, PRAISER)
    assert (after.kind, after.status, after.stage) == ("complaint", "open", "stage1")
