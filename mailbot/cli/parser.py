"""The ``mailbot`` command's arguments: every command, its options and help, and the function that runs it."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from mailbot.cli import cases, classify, outbox, policy, reports, service, shunted
from mailbot.scheduled import report
from mailbot.vocabulary import OUTCOMES

DESCRIPTION = "The ``mailbot`` command: thin commands over the same functions the scheduler runs."

# argparse's group of sub-commands (what add_subparsers returns) has no public type to name.
Commands = Any


def build_parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="mailbot", description=DESCRIPTION)
    top.add_argument(
        "--config",
        type=Path,
        default=Path(os.environ.get("MAILBOT_CONFIG", "config.toml")),
        help="configuration file (default: $MAILBOT_CONFIG or ./config.toml)",
    )
    top.add_argument("-v", "--verbose", action="store_true")
    commands = top.add_subparsers(required=True, metavar="COMMAND")
    # The order here is the order `mailbot --help` lists them in.
    _service_commands(commands)
    _cases_commands(commands)
    _classification_commands(commands)
    _policy_commands(commands)
    _stuck_mail_commands(commands)
    _reporting_commands(commands)
    return top


def add_command(
    commands: Commands, name: str, func: Callable[[argparse.Namespace], int] | None, help_text: str
) -> argparse.ArgumentParser:
    """One command; without a function it only groups sub-commands (``cases list``, ``cases show``)."""
    command: argparse.ArgumentParser = commands.add_parser(name, help=help_text, description=help_text)
    if func is not None:
        command.set_defaults(func=func)
    return command


def add_group(commands: Commands, name: str, help_text: str) -> Commands:
    return add_command(commands, name, None, help_text).add_subparsers(required=True, metavar="ACTION")


def _service_commands(commands: Commands) -> None:
    add_command(commands, "run", service.cmd_run, "poll and deliver on a schedule until stopped")
    poll = add_command(commands, "poll", service.cmd_poll, "one cycle of every mailbox plus an outbox flush")
    poll.add_argument("--once", action="store_true", required=True, help="run one cycle and exit")
    add_command(
        commands,
        "check-config",
        service.cmd_check_config,
        "validate the file and try the IMAP and SMTP logins",
    )
    db = add_group(commands, "db", "database schema")
    add_command(db, "upgrade", service.cmd_db_upgrade, "apply migrations")
    backlog = add_command(
        commands, "import", service.cmd_import, "record mail since a date as cases, sending nothing"
    )
    backlog.add_argument("--since", type=date_argument, required=True, help="YYYY-MM-DD")
    backlog.add_argument("--mailbox", help="only this mailbox (default: all)")


def _cases_commands(commands: Commands) -> None:
    group = add_group(commands, "cases", "look at cases")
    listing = add_command(group, "list", cases.cmd_cases_list, "list cases")
    listing.add_argument("--json", action="store_true")
    # Plain strings: argparse lists the choices it accepts with repr(), which shows an enum member's class.
    listing.add_argument("--status", choices=[status.value for status in cases.LISTABLE_STATUSES])
    show = add_command(group, "show", cases.cmd_cases_show, "one case with its correspondence")
    show.add_argument("ref")
    show.add_argument("--json", action="store_true")
    escalate = add_command(
        group, "escalate", cases.cmd_cases_escalate, "move a case to its policy's next stage"
    )
    escalate.add_argument("ref")
    _extend_command(group)
    _outcome_command(group)
    close = add_command(group, "close", cases.cmd_cases_close, "close a case")
    close.add_argument("ref")


def _extend_command(group: Commands) -> None:
    extend = add_command(group, "extend", cases.cmd_cases_extend, "extend the current stage's response date")
    extend.add_argument("ref")
    extend.add_argument("--by", type=int, required=True, help="days, in the policy's extension unit")
    extend.add_argument("--reason", required=True)
    extend.add_argument("--agreed", action="store_true", help="the complainant agreed to the new date")


def _outcome_command(group: Commands) -> None:
    outcome = add_command(
        group, "outcome", cases.cmd_cases_outcome, "record the stage's outcome and send the letter"
    )
    outcome.add_argument("ref")
    outcome.add_argument("--decision", required=True, choices=[decision.value for decision in OUTCOMES])
    outcome.add_argument("--reasons", default="")
    outcome.add_argument("--remedy", default="")
    outcome.add_argument("--actions", default="", help="outstanding actions and when they will be done")


def _classification_commands(commands: Commands) -> None:
    evaluation = add_command(
        commands, "eval", classify.cmd_eval, "confusion table and precision/recall on labelled mail"
    )
    evaluation.add_argument("directory", type=Path, help="folder of .eml files")
    evaluation.add_argument("--labels", type=Path, required=True, help="CSV: file,kind,flags")
    offline = add_command(
        commands, "classify", classify.cmd_classify, "classify .eml files offline; changes nothing"
    )
    offline.add_argument("files", nargs="+", type=Path)
    offline.add_argument("--json", action="store_true")


def _policy_commands(commands: Commands) -> None:
    group = add_group(commands, "policy", "complaints policy files")
    check = add_command(group, "check", policy.cmd_policy_check, "validate a policy file")
    check.add_argument("file", type=Path)
    explain = add_command(group, "explain", policy.cmd_policy_explain, "print a policy's whole timeline")
    explain.add_argument("--policy", required=True, help="policy name (see rules/policies/)")
    explain.add_argument("--received", type=datetime_argument, required=True, help='e.g. "2026-12-23 16:30"')


def _stuck_mail_commands(commands: Commands) -> None:
    failed = add_group(commands, "shunted", "messages that failed")
    add_command(failed, "list", shunted.cmd_shunted_list, "list shunted messages with their errors")
    retry = add_command(failed, "retry", shunted.cmd_shunted_retry, "process a shunted message again")
    retry.add_argument("id", type=int)
    _outbox_commands(commands)


def _outbox_commands(commands: Commands) -> None:
    outgoing = add_group(commands, "outbox", "outgoing mail")
    listing = add_command(outgoing, "list", outbox.cmd_outbox_list, "mail not yet sent, held or failed")
    listing.add_argument("--held", action="store_true", help="only letters whose fate is unknown")
    release = add_command(outgoing, "release", outbox.cmd_outbox_release, "send held or failed letters again")
    resolve = add_command(
        outgoing, "resolve", outbox.cmd_outbox_resolve, "record held letters a person knows arrived"
    )
    resolve.add_argument("--delivered", action="store_true", required=True, help="they arrived")
    for command in (release, resolve):
        command.add_argument(
            "ids", nargs="*", type=int, metavar="ID", help="outbox IDs (`mailbot outbox list`)"
        )
        command.add_argument("--held", action="store_true", help="every held letter")


def _reporting_commands(commands: Commands) -> None:
    weekly = add_command(
        commands, "digest", reports.cmd_digest, "the weekly digest for each lead: preview it or send it"
    )
    mode = weekly.add_mutually_exclusive_group(required=True)
    mode.add_argument("--preview", action="store_true", help="render it; send nothing")
    mode.add_argument("--send", action="store_true", help="queue it for each lead who has not had it")
    weekly.add_argument("--week", help="the ISO week it is sent in, e.g. 2026-W47 (default: the latest due)")
    weekly.add_argument("--lead", help="one lead's address (default: every lead; a preview shows the first)")
    weekly.add_argument("--out", type=Path, help="with --preview: write the HTML here (default: print text)")
    board = add_command(
        commands, "report", reports.cmd_report, "the board's numbers for a period; names no complainant"
    )
    board.add_argument(
        "--from", dest="start", type=date_argument, required=True, help="first day, YYYY-MM-DD"
    )
    board.add_argument(
        "--to", dest="end", type=date_argument, required=True, help="last day (included), YYYY-MM-DD"
    )
    board.add_argument("--format", choices=report.FORMATS, default="csv")


def date_argument(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def datetime_argument(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a date and time like '2026-12-23 16:30', got {text!r}"
        ) from None
