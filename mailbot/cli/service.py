"""Running the service: ``run`` on a schedule, ``poll`` (one cycle), ``check-config``, ``db upgrade``, and
``import`` of the mail already in a mailbox."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING

from mailbot.cli.opening import config_from, opened_app

if TYPE_CHECKING:
    from mailbot.app import App
    from mailbot.config.servers import MailboxConfig
    from mailbot.config.settings import Config
    from mailbot.intake.mailbox import IntakeReport
    from mailbot.scheduled.jobs import CycleReport

# The name the command's log lines have always carried, which operators' log filters may match.
log = logging.getLogger("mailbot.cli")


def cmd_run(args: argparse.Namespace) -> int:
    from mailbot.scheduled import idle, jobs

    with opened_app(args) as app:
        # Each mailbox has a reader (IDLE, or polling where it cannot); the scheduler keeps the clock jobs.
        readers, turns = idle.start_readers(app)
        scheduler = jobs.schedule(app, deliver=turns.request, polls=False)
        # systemd and containers stop services with SIGTERM: stop as for Ctrl-C; a running turn ends first.
        signal.signal(signal.SIGTERM, _stop_on_signal)
        log.info("mailbot running: %d mailbox(es); Ctrl-C to stop", len(app.config.mailboxes))
        try:
            scheduler.start()
        except (KeyboardInterrupt, SystemExit):
            log.info("stopping")
        finally:
            readers.stop()
            if scheduler.running:
                scheduler.shutdown(wait=True)
    return 0


def _stop_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(0)


def cmd_poll(args: argparse.Namespace) -> int:
    from mailbot.scheduled import jobs

    with opened_app(args) as app:
        cycle = jobs.poll_cycle(app)
    for intake in cycle.intake:
        print(intake_line(intake))
    print(cycle_summary(cycle))
    for error in cycle.errors:
        print(f"error: {error}", file=sys.stderr)
    return 1 if cycle.errors else 0


def intake_line(intake: IntakeReport) -> str:
    """What one mailbox gave this cycle; on first contact, why the mail already there was not answered."""
    if intake.baseline is not None:
        return (
            f"{intake.mailbox}: first contact; {intake.baseline} message(s) already there left alone "
            "(record them with `mailbot import --since DATE`)"
        )
    return f"{intake.mailbox}: {intake.fetched} new message(s)"


def cycle_summary(cycle: CycleReport) -> str:
    p, d = cycle.processing, cycle.delivery
    settled = f" ({d.settled} held letter(s) found delivered)" if d.settled else ""
    return (
        f"processed {p.processed}, shunted {p.shunted}; sent {d.sent}, retrying {d.retrying}, "
        f"failed {d.failed}, held {d.held}{settled}; filed {cycle.filed} in Sent"
    )


def cmd_check_config(args: argparse.Namespace) -> int:
    import asyncio

    from mailbot.intake import mailbox
    from mailbot.outgoing import smtp
    from mailbot.policy import load_policies

    config = config_from(args)
    load_policies(config.cases.policies_dir)
    print(f"{config.path}: configuration is valid")
    for line in data_lines(config):
        print(line)
    if config.staff is None:
        print(
            "warning: no [staff] directory: safeguarding alerts and bounce notices will reach nobody",
            file=sys.stderr,
        )
    failures = 0
    for box in config.mailboxes:
        failures += _report_check(lambda box=box: mailbox.check_login(box), f"mailbox {box.name}")
    failures += _report_check(lambda: asyncio.run(smtp.check_login(config.smtp)), "smtp")
    return 1 if failures else 0


def data_lines(config: Config) -> list[str]:
    """Where the policies, classification rules and letters come from: shipped with mailbot, or the
    organisation's own, named in [cases]."""
    from mailbot.config import settings

    chosen = (
        ("policies", config.cases.policies_dir, settings.SHIPPED_POLICIES),
        ("templates", config.cases.templates_dir, settings.SHIPPED_TEMPLATES),
        ("classification rules", config.cases.classify_rules, settings.SHIPPED_CLASSIFY_RULES),
    )
    return [f"{what}: {path}" + (" (shipped)" if path == shipped else "") for what, path, shipped in chosen]


def _report_check(check: Callable[[], str], what: str) -> int:
    """Print one login check's result; 1 if it failed, so the command can count its failures."""
    import aiosmtplib

    from mailbot.intake.mailbox import MailboxError

    try:
        print(f"ok   {check()}")
        return 0
    except (MailboxError, OSError, aiosmtplib.SMTPException) as exc:
        print(f"FAIL {what}: {exc}")
        return 1


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from mailbot.db.session import make_engine, upgrade

    engine = make_engine(config_from(args).database_url)
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
    from mailbot.intake import mailbox
    from mailbot.pipeline import process_pending

    with mailbox.connect(box) as client:
        stored = mailbox.import_since(client, box, since, app.sessions, app.clock)
        processing = process_pending(app)
        mailbox.mark_done(client, box, app.sessions, app.clock)
    return (
        f"{box.name}: imported {stored} message(s) since {since}; processed {processing.processed}, "
        f"shunted {processing.shunted}; nothing was sent"
    )
