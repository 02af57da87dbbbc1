"""The ``mailbot`` command as a person uses it, against real servers."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from mailbot import cli
from mailbot.app import App
from mailbot.db.models import Attachment, Case
from mailbot.intake.store import blob_path
from mailbot.scheduled import jobs
from mailbot.testing import Dovecot, SmtpCapture
from tests.conftest import ENVIRON, ROOT
from tests.mails import mail
from tests.services import running, with_schedule

LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def run_cli(app: App, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    for name, value in ENVIRON.items():
        monkeypatch.setenv(name, value)

    def invoke(*args: str) -> tuple[int, str, str]:
        status = cli.main(["--config", str(app.config.path), *args])
        out, err = capsys.readouterr()
        return status, out, err

    return invoke


def test_cases_list_and_show_json_is_the_stable_interface(
    app: App, dovecot: Dovecot, run_cli: Callable[..., tuple[int, str, str]]
) -> None:
    jobs.poll_cycle(app)
    dovecot.deliver(mail(sender="jane.doe@example.net", name="Jane Doe"))
    assert run_cli("poll", "--once")[0] == 0

    status, out, _ = run_cli("cases", "list", "--json")
    [listed] = json.loads(out)
    assert status == 0
    assert set(listed) == {
        "ref", "kind", "stage", "status", "complainant", "received_at", "acknowledge_due", "acknowledged_at",
        "response_due", "flags",
    }  # fmt: skip
    status, out, _ = run_cli("cases", "show", listed["ref"], "--json")
    shown = json.loads(out)
    assert shown["complainant"] == {"name": "Jane Doe", "address": "jane.doe@example.net"}
    assert shown["kind"] == "complaint" and shown["stage"] == "stage1" and shown["acknowledged_at"]
    assert [(c["direction"], c["kind"]) for c in shown["correspondence"]] == [
        ("in", "complaint"),
        ("out", "acknowledgement"),
    ]
    # Issue 14 added each item's own words and its attachments; the keys before them are as they were.
    assert set(shown["correspondence"][0]) == {
        "direction", "from", "subject", "date", "kind", "text", "attachments",
    }  # fmt: skip
    assert "formal complaint about the care my mother receives" in shown["correspondence"][0]["text"]
    assert shown["correspondence"][0]["attachments"] == []


def test_a_party_added_from_the_command_line_is_shown_on_the_case(
    app: App, dovecot: Dovecot, run_cli: Callable[..., tuple[int, str, str]]
) -> None:
    jobs.poll_cycle(app)
    dovecot.deliver(mail(sender="jane.doe@example.net", name="Jane Doe"))
    jobs.poll_cycle(app)
    with app.sessions() as session:
        ref = session.scalars(select(Case.ref)).one()

    status, out, _ = run_cli("cases", "add-party", ref, "Pat@Advocacy.example", "--name", "Pat Advocate")
    assert (status, out.strip()) == (0, f"pat@advocacy.example added as a party to {ref}")
    status, _, err = run_cli("cases", "add-party", ref, "not-an-address")
    assert status == 2 and "'not-an-address' is not an email address (expected name@example.org)" in err

    status, out, _ = run_cli("cases", "show", ref, "--json")
    [party] = json.loads(out)["parties"]
    assert (party["name"], party["address"]) == ("Pat Advocate", "pat@advocacy.example")
    assert party["added_by"].startswith("cli:")
    status, out, _ = run_cli("cases", "show", ref)
    assert "  party: Pat Advocate <pat@advocacy.example> added by cli:" in out


def test_cases_show_names_an_unknown_reference(run_cli: Callable[..., tuple[int, str, str]]) -> None:
    status, _, err = run_cli("cases", "show", "CMP-2026-9999")
    assert status == 1 and "no case 'CMP-2026-9999'" in err


def test_import_records_the_backlog_and_sends_nothing(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture, run_cli: Callable[..., tuple[int, str, str]]
) -> None:
    for i in range(3):
        dovecot.deliver(mail(sender=f"old{i}@example.net"))
    run_cli("poll", "--once")  # first contact: left alone

    status, out, _ = run_cli("import", "--since", "2020-01-01")

    assert status == 0 and "imported 3 message(s)" in out
    with app.sessions() as session:
        cases = session.scalars(select(Case)).all()
    assert len(cases) == 3 and all(c.acknowledged_at is None for c in cases)
    assert smtp_server.messages == []
    run_cli("poll", "--once")
    assert smtp_server.messages == []  # nor later


def test_check_config_logs_in_to_imap_and_smtp(
    run_cli: Callable[..., tuple[int, str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    status, out, _ = run_cli("check-config")
    assert status == 0
    assert "ok   complaints: logged in" in out and "ok   smtp: connected" in out

    monkeypatch.setenv("TEST_IMAP_PASSWORD", "wrong")
    status, out, err = run_cli("check-config")
    assert status == 1 and "FAIL mailbox complaints" in err and "refused" in err  # errors on stderr


def test_attachments_are_stored_by_hash_with_a_safe_name(app: App, dovecot: Dovecot) -> None:
    jobs.poll_cycle(app)
    message = mail_with_attachment("../../care plan.pdf", b"%PDF-1.4 care plan")
    dovecot.deliver(message)
    jobs.poll_cycle(app)

    with app.sessions() as session:
        [attachment] = session.scalars(select(Attachment)).all()
    assert attachment.filename == "care plan.pdf"
    assert blob_path(app.config.storage_dir, attachment.sha256).read_bytes() == b"%PDF-1.4 care plan"


def test_processed_mail_can_be_moved_to_a_folder_and_is_never_deleted(
    make_app: Callable[..., App], dovecot: Dovecot
) -> None:
    from tests.conftest import mailbox_table

    app = make_app(mailboxes=mailbox_table("complaints", dovecot.port, 'processed_folder = "Processed"'))
    jobs.poll_cycle(app)
    dovecot.deliver(mail())
    jobs.poll_cycle(app)

    assert dovecot.messages() == []
    [(_, flags, _)] = dovecot.messages(folder="Processed")
    assert b"$MailbotProcessed" in flags and b"\\Deleted" not in flags


def test_policy_check_and_explain(run_cli: Callable[..., tuple[int, str, str]], tmp_path: Path) -> None:
    status, out, _ = run_cli("policy", "check", str(ROOT / "rules" / "policies" / "help-and-care.toml"))
    assert status == 0 and "help-and-care" in out and "valid" in out

    status, out, _ = run_cli(
        "policy", "explain", "--policy", "lgsco-hos-code", "--received", "2026-12-23 16:30"
    )
    assert status == 0
    # 5 working days after Wed 23 Dec 2026: Thu 24, Tue 29, Wed 30, Thu 31, Mon 4 Jan (25, 28 Dec, 1 Jan shut)
    assert "Acknowledgement due Mon 4 Jan 2027" in out

    broken = tmp_path / "broken.toml"
    broken.write_text(
        (ROOT / "rules" / "policies" / "lgsco-hos-code.toml")
        .read_text()
        .replace("days = 10", 'days = "ten"', 1)
    )
    status, _, err = run_cli("policy", "check", str(broken))
    assert status == 2 and str(broken) in err and "days" in err


def test_extension_within_the_policy_maximum_is_sent_and_beyond_it_refused(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture, run_cli: Callable[..., tuple[int, str, str]], clock
) -> None:  # type: ignore[no-untyped-def]
    received = datetime(2026, 11, 3, 10, 0, tzinfo=LONDON)
    clock.now = received
    jobs.poll_cycle(app)
    with dovecot.client() as imap:
        imap.append("INBOX", mail(sender="jane.doe@example.net"), msg_time=received)
    jobs.poll_cycle(app)
    with app.sessions() as session:
        ref = session.scalars(select(Case.ref)).one()

    # The Code: stage 1 response (Tue 17 Nov) may be extended by at most 10 working days (to Tue 1 Dec).
    status, _, err = run_cli("cases", "extend", ref, "--by", "11", "--reason", "awaiting records")
    assert status == 2 and "at most 10 working days" in err
    status, out, _ = run_cli(
        "cases", "extend", ref, "--by", "5", "--reason", "We are waiting for the rota records."
    )
    assert status == 0 and "2026-11-24" in out
    clock.now = datetime.now(LONDON)  # the command ran on the real clock; flush as of then
    jobs.poll_cycle(app)

    notice = smtp_server.messages[-1].message
    assert notice["Subject"] == f"[{ref}] We need more time to respond to your complaint"
    body = notice.get_body(("plain",)).get_content()
    assert "Tuesday 24 November 2026" in body and "waiting for the rota records" in body
    assert "Local Government and Social Care Ombudsman" in body  # the Code requires the Ombudsman's details
    assert "Auto-Submitted" not in notice  # written by a person, not an automatic reply
    with app.sessions() as session:
        case = session.scalars(select(Case)).one()
        assert case.response_due.isoformat() == "2026-11-24"
        assert case.stages[0].extension_reason == "We are waiting for the rota records."


def test_run_polls_on_a_schedule_and_stops_cleanly_on_sigterm(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture, tmp_path: Path
) -> None:
    config = with_schedule(app, poll_seconds=1)
    with running(config, tmp_path / "run.log"):  # stopped with SIGTERM; it must exit 0, saying it stops
        _wait_for(lambda: _first_contact_made(app), "the first poll")
        dovecot.deliver(mail(sender="scheduled@example.net"))
        _wait_for(lambda: len(smtp_server.messages) == 1, "the acknowledgement")
    assert smtp_server.messages[0].rcpt_tos == ("scheduled@example.net",)


def _first_contact_made(app: App) -> bool:
    from mailbot.db.models import MailboxState

    with app.sessions() as session:
        return session.scalars(select(MailboxState)).first() is not None


def _wait_for(condition: Callable[[], bool], what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def mail_with_attachment(filename: str, payload: bytes) -> bytes:
    import email
    import email.policy

    message = email.message_from_bytes(mail(), policy=email.policy.default)
    message.add_attachment(payload, maintype="application", subtype="pdf", filename=filename)
    return message.as_bytes()


def test_eval_prints_a_confusion_table(run_cli: Callable[..., tuple[int, str, str]], tmp_path: Path) -> None:
    labelled = ROOT / "tests" / "data" / "labelled"
    status, out, _ = run_cli("eval", str(labelled), "--labels", str(labelled / "labels.csv"))
    assert status == 0 and "Confusion" in out and "precision" in out

    bad = tmp_path / "labels.csv"
    bad.write_text("file,kind,flags\nmissing.eml,complaint,\n")
    status, _, err = run_cli("eval", str(labelled), "--labels", str(bad))
    assert status == 2 and f"{bad}:2" in err


def test_a_message_shunted_by_a_broken_template_is_retried_once_the_template_is_fixed(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture, run_cli: Callable[..., tuple[int, str, str]],
    tmp_path: Path,
) -> None:  # fmt: skip
    import shutil

    templates = tmp_path / "templates"
    shutil.copytree(ROOT / "templates", templates)
    body = templates / "acknowledgement" / "body.txt"
    good = body.read_text()
    body.write_text(good + "{{ no_such_field.value }}\n")  # as an organisation's careless edit might
    config = app.config.path
    config.write_text(config.read_text().replace(str(ROOT / "templates"), str(templates)))
    run_cli("poll", "--once")
    dovecot.deliver(mail(sender="jane.doe@example.net"))

    run_cli("poll", "--once")
    status, out, _ = run_cli("shunted", "list")
    assert status == 0 and "LetterError" in out and smtp_server.messages == []
    shunted_id = out.split("\t", 1)[0]

    body.write_text(good)
    status, out, _ = run_cli("shunted", "retry", shunted_id)
    assert status == 0 and "processed" in out
    run_cli("poll", "--once")
    assert [m.rcpt_tos for m in smtp_server.messages] == [("jane.doe@example.net",)]
    assert run_cli("shunted", "list")[1] == "none\n"


def test_a_failed_letter_can_be_released_and_a_temporary_failure_is_given_up_in_time(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture, run_cli: Callable[..., tuple[int, str, str]], clock
) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from mailbot.db.models import Outbox

    jobs.poll_cycle(app)
    smtp_server.reject_recipient("jane.doe@example.net", 550)
    dovecot.deliver(mail(sender="jane.doe@example.net"))
    jobs.poll_cycle(app)
    status, out, _ = run_cli("outbox", "list")
    outbox_id = out.split("\t", 1)[0]
    assert status == 0 and "\tfailed\t" in out and "550" in out

    smtp_server.reset_failures()  # the recipient's server is fixed; a person releases the letter
    assert run_cli("outbox", "release", outbox_id)[0] == 0
    clock.now = datetime.now(LONDON)
    jobs.poll_cycle(app)
    assert [m.rcpt_tos for m in smtp_server.messages] == [("jane.doe@example.net",)]

    smtp_server.fail_next(100, 451)  # a second complainant whose server keeps deferring
    dovecot.deliver(mail(sender="deferred@example.net"))
    for _ in range(12):
        jobs.poll_cycle(app)
        clock.now += timedelta(hours=5)  # past [delivery] give_up_after_hours = 48 by the end
    with app.sessions() as session:
        row = session.scalars(select(Outbox).where(Outbox.recipient == "deferred@example.net")).one()
    assert row.state == "failed" and row.last_error is not None and row.last_error.startswith("451")
    assert 1 < row.attempts <= 12
