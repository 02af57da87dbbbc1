"""Running the service: ``run`` on a schedule, ``poll`` (one cycle), ``check-config``, ``db upgrade``, and
``import`` of the mail already in a mailbox."""

from __future__ import annotations

import argparse
import logging
import signal
from datetime import date
from typing import TYPE_CHECKING

from mailbot.cli.opening import config_from, opened_app
from mailbot.config.reader import ConfigError

if TYPE_CHECKING:
    from collections.abc import Callable
    from wsgiref.simple_server import WSGIServer

    from apscheduler.schedulers.base import BaseScheduler

    from mailbot.app import App
    from mailbot.config.servers import MailboxConfig
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
        metrics = _serve_metrics(app, scheduler, readers.watchers)
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
            if metrics is not None:
                metrics.shutdown()
    return 0


def _serve_metrics(
    app: App, scheduler: BaseScheduler, watchers: list[Callable[[str, float], None]]
) -> WSGIServer | None:
    """[metrics] listen: the Prometheus endpoint, or None when it is off."""
    from mailbot import metrics

    watching = app.config.watching
    try:
        server = metrics.serve(app, scheduler, watchers)
    except OSError as exc:
        raise ConfigError(
            app.config.path,
            "metrics.listen",
            f"cannot listen on {watching.metrics_host}:{watching.metrics_port}: "
            f"{exc.strerror or exc}; choose a free port, or remove [metrics] to run without",
        ) from None
    if server is not None:
        log.info("metrics at http://%s:%d/metrics", watching.metrics_host, watching.metrics_port)
    return server


def _stop_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(0)


def cmd_poll(args: argparse.Namespace) -> int:
    from mailbot.cli.progress import processing_progress
    from mailbot.scheduled import jobs

    with opened_app(args) as app, processing_progress(app, "processing"):
        cycle = jobs.poll_cycle(app)
    for intake in cycle.intake:
        print(intake_line(intake))
    print(cycle_summary(cycle))
    return 1 if cycle.errors else 0  # each error was logged to stderr when it happened, once


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
    from mailbot.cli import check_config

    return check_config.cmd_check_config(args)


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
    from mailbot.cli.progress import processing_progress
    from mailbot.intake import mailbox
    from mailbot.pipeline import process_pending

    with mailbox.connect(box) as client:
        stored = mailbox.import_since(client, box, since, app.sessions, app.clock)
        with processing_progress(app, f"importing {box.name}"):
            processing = process_pending(app)
        mailbox.mark_done(client, box, app.sessions, app.clock)
    return (
        f"{box.name}: imported {stored} message(s) since {since}; processed {processing.processed}, "
        f"shunted {processing.shunted}; nothing was sent"
    )
