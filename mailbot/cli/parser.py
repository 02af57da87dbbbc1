"""The ``mailbot`` command's arguments: every command, its options and help, and the function that runs it."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import Any

from mailbot.cli import (
    auth,
    cases,
    classify,
    health,
    outbox,
    policy,
    privacy,
    reports,
    service,
    shunted,
    spam,
)
from mailbot.vocabulary import OUTCOMES

DESCRIPTION = "The ``mailbot`` command: thin commands over the same functions the scheduler runs."

# argparse's group of sub-commands (what add_subparsers returns) has no public type to name.
Commands = Any

# The formats of `mailbot report` (mailbot.scheduled.report.FORMATS, which a test keeps equal to this), named
# here so that building the parser does not import the database layer.
REPORT_FORMATS = ("csv", "html")


def build_parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="mailbot", description=DESCRIPTION)
    top.add_argument(
        "--config",
        type=Path,
        default=Path(os.environ.get("MAILBOT_CONFIG", "config.toml")),
        help="configuration file (default: $MAILBOT_CONFIG or ./config.toml)",
    )
    top.add_argument("-v", "--verbose", action="store_true", help="log debug lines, the libraries' too")
    top.add_argument(
        "--log-format",
        choices=("text", "json"),
        help="log lines as text or one JSON object each (default: [logging] format, else text)",
    )
    top.add_argument("--version", action=VersionAction, help="print mailbot's version and exit")
    commands = top.add_subparsers(required=True, metavar="COMMAND")
    # The order here is the order `mailbot --help` lists them in.
    _service_commands(commands)
    _cases_commands(commands)
    _classification_commands(commands)
    _policy_commands(commands)
    _stuck_mail_commands(commands)
    _reporting_commands(commands)
    _privacy_commands(commands)
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
    # One cycle is all `poll` does; --once is still accepted from the scripts and docs that pass it.
    poll.add_argument("--once", action="store_true", help="one cycle and exit (the default)")
    add_command(
        commands,
        "check-config",
        service.cmd_check_config,
        "validate the file and try the IMAP and SMTP logins",
    )
    sign_in = add_group(commands, "auth", "Microsoft 365 sign-in for delegated access")
    login = add_command(sign_in, "login", auth.cmd_auth_login, "sign in with a device code; saves the token")
    login.add_argument("name", help="the mailbox's name, or smtp")
    db = add_group(commands, "db", "database schema")
    add_command(db, "upgrade", service.cmd_db_upgrade, "apply migrations")
    backlog = add_command(
        commands, "import", service.cmd_import, "record mail since a date as cases, sending nothing"
    )
    backlog.add_argument("--since", type=date_argument, required=True, help="YYYY-MM-DD")
    backlog.add_argument("--mailbox", help="only this mailbox (default: all)")
    _health_command(commands)


def _health_command(commands: Commands) -> None:
    check = add_command(
        commands, "health", health.cmd_health, "is the service keeping up? exit 0 if healthy, 1 if not"
    )
    check.add_argument("--json", action="store_true")
    limits = check.add_argument_group("what counts as unhealthy")
    limit = partial(limits.add_argument, metavar="N")
    limit("--max-quiet-hours", type=float, default=72, help="no mail fetched or filed (default: 72)")
    limit("--max-outbox-minutes", type=float, default=60, help="oldest letter waiting to go (default: 60)")
    limit("--max-held", type=int, default=0, help="letters held within --recent-hours (default: 0)")
    limit("--max-failed", type=int, default=0, help="letters failed within --recent-hours (default: 0)")
    limit(
        "--recent-hours", type=float, default=24, help="how long held and failed letters count (default: 24)"
    )
    limit("--max-shunted", type=int, default=0, help="messages shunted (default: 0)")
    limit(
        "--max-unacknowledged-hours",
        type=float,
        default=24,
        help="a case awaiting its acknowledgement (default: 24)",
    )


def _cases_commands(commands: Commands) -> None:
    group = add_group(commands, "cases", "look at cases")
    listing = add_command(group, "list", cases.cmd_cases_list, "list cases")
    listing.add_argument("--json", action="store_true")
    # Plain strings: argparse lists the choices it accepts with repr(), which shows an enum member's class.
    listing.add_argument("--status", choices=[status.value for status in cases.LISTABLE_STATUSES])
    show = add_command(group, "show", cases.cmd_cases_show, "one case with its correspondence")
    show.add_argument("ref")
    show.add_argument("--json", action="store_true", help="with each message's text and attachments")
    show.add_argument("--full", action="store_true", help="each message's new text and its attachments")
    show.add_argument("--quoted", action="store_true", help="with --full: also the text each message quotes")
    _case_file_commands(group)
    escalate = add_command(
        group, "escalate", cases.cmd_cases_escalate, "move a case to its policy's next stage"
    )
    escalate.add_argument("ref")
    dry_run(escalate)
    _extend_command(group)
    _outcome_command(group)
    close = add_command(group, "close", cases.cmd_cases_close, "close a case")
    close.add_argument("ref")
    dry_run(close)
    party = add_command(
        group, "add-party", cases.cmd_cases_add_party, "let someone besides the complainant write on a case"
    )
    party.add_argument("ref")
    party.add_argument("address", help="their email address")
    party.add_argument("--name", default="", help="their name, as letters greet them")


def _case_file_commands(group: Commands) -> None:
    file = add_command(
        group, "file", cases.cmd_cases_file, "the complete case file for an ombudsman or regulator"
    )
    file.add_argument("ref")
    file.add_argument("--out", type=Path, required=True, help="FILE.html (self-contained) or FILE.pdf")
    hold = add_command(group, "hold", cases.cmd_cases_hold, "put a case on legal hold, or lift the hold")
    hold.add_argument("ref")
    hold.add_argument("--reason", required=True, help="why (a claim, an ombudsman's investigation ...)")
    hold.add_argument("--lift", action="store_true", help="lift the hold: the retention schedule applies")
    correct = add_command(
        group, "correct", cases.cmd_cases_correct, "correct the complainant's name or address"
    )
    correct.add_argument("ref")
    correct.add_argument("--name")
    correct.add_argument("--address")
    correct.add_argument("--reason", help="why, for the audit trail")


def _extend_command(group: Commands) -> None:
    extend = add_command(group, "extend", cases.cmd_cases_extend, "extend the current stage's response date")
    extend.add_argument("ref")
    extend.add_argument(
        "--by", type=int,
        help="days, in the policy's extension unit (required, except on a subject access request: calendar "
        "days, or left out for as far as the law allows)",
    )  # fmt: skip
    extend.add_argument("--reason", required=True)
    extend.add_argument("--agreed", action="store_true", help="the complainant agreed to the new date")
    dry_run(extend)


def _outcome_command(group: Commands) -> None:
    outcome = add_command(
        group, "outcome", cases.cmd_cases_outcome, "record the stage's outcome and send the letter"
    )
    outcome.add_argument("ref")
    outcome.add_argument("--decision", required=True, choices=[decision.value for decision in OUTCOMES])
    outcome.add_argument("--reasons", default="")
    outcome.add_argument("--remedy", default="")
    outcome.add_argument("--actions", default="", help="outstanding actions and when they will be done")
    dry_run(outcome)


def dry_run(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--dry-run",
        action="store_true",
        help="show what it would do and the letters it would send; change nothing",
    )


def _classification_commands(commands: Commands) -> None:
    evaluation = add_command(
        commands, "eval", classify.cmd_eval, "confusion table and precision/recall on labelled mail"
    )
    evaluation.add_argument("directory", type=Path, help="folder of .eml files, or a labelled set .toml")
    evaluation.add_argument("--labels", type=Path, help="CSV: file,kind,flags (for a folder)")
    evaluation.add_argument(
        "--held-out",
        action="store_true",
        help="a test set: measure only, never learn from its labels (otherwise they train the kind model)",
    )
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
    held = add_group(commands, "spam", "mail held in quarantine as spam")
    add_command(held, "list", spam.cmd_spam_list, "messages held as spam, with the verdict")
    free = add_command(held, "release", spam.cmd_spam_release, "process a held message as ordinary mail")
    free.add_argument("id", type=int)
    free.add_argument("--by", default="mailbot spam release", help="who released it, for the record")


def _reporting_commands(commands: Commands) -> None:
    weekly = add_command(
        commands, "digest", reports.cmd_digest, "the weekly digest for each lead: preview it or send it"
    )
    mode = weekly.add_mutually_exclusive_group(required=True)
    mode.add_argument("--preview", action="store_true", help="render it; send nothing")
    mode.add_argument("--send", action="store_true", help="queue it for each lead who has not had it")
    weekly.add_argument(
        "--week",
        help="the ISO week it is sent in, e.g. 2026-W47 (default: the coming digest with --preview, "
        "the latest due with --send)",
    )
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
    board.add_argument("--format", choices=REPORT_FORMATS, default="csv")


def _privacy_commands(commands: Commands) -> None:
    group = add_group(commands, "privacy", "personal data: subject access, retention, erasure")
    export = add_command(
        group, "export", privacy.cmd_privacy_export, "everything held about one person, as a zip"
    )
    export.add_argument("--address", required=True, help="the person's email address")
    export.add_argument("--out", type=Path, help="FILE.zip (default: subject-access-DATE-ADDRESS.zip here)")
    export.add_argument(
        "--notes", choices=("include", "withhold"), required=True,
        help="staff notes and internal mail about their cases: a person decides",
    )  # fmt: skip
    export.add_argument("--reason", help="why notes are withheld (required with --notes withhold)")
    purge = add_command(
        group, "purge", privacy.cmd_privacy_purge, "remove what the retention schedule says has expired"
    )
    purge.add_argument("--dry-run", action="store_true", help="list what would go; change nothing")
    erase = add_command(
        group, "erase", privacy.cmd_privacy_erase, "erase one person's data (their cases' figures stay)"
    )
    erase.add_argument("--address", required=True, help="the person's email address")
    erase.add_argument("--force", action="store_true", help="erase even open cases or cases on legal hold")
    erase.add_argument("--reason", help="why (required with --force; recorded)")
    record = add_command(
        group, "log", privacy.cmd_privacy_log, "exports, erasures, purges, corrections and holds"
    )
    record.add_argument("--limit", type=int, help="only the newest N entries")


class VersionAction(argparse.Action):
    """``--version``: reads the installed version only when asked, so other commands need not load it."""

    def __init__(self, option_strings: list[str], dest: str, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            installed = version("mailbot")
        except PackageNotFoundError:  # run from a checkout that was never installed
            installed = "(not installed)"
        print(f"mailbot {installed}")
        parser.exit()


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
