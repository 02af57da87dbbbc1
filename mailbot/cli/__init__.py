"""The ``mailbot`` command: thin commands over the same functions the scheduler runs."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.app import App, build_app
from mailbot.cases import actions, records, stages
from mailbot.classify import load_chain
from mailbot.classify.evaluate import run_eval
from mailbot.config.settings import Config, MailboxConfig, load_config
from mailbot.db.models import Case, InboundMessage, Outbox
from mailbot.db.session import make_engine, upgrade
from mailbot.errors import MailbotError
from mailbot.intake import mailbox
from mailbot.intake.parse import UnparseableMail, parse_mail
from mailbot.outgoing import smtp
from mailbot.pipeline import classify_only, process_one, process_pending
from mailbot.policy import check_policy_file, explain, load_policies
from mailbot.scheduled import digest, jobs, report


class UsageError(MailbotError):
    """A command typed wrongly; says what would be accepted."""


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for chatty in ("alembic", "mail.log"):  # migrations and the demo's SMTP server log every step at INFO
        logging.getLogger(chatty).setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    # mail-parser warns about every part type it leaves to us (e.g. the rfc822-headers of a bounce)
    logging.getLogger("mailparser").setLevel(logging.DEBUG if args.verbose else logging.ERROR)
    try:
        return int(args.func(args) or 0)
    except MailbotError as exc:  # a mistake in the configuration or the command, or a server we cannot use
        print(f"mailbot: {exc}", file=sys.stderr)
        return exc.exit_code


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="mailbot", description=__doc__)
    top.add_argument(
        "--config",
        type=Path,
        default=Path(os.environ.get("MAILBOT_CONFIG", "config.toml")),
        help="configuration file (default: $MAILBOT_CONFIG or ./config.toml)",
    )
    top.add_argument("-v", "--verbose", action="store_true")
    sub = top.add_subparsers(required=True, metavar="COMMAND")
    _command(sub, "run", cmd_run, "poll and deliver on a schedule until stopped")
    poll = _command(sub, "poll", cmd_poll, "one cycle of every mailbox plus an outbox flush")
    poll.add_argument("--once", action="store_true", required=True, help="run one cycle and exit")
    _command(sub, "check-config", cmd_check_config, "validate the file and try the IMAP and SMTP logins")
    db = _command(sub, "db", None, "database schema").add_subparsers(required=True, metavar="ACTION")
    _command(db, "upgrade", cmd_db_upgrade, "apply migrations")
    imp = _command(sub, "import", cmd_import, "record mail since a date as cases, sending nothing")
    imp.add_argument("--since", type=_date, required=True, help="YYYY-MM-DD")
    imp.add_argument("--mailbox", help="only this mailbox (default: all)")
    _cases_commands(sub)
    _inspection_commands(sub)
    _digest_commands(sub)
    return top


def _command(sub, name: str, func: Callable | None, help_text: str) -> argparse.ArgumentParser:  # type: ignore[no-untyped-def]
    command = sub.add_parser(name, help=help_text, description=help_text)
    if func is not None:
        command.set_defaults(func=func)
    return command


def _cases_commands(sub) -> None:  # type: ignore[no-untyped-def]
    group = _command(sub, "cases", None, "look at cases").add_subparsers(required=True, metavar="ACTION")
    listing = _command(group, "list", cmd_cases_list, "list cases")
    listing.add_argument("--json", action="store_true")
    listing.add_argument("--status", choices=("open", "closed", "recorded"))
    show = _command(group, "show", cmd_cases_show, "one case with its correspondence")
    show.add_argument("ref")
    show.add_argument("--json", action="store_true")
    escalate = _command(group, "escalate", cmd_cases_escalate, "move a case to its policy's next stage")
    escalate.add_argument("ref")
    extend = _command(group, "extend", cmd_cases_extend, "extend the current stage's response date")
    extend.add_argument("ref")
    extend.add_argument("--by", type=int, required=True, help="days, in the policy's extension unit")
    extend.add_argument("--reason", required=True)
    extend.add_argument("--agreed", action="store_true", help="the complainant agreed to the new date")
    outcome = _command(group, "outcome", cmd_cases_outcome, "record the stage's outcome and send the letter")
    outcome.add_argument("ref")
    outcome.add_argument("--decision", required=True, choices=stages.OUTCOMES)
    outcome.add_argument("--reasons", default="")
    outcome.add_argument("--remedy", default="")
    outcome.add_argument("--actions", default="", help="outstanding actions and when they will be done")
    close = _command(group, "close", cmd_cases_close, "close a case")
    close.add_argument("ref")


def _inspection_commands(sub) -> None:  # type: ignore[no-untyped-def]
    evaluation = _command(sub, "eval", cmd_eval, "confusion table and precision/recall on labelled mail")
    evaluation.add_argument("directory", type=Path, help="folder of .eml files")
    evaluation.add_argument("--labels", type=Path, required=True, help="CSV: file,kind,flags")
    classify = _command(sub, "classify", cmd_classify, "classify .eml files offline; changes nothing")
    classify.add_argument("files", nargs="+", type=Path)
    classify.add_argument("--json", action="store_true")
    policy = _command(sub, "policy", None, "complaints policy files").add_subparsers(
        required=True, metavar="ACTION"
    )
    check = _command(policy, "check", cmd_policy_check, "validate a policy file")
    check.add_argument("file", type=Path)
    explain_cmd = _command(policy, "explain", cmd_policy_explain, "print a policy's whole timeline")
    explain_cmd.add_argument("--policy", required=True, help="policy name (see rules/policies/)")
    explain_cmd.add_argument("--received", type=_datetime, required=True, help='e.g. "2026-12-23 16:30"')
    shunted = _command(sub, "shunted", None, "messages that failed").add_subparsers(
        required=True, metavar="ACTION"
    )
    _command(shunted, "list", cmd_shunted_list, "list shunted messages with their errors")
    retry = _command(shunted, "retry", cmd_shunted_retry, "process a shunted message again")
    retry.add_argument("id", type=int)
    outbox = _command(sub, "outbox", None, "outgoing mail").add_subparsers(required=True, metavar="ACTION")
    _command(outbox, "list", cmd_outbox_list, "mail not yet sent, held or failed")
    release = _command(outbox, "release", cmd_outbox_release, "send a held or failed message again")
    release.add_argument("id", type=int)


def _digest_commands(sub) -> None:  # type: ignore[no-untyped-def]
    weekly = _command(sub, "digest", cmd_digest, "the weekly digest for each lead: preview it or send it")
    mode = weekly.add_mutually_exclusive_group(required=True)
    mode.add_argument("--preview", action="store_true", help="render it; send nothing")
    mode.add_argument("--send", action="store_true", help="queue it for each lead who has not had it")
    weekly.add_argument("--week", help="the ISO week it is sent in, e.g. 2026-W47 (default: the latest due)")
    weekly.add_argument("--lead", help="one lead's address (default: every lead; a preview shows the first)")
    weekly.add_argument("--out", type=Path, help="with --preview: write the HTML here (default: print text)")
    board = _command(sub, "report", cmd_report, "the board's numbers for a period; names no complainant")
    board.add_argument("--from", dest="start", type=_date, required=True, help="first day, YYYY-MM-DD")
    board.add_argument("--to", dest="end", type=_date, required=True, help="last day (included), YYYY-MM-DD")
    board.add_argument("--format", choices=report.FORMATS, default="csv")


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def _datetime(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a date and time like '2026-12-23 16:30', got {text!r}"
        ) from None


def _config(args: argparse.Namespace) -> Config:
    return load_config(args.config, os.environ)


@contextmanager
def opened_app(args: argparse.Namespace) -> Iterator[App]:
    """The app for one command; its database connections are closed whatever happens."""
    app = build_app(_config(args))
    try:
        yield app
    finally:
        app.close()


# --- commands ---------------------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    with opened_app(args) as app:
        scheduler = jobs.schedule(app)
        # systemd and containers stop services with SIGTERM: stop as for Ctrl-C; a running poll ends first.
        signal.signal(signal.SIGTERM, _stop_on_signal)
        log = logging.getLogger(__name__)
        log.info("mailbot running: %d mailbox(es); Ctrl-C to stop", len(app.config.mailboxes))
        try:
            scheduler.start()
        except (KeyboardInterrupt, SystemExit):
            log.info("stopping")
        finally:
            if scheduler.running:
                scheduler.shutdown(wait=True)
    return 0


def _stop_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(0)


def cmd_poll(args: argparse.Namespace) -> int:
    with opened_app(args) as app:
        report = jobs.poll_cycle(app)
    for intake in report.intake:
        if intake.baseline is not None:
            print(
                f"{intake.mailbox}: first contact; {intake.baseline} message(s) already there left alone "
                "(record them with `mailbot import --since DATE`)"
            )
        else:
            print(f"{intake.mailbox}: {intake.fetched} new message(s)")
    p, d = report.processing, report.delivery
    print(
        f"processed {p.processed}, shunted {p.shunted}; sent {d.sent}, retrying {d.retrying}, "
        f"failed {d.failed}, held {d.held}; filed {report.filed} in Sent"
    )
    for error in report.errors:
        print(f"error: {error}", file=sys.stderr)
    return 1 if report.errors else 0


def cmd_check_config(args: argparse.Namespace) -> int:
    config = _config(args)
    load_policies(config.cases.policies_dir)
    print(f"{config.path}: configuration is valid")
    if config.staff is None:
        print("warning: no [staff] directory: safeguarding alerts and bounce notices will reach nobody")
    failures = 0
    for box in config.mailboxes:
        failures += _report_check(lambda box=box: mailbox.check_login(box), f"mailbox {box.name}")
    failures += _report_check(lambda: asyncio.run(smtp.check_login(config.smtp)), "smtp")
    return 1 if failures else 0


def _report_check(check: Callable[[], str], what: str) -> int:
    try:
        print(f"ok   {check()}")
        return 0
    except (mailbox.MailboxError, OSError, smtp.aiosmtplib.SMTPException) as exc:
        print(f"FAIL {what}: {exc}")
        return 1


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    engine = make_engine(_config(args).database_url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    print("database is up to date")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    with opened_app(args) as app:
        for box in app.config.mailboxes:
            if not args.mailbox or box.name == args.mailbox:
                print(_import_mailbox(app, box, args.since))
    return 0


def _import_mailbox(app: App, box: MailboxConfig, since: date) -> str:
    with mailbox.connect(box) as client:
        stored = mailbox.import_since(app, client, box, since)
        report = process_pending(app)
        mailbox.mark_done(app, client, box)
    return (
        f"{box.name}: imported {stored} message(s) since {since}; processed {report.processed}, "
        f"shunted {report.shunted}; nothing was sent"
    )


def cmd_cases_list(args: argparse.Namespace) -> int:
    with opened_app(args) as app, app.sessions() as session:
        found = records.list_cases(session, args.status)
        if args.json:
            print(json.dumps([records.as_dict(c, correspondence=False) for c in found], indent=2))
        for case in [] if args.json else found:
            print(records.one_line(case))
    return 0


def _find_case(session: Session, ref: str) -> Case:
    case = records.case_by_reference(session, ref)
    if case is None:
        raise UsageError(f"no case {ref!r} (see `mailbot cases list`)")
    return case


def cmd_cases_show(args: argparse.Namespace) -> int:
    with opened_app(args) as app, app.sessions() as session:
        case = _find_case(session, args.ref)
        print(json.dumps(records.as_dict(case), indent=2) if args.json else records.describe(case))
    return 0


def _on_case(args: argparse.Namespace, change: Callable[[Session, App, Case, str], str]) -> int:
    """Apply one staff action to a case in one transaction; its letter goes at the next outbox flush."""
    with opened_app(args) as app, app.sessions.begin() as session:
        print(change(session, app, _find_case(session, args.ref), f"cli:{getpass.getuser()}"))
    print("Letters are sent at the next outbox flush (`mailbot poll --once`, or the running `mailbot run`).")
    return 0


def cmd_cases_escalate(args: argparse.Namespace) -> int:
    return _on_case(args, lambda s, app, case, actor: actions.escalate_case(s, app, case, actor, app.clock()))


def cmd_cases_extend(args: argparse.Namespace) -> int:
    return _on_case(
        args,
        lambda s, app, case, actor: actions.extend_case(
            s, app, case, args.by, args.reason, args.agreed, actor, app.clock()
        ),
    )


def cmd_cases_outcome(args: argparse.Namespace) -> int:
    return _on_case(
        args,
        lambda s, app, case, actor: actions.record_case_outcome(
            s, app, case, args.decision, app.clock(), actor, args.reasons, args.remedy, args.actions
        ),
    )


def cmd_cases_close(args: argparse.Namespace) -> int:
    return _on_case(args, lambda s, app, case, actor: actions.close_case(s, case, actor, app.clock()))


def cmd_digest(args: argparse.Namespace) -> int:
    with opened_app(args) as app:
        print(digest.run_digest_command(app, args.week, args.lead, args.out, args.send))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    with opened_app(args) as app:
        print(report.run_report_command(app, args.start, args.end, args.format), end="")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    config = _config(args)
    chain = load_chain(config.cases.classify_rules)
    print(run_eval(args.directory, args.labels, chain, config.own_addresses))
    return 0


def cmd_classify(args: argparse.Namespace) -> int:
    with opened_app(args) as app:
        results = [_classify_file(app, path) for path in args.files]
    if args.json:
        print(json.dumps(results, indent=2))
    for result in [] if args.json else results:
        case = f" -> {result['case']}" if result["case"] else ""
        flags = " ".join(result["flags"])
        print(
            f"{result['file']}: {result['kind']} {flags}".rstrip()
            + f"{case}  [{', '.join(result['rules_hit'])}]"
        )
    return 0


def _classify_file(app: App, path: Path) -> dict[str, object]:
    try:
        mail = parse_mail(path.read_bytes())
    except (OSError, UnparseableMail) as exc:
        raise UsageError(f"{path}: {exc}") from None
    verdict, lookup = classify_only(app, mail)
    match = lookup.match
    return {
        "file": str(path), "kind": verdict.kind, "flags": list(verdict.flags),
        "rules_hit": list(verdict.rules_hit), "case": match.case_ref if match else None,
        "matched_by": match.matched_by if match else None, "note": lookup.refused,
    }  # fmt: skip


def cmd_policy_check(args: argparse.Namespace) -> int:
    policy = check_policy_file(args.file)
    print(f"{args.file}: policy {policy.name!r} is valid ({len(policy.stages)} stage(s))")
    return 0


def cmd_policy_explain(args: argparse.Namespace) -> int:
    # Works without a configuration file too, from the presets shipped beside the code.
    directory = _config(args).cases.policies_dir if args.config.exists() else Path("rules/policies")
    policies = load_policies(directory)
    if args.policy not in policies:
        raise UsageError(f"no policy {args.policy!r}; available: {', '.join(sorted(policies))}")
    print(explain(policies[args.policy], args.received))
    return 0


def cmd_shunted_list(args: argparse.Namespace) -> int:
    with opened_app(args) as app, app.sessions() as session:
        for row in session.scalars(select(InboundMessage).where(InboundMessage.state == "shunted")):
            last_line = (row.error or "").strip().splitlines()[-1:] or [""]
            print(f"{row.id}\t{row.mailbox}\tUID {row.uid}\t{row.message_id or '-'}\t{last_line[0]}")
    return 0


def cmd_shunted_retry(args: argparse.Namespace) -> int:
    with opened_app(args) as app:
        with app.sessions.begin() as session:
            row = session.get(InboundMessage, args.id)
            if row is None or row.state != "shunted":
                raise UsageError(f"message {args.id} is not shunted (see `mailbot shunted list`)")
            row.state, row.error = "fetched", None
        state = process_one(app, args.id)
    print(f"message {args.id}: {state}")
    return 0 if state == "processed" else 1


def cmd_outbox_list(args: argparse.Namespace) -> int:
    with opened_app(args) as app, app.sessions() as session:
        for row in session.scalars(select(Outbox).where(Outbox.state != "sent").order_by(Outbox.id)):
            print(
                f"{row.id}\t{row.state}\t{row.purpose}\t{', '.join(row.recipients)}\t"
                f"attempts {row.attempts}\t{row.last_error or ''}"
            )
    return 0


def cmd_outbox_release(args: argparse.Namespace) -> int:
    with opened_app(args) as app, app.sessions.begin() as session:
        row = session.get(Outbox, args.id)
        if row is None or row.state not in ("held", "failed"):
            raise UsageError(f"outbox {args.id} is not held or failed (see `mailbot outbox list`)")
        now = app.clock()
        row.state, row.next_attempt_at = "pending", now
        row.deliver_until = now + (row.deliver_until - row.created_at)
    print(f"outbox {args.id} released; it will be sent at the next flush")
    return 0
