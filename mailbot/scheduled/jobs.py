"""Scheduled jobs: fetch from every mailbox, process what was fetched, deliver the outbox, and keep each
mailbox tidy (flags, Sent copies, held letters found in Sent). The same functions back ``poll --once``.

Processing and delivery never wait for IMAP: messages already stored are processed, and letters sent,
whether or not a mailbox can be reached; ``run`` also does both on the flush interval on their own.
"""

from __future__ import annotations

import imaplib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from apscheduler.schedulers.blocking import BlockingScheduler
from imapclient import IMAPClient

from mailbot.app import App
from mailbot.config.servers import MailboxConfig
from mailbot.db.transient import is_transient
from mailbot.errors import MailbotError
from mailbot.intake import mailbox, sent
from mailbot.leases import one_worker_at_a_time
from mailbot.outgoing import fates, held, sent_folder
from mailbot.outgoing.smtp import FlushReport, flush_outbox
from mailbot.pipeline import ProcessReport, process_pending
from mailbot.privacy.purge import PURGE_JOB, add_retention_job
from mailbot.scheduled.schedule import DIGEST_JOB, WATCH_JOB, add_scheduled_jobs

log = logging.getLogger(__name__)
# What a mailbox can throw at a cycle without being a fault in mailbot: it cannot be reached, it drops the
# connection, it answers NO or BAD; or the database is briefly unusable while its mail is stored.
MAILBOX_FAILURES = (MailbotError, imaplib.IMAP4.error, OSError)


@dataclass
class CycleReport:
    intake: list[mailbox.IntakeReport] = field(default_factory=list)
    processing: ProcessReport = field(default_factory=ProcessReport)
    delivery: FlushReport = field(default_factory=FlushReport)
    filed: int = 0
    errors: list[str] = field(default_factory=list)


def poll_cycle(app: App) -> CycleReport:
    """Fetch from every mailbox, process, deliver, then tidy every mailbox."""
    report = CycleReport()
    for box in app.config.mailboxes:
        fetch_mailbox(app, box, report)
    process_and_deliver(app, report)
    for box in app.config.mailboxes:
        tidy_mailbox(app, box, report)
    return report


def fetch_mailbox(app: App, box: MailboxConfig, report: CycleReport) -> None:
    """Store what is new in one mailbox; one that cannot be reached does not stop the others, or the rest."""
    log.info("mailbox %s: fetching", box.name)

    def fetch() -> None:
        with mailbox.connect(box) as client:
            report.intake.append(mailbox.fetch_new(client, box, app.sessions, app.clock))

    _in_mailbox(box, fetch, report)


def process_and_deliver(app: App, report: CycleReport) -> None:
    log.info("processing stored messages")
    report.processing = process_pending(app)
    log.info("delivering the outbox")
    report.delivery = flush(app)
    report.errors += [e for e in (report.processing.error, report.delivery.error) if e]


def tidy_mailbox(app: App, box: MailboxConfig, report: CycleReport) -> None:
    """Mark what was processed, settle held letters found in Sent, and file copies of what was sent."""

    def tidy() -> None:
        with mailbox.connect(box) as client:
            tidy_connected(app, box, client, report)

    _in_mailbox(box, tidy, report)


def tidy_connected(app: App, box: MailboxConfig, client: IMAPClient, report: CycleReport) -> None:
    """The tidying on a connection already open (the one a mailbox reader waits on with IDLE)."""
    log.info("mailbox %s: marking and filing", box.name)
    mailbox.mark_done(client, box, app.sessions, app.clock)
    with_sent = sent.with_sent_folder(client, box)  # the folder marked \\Sent, where none is named
    settled = sent_folder.settle_from_sent_folder(
        client, with_sent, app.sessions, app.clock, fates.delivery_hooks(app).on_sent
    )
    report.delivery.settled += settled
    if sent.wants_copy(box, app.config.smtp):  # not where the SMTP server files its own copy
        report.filed += sent_folder.file_sent_copies(client, with_sent, app.sessions, app.clock)


def _in_mailbox(box: MailboxConfig, work: Callable[[], None], report: CycleReport) -> None:
    try:
        work()
    except Exception as exc:
        if not (isinstance(exc, MAILBOX_FAILURES) or is_transient(exc)):
            raise
        said = str(exc) if isinstance(exc, mailbox.MailboxError) else f"mailbox {box.name!r}: {exc}"
        report.errors.append(said)
        log.error("%s", said)


def flush(app: App) -> FlushReport:
    """Send what is due; then settle held letters that a reply or bounce since refers to."""
    hooks = fates.delivery_hooks(app)
    report = flush_outbox(app.config.smtp, app.config.delivery, app.sessions, app.clock, hooks)
    if report.error is None:
        report.settled += held.resolve_from_mail(app.sessions, app.clock, hooks.on_sent)
    return report


def file_sent(app: App, report: CycleReport) -> int:
    """Tidy every mailbox (for callers that only want the Sent copies filed); returns how many were filed."""
    before = report.filed
    for box in app.config.mailboxes:
        tidy_mailbox(app, box, report)
    return report.filed - before


def schedule(app: App, deliver: Callable[[], None] | None = None, polls: bool = True) -> BlockingScheduler:
    """A poll per mailbox on its interval (unless ``polls`` is false: mailbox readers do it) and, on the
    flush interval, processing and delivery on their own (``deliver``); never two runs of one job at once."""
    scheduler = BlockingScheduler(timezone=app.config.timezone)
    defaults = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}
    for box in app.config.mailboxes if polls else ():
        scheduler.add_job(
            _poll_job,
            "interval",
            args=(app, box),
            seconds=app.config.poll_interval_seconds,
            id=f"poll:{box.name}",
            next_run_time=app.clock(),
            **defaults,
        )
    add_scheduled_jobs(scheduler, app)  # the daily deadline watch and the weekly digest
    add_retention_job(scheduler, app)  # the monthly purge under [retention]
    for job in (scheduler.get_job(i) for i in (WATCH_JOB, DIGEST_JOB, PURGE_JOB)):
        if job is None:
            continue  # the purge, under monthly_purge = false
        # Several workers may share the database: one runs each of these jobs at a time.
        scheduler.modify_job(
            job.id, func=one_worker_at_a_time, args=(app.sessions, job.id, job.func, *job.args)
        )
    scheduler.add_job(
        deliver or (lambda: _deliver_job(app)), "interval", seconds=app.config.flush_interval_seconds,
        id="flush", **defaults,
    )  # fmt: skip
    return scheduler


def _poll_job(app: App, box: MailboxConfig) -> None:
    report = CycleReport()
    fetch_mailbox(app, box, report)
    process_and_deliver(app, report)
    tidy_mailbox(app, box, report)


def _deliver_job(app: App) -> None:
    process_and_deliver(app, CycleReport())
