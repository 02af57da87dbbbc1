"""A legal hold set by a coordinator's ``#hold`` or ``cases hold``, correcting a complainant's details, and
the privacy log that records both, on real servers."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import select

from mailbot.app import App
from mailbot.db.models import Case, Outbox
from mailbot.privacy.purge import run_purge
from mailbot.scheduled import jobs
from mailbot.testing import Dovecot, SmtpCapture
from tests.conftest import Clock
from tests.mails import mail
from tests.privacy_scenario import COORDINATOR, invoke, staff_mail
from tests.test_routing_e2e import STAFF

JANE = "jane.doe@example.net"


@pytest.fixture
def app(make_app: Callable[..., App], dovecot: Dovecot) -> App:
    app = make_app(extra=STAFF)
    jobs.poll_cycle(app)  # first contact
    dovecot.deliver(mail(sender=JANE, name="Jane Doe", message_id="<jane-1@example.net>"))
    jobs.poll_cycle(app)
    return app


def the_case(app: App) -> Case:
    with app.sessions() as session:
        return session.scalars(select(Case)).one()


def test_a_coordinators_hold_keeps_the_case_from_the_purge(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture, clock: Clock, capsys: pytest.CaptureFixture[str]
) -> None:
    ref = the_case(app).ref
    [notification] = [m.message for m in smtp_server.messages if COORDINATOR in m.rcpt_tos]
    dovecot.deliver(staff_mail("#hold claim received from the family's solicitor\n\nPlease keep everything.",
                               f"RE: {notification['Subject']}", notification["Message-ID"]))  # fmt: skip
    jobs.poll_cycle(app)

    case = the_case(app)
    assert case.held_at is not None and case.held_by == COORDINATOR
    assert case.hold_reason == "claim received from the family's solicitor"
    done = [m.message for m in smtp_server.messages if COORDINATOR in m.rcpt_tos][-1]
    assert "legal hold" in done.get_body(("plain",)).get_content()
    clock.now += relativedelta(years=7)
    assert run_purge(app).plan.held == [ref] and the_case(app).complainant_address == JANE

    status, out, _ = invoke(app, capsys, "privacy", "log")
    assert status == 0 and "legal hold" in out and "claim received from the family's solicitor" in out


def test_hold_needs_a_reason_and_lifting_one_that_is_not_there_is_refused(
    app: App, capsys: pytest.CaptureFixture[str]
) -> None:
    ref = the_case(app).ref
    status, _, err = invoke(app, capsys, "cases", "hold", ref, "--reason", "  ")
    assert status == 2 and "give the reason for the hold" in err
    status, _, err = invoke(app, capsys, "cases", "hold", ref, "--lift", "--reason", "done")
    assert status == 2 and f"{ref} is not on hold" in err


def test_correcting_the_complainants_name_and_address_changes_where_letters_go(
    app: App, capsys: pytest.CaptureFixture[str]
) -> None:
    ref = the_case(app).ref
    status, out, _ = invoke(app, capsys, "cases", "correct", ref, "--name", "Jane Smith", "--address",
                            "Jane.Smith@Example.net", "--reason", "married name, new address")  # fmt: skip
    assert status == 0 and "complainant's name and address corrected" in out

    with app.sessions() as session:
        case = session.scalars(select(Case)).one()
        assert (case.complainant_name, case.complainant_address) == ("Jane Smith", "jane.smith@example.net")
        assert case.events[-1].action == "corrected" and "Jane Doe" not in case.events[-1].detail
    invoke(app, capsys, "cases", "extend", ref, "--by", "5", "--reason", "awaiting the rota")
    with app.sessions() as session:
        letter = session.scalars(select(Outbox).where(Outbox.purpose == "extension")).one()
    assert letter.recipients == ["jane.smith@example.net"]
    status, out, _ = invoke(app, capsys, "privacy", "log", "--limit", "1")
    assert f"correction\t{ref}: complainant's name and address corrected: married name" in out


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--address", "jane at example", "expected an email address such as"),
        ("--name", "Jane <jane@evil.example>", "a person's name of at most 64 characters"),
    ],
)
def test_a_correction_that_is_not_valid_changes_nothing(
    app: App, capsys: pytest.CaptureFixture[str], option: str, value: str, says: str
) -> None:
    status, _, err = invoke(app, capsys, "cases", "correct", the_case(app).ref, option, value)
    assert status == 2 and says in err
    assert the_case(app).complainant_address == JANE
