"""The command line's pure parts, without servers: its arguments, their types and the lines it prints."""

from __future__ import annotations

import argparse
from datetime import date, datetime
from pathlib import Path

import pytest

from mailbot import cli
from mailbot.cli import cases, classify, outbox, policy, reports, service, shunted
from mailbot.cli.classify import classification_line
from mailbot.cli.outbox import outbox_line
from mailbot.cli.parser import build_parser, date_argument, datetime_argument
from mailbot.cli.service import cycle_summary, intake_line
from mailbot.cli.shunted import shunted_line
from mailbot.db.models import InboundMessage, Outbox
from mailbot.intake.mailbox import IntakeReport
from mailbot.outgoing.smtp import FlushReport
from mailbot.pipeline import ProcessReport
from mailbot.scheduled.jobs import CycleReport
from tests.conftest import ROOT

# --- argument types ---------------------------------------------------------------------------------------


def test_a_date_argument_is_an_iso_date() -> None:
    assert date_argument("2026-11-03") == date(2026, 11, 3)


@pytest.mark.parametrize("text", ["03/11/2026", "yesterday", "2026-13-01", ""])
def test_a_date_argument_names_the_form_it_wants(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as caught:
        date_argument(text)
    assert str(caught.value) == f"expected a date as YYYY-MM-DD, got {text!r}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2026-12-23 16:30", datetime(2026, 12, 23, 16, 30)), ("2026-12-23", datetime(2026, 12, 23))],
)
def test_a_datetime_argument_takes_a_date_with_or_without_a_time(text: str, expected: datetime) -> None:
    assert datetime_argument(text) == expected


def test_a_datetime_argument_names_the_form_it_wants() -> None:
    with pytest.raises(argparse.ArgumentTypeError) as caught:
        datetime_argument("half four")
    assert str(caught.value) == "expected a date and time like '2026-12-23 16:30', got 'half four'"


# --- the argument tree ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["run"], service.cmd_run),
        (["poll", "--once"], service.cmd_poll),
        (["poll"], service.cmd_poll),  # one cycle with or without --once
        (["check-config"], service.cmd_check_config),
        (["db", "upgrade"], service.cmd_db_upgrade),
        (["import", "--since", "2026-01-01"], service.cmd_import),
        (["cases", "list"], cases.cmd_cases_list),
        (["cases", "show", "CMP-2026-0001"], cases.cmd_cases_show),
        (["cases", "escalate", "CMP-2026-0001"], cases.cmd_cases_escalate),
        (["cases", "extend", "CMP-2026-0001", "--by", "5", "--reason", "rota"], cases.cmd_cases_extend),
        (["cases", "outcome", "CMP-2026-0001", "--decision", "upheld"], cases.cmd_cases_outcome),
        (["cases", "close", "CMP-2026-0001"], cases.cmd_cases_close),
        (["eval", "mail", "--labels", "labels.csv"], classify.cmd_eval),
        (["classify", "a.eml", "b.eml"], classify.cmd_classify),
        (["policy", "check", "p.toml"], policy.cmd_policy_check),
        (["policy", "explain", "--policy", "p", "--received", "2026-12-23"], policy.cmd_policy_explain),
        (["shunted", "list"], shunted.cmd_shunted_list),
        (["shunted", "retry", "7"], shunted.cmd_shunted_retry),
        (["outbox", "list"], outbox.cmd_outbox_list),
        (["outbox", "release", "7"], outbox.cmd_outbox_release),
        (["digest", "--preview"], reports.cmd_digest),
        (["report", "--from", "2026-01-01", "--to", "2026-03-31"], reports.cmd_report),
    ],
)
def test_each_command_runs_its_own_function(argv: list[str], command: object) -> None:
    assert build_parser().parse_args(argv).func is command


def test_the_configuration_file_comes_from_the_option_then_the_environment_then_the_directory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MAILBOT_CONFIG", raising=False)
    assert build_parser().parse_args(["run"]).config == Path("config.toml")
    monkeypatch.setenv("MAILBOT_CONFIG", "/etc/mailbot/config.toml")
    assert build_parser().parse_args(["run"]).config == Path("/etc/mailbot/config.toml")
    assert build_parser().parse_args(["--config", "here.toml", "run"]).config == Path("here.toml")


def test_a_report_period_is_read_as_dates() -> None:
    args = build_parser().parse_args(["report", "--from", "2026-01-01", "--to", "2026-03-31"])
    assert (args.start, args.end, args.format) == (date(2026, 1, 1), date(2026, 3, 31), "csv")


def test_the_digest_week_is_passed_on_as_typed() -> None:
    args = build_parser().parse_args(["digest", "--send", "--week", "2026-W47", "--lead", "lead@example.org"])
    assert (args.send, args.preview, args.week, args.lead) == (True, False, "2026-W47", "lead@example.org")


def test_an_extension_reads_its_days_as_a_number() -> None:
    args = build_parser().parse_args(
        ["cases", "extend", "CMP-1", "--by", "5", "--reason", "rota", "--agreed"]
    )
    assert (args.ref, args.by, args.reason, args.agreed) == ("CMP-1", 5, "rota", True)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["cases", "list", "--status", "pending"],
            "argument --status: invalid choice: 'pending' (choose from 'open', 'closed', 'recorded')",
        ),
        (
            ["cases", "outcome", "CMP-1", "--decision", "maybe"],
            "argument --decision: invalid choice: 'maybe' "
            "(choose from 'upheld', 'partly upheld', 'not upheld')",
        ),
        (
            ["import", "--since", "last week"],
            "argument --since: expected a date as YYYY-MM-DD, got 'last week'",
        ),
        (["digest"], "one of the arguments --preview --send is required"),
    ],
)
def test_a_mistyped_command_is_refused_with_what_would_be_accepted(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        build_parser().parse_args(argv)
    assert caught.value.code == 2
    assert message in capsys.readouterr().err


# --- main: one line and an exit code for mailbot's own errors ---------------------------------------------


def test_policy_explain_works_without_a_configuration_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)  # the presets shipped beside the code
    argv = ["--config", str(tmp_path / "absent.toml"), "policy", "explain", "--policy", "lgsco-hos-code"]
    status = cli.main([*argv, "--received", "2026-12-23 16:30"])
    assert status == 0 and "Acknowledgement due Mon 4 Jan 2027" in capsys.readouterr().out


def test_an_unknown_policy_is_one_line_naming_those_available(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    argv = ["--config", str(tmp_path / "absent.toml"), "policy", "explain", "--policy", "nope"]
    status = cli.main([*argv, "--received", "2026-12-23 16:30"])
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("mailbot: no policy 'nope'; available: ") and "lgsco-hos-code" in err
    assert err.count("\n") == 1


# --- the lines commands print -----------------------------------------------------------------------------


def test_a_mailbox_line_counts_new_mail_or_explains_first_contact() -> None:
    assert intake_line(IntakeReport("complaints", fetched=2)) == "complaints: 2 new message(s)"
    assert intake_line(IntakeReport("complaints", baseline=40)) == (
        "complaints: first contact; 40 message(s) already there left alone "
        "(record them with `mailbot import --since DATE`)"
    )


def test_a_cycle_summary_counts_every_outcome() -> None:
    cycle = CycleReport(
        processing=ProcessReport(processed=3, shunted=1),
        delivery=FlushReport(sent=2, retrying=1, failed=0, held=1),
        filed=2,
    )
    assert cycle_summary(cycle) == (
        "processed 3, shunted 1; sent 2, retrying 1, failed 0, held 1; filed 2 in Sent"
    )


def test_a_shunted_line_keeps_only_the_last_line_of_the_traceback() -> None:
    row = InboundMessage(
        id=7, mailbox="complaints", uid=42, message_id="<a@example.net>",
        error='Traceback (most recent call last):\n  File "x.py", line 1\nLetterError: no_such_field\n\n',
    )  # fmt: skip
    assert shunted_line(row) == "7\tcomplaints\tUID 42\t<a@example.net>\tLetterError: no_such_field"


def test_a_shunted_line_without_message_id_or_error_keeps_its_columns() -> None:
    row = InboundMessage(id=8, mailbox="complaints", uid=43, message_id=None, error=None)
    assert shunted_line(row) == "8\tcomplaints\tUID 43\t-\t"


def test_an_outbox_line_shows_state_recipients_attempts_and_error() -> None:
    row = Outbox(
        id=3, state="failed", purpose="acknowledgement", recipients=["a@example.net", "b@example.net"],
        attempts=2, last_error="550 mailbox unavailable",
    )  # fmt: skip
    assert outbox_line(row) == (
        "3\tfailed\tacknowledgement\ta@example.net, b@example.net\tattempts 2\t550 mailbox unavailable"
    )
    row.last_error = None
    assert outbox_line(row).endswith("attempts 2\t")


def test_a_classification_line_leaves_out_what_is_empty() -> None:
    threaded = {
        "file": "reply.eml", "kind": "reply", "flags": ["urgent", "safeguarding"],
        "rules_hit": ["thread", "safeguarding"], "case": "CMP-2026-0001",
    }  # fmt: skip
    assert classification_line(threaded) == (
        "reply.eml: reply urgent safeguarding -> CMP-2026-0001  [thread, safeguarding]"
    )
    plain = {"file": "new.eml", "kind": "complaint", "flags": [], "rules_hit": [], "case": None}
    assert classification_line(plain) == "new.eml: complaint  []"
