"""Running the service: ``run`` on a schedule, ``poll --once``, ``check-config``, ``db upgrade``, and
``import`` of the mail already in a mailbox."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Callable
from datetime import date

import aiosmtplib

from mailbot.app import App
from mailbot.cli.opening import config_from, opened_app
from mailbot.config.settings import MailboxConfig
from mailbot.db.session import make_engine, upgrade
from mailbot.intake import mailbox
from mailbot.outgoing import smtp
from mailbot.pipeline import process_pending
from mailbot.policy.policies import load_policies
from mailbot.scheduled import jobs

# The name the command's log lines have always carried, which operators' log filters may match.
log = logging.getLogger("mailbot.cli")


def cmd_run(args: argparse.Namespace) -> int:
    with opened_app(args) as app:
        scheduler = jobs.schedule(app)
        # systemd and containers stop services with SIGTERM: stop as for Ctrl-C; a running poll ends first.
        signal.signal(signal.SIGTERM, _stop_on_signal)
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
        cycle = jobs.poll_cycle(app)
    for intake in cycle.intake:
        print(intake_line(intake))
    print(cycle_summary(cycle))
    for error in cycle.errors:
        print(f"error: {error}", file=sys.stderr)
    return 1 if cycle.errors else 0


def intake_line(intake: mailbox.IntakeReport) -> str:
    """What one mailbox gave this cycle; on first contact, why the mail already there was not answered."""
    if intake.baseline is not None:
        return (
            f"{intake.mailbox}: first contact; {intake.baseline} message(s) already there left alone "
            "(record them with `mailbot import --since DATE`)"
        )
    return f"{intake.mailbox}: {intake.fetched} new message(s)"


def cycle_summary(cycle: jobs.CycleReport) -> str:
    p, d = cycle.processing, cycle.delivery
    settled = f" ({d.settled} held letter(s) found delivered)" if d.settled else ""
    return (
        f"processed {p.processed}, shunted {p.shunted}; sent {d.sent}, retrying {d.retrying}, "
        f"failed {d.failed}, held {d.held}{settled}; filed {cycle.filed} in Sent"
    )


def cmd_check_config(args: argparse.Namespace) -> int:
    config = config_from(args)
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
    """Print one login check's result; 1 if it failed, so the command can count its failures."""
    try:
        print(f"ok   {check()}")
        return 0
    except (mailbox.MailboxError, OSError, aiosmtplib.SMTPException) as exc:
        print(f"FAIL {what}: {exc}")
        return 1


def cmd_db_upgrade(args: argparse.Namespace) -> int:
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
    with mailbox.connect(box) as client:
        stored = mailbox.import_since(client, box, since, app.sessions, app.clock)
        processing = process_pending(app)
        mailbox.mark_done(client, box, app.sessions, app.clock)
    return (
        f"{box.name}: imported {stored} message(s) since {since}; processed {processing.processed}, "
        f"shunted {processing.shunted}; nothing was sent"
    )
