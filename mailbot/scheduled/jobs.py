"""Scheduled jobs: poll every mailbox, flush the outbox. The same functions back ``mailbot poll --once``."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy.orm import Session

from mailbot.app import App
from mailbot.cases import records, stages
from mailbot.config.servers import MailboxConfig
from mailbot.db.models import Case, Outbox
from mailbot.intake import mailbox, sent
from mailbot.outgoing.smtp import FlushReport, flush_outbox
from mailbot.pipeline import ProcessReport, process_pending
from mailbot.privacy.purge import add_retention_job
from mailbot.scheduled.schedule import add_scheduled_jobs

log = logging.getLogger(__name__)
ACKNOWLEDGING = ("acknowledgement", "thank_you")


@dataclass
class CycleReport:
    intake: list[mailbox.IntakeReport] = field(default_factory=list)
    processing: ProcessReport = field(default_factory=ProcessReport)
    delivery: FlushReport = field(default_factory=FlushReport)
    filed: int = 0
    errors: list[str] = field(default_factory=list)


def poll_mailbox(app: App, box: MailboxConfig, report: CycleReport) -> None:
    """Fetch, process and mark one mailbox; a mailbox that cannot be reached does not stop the others."""
    try:
        with mailbox.connect(box) as client:
            report.intake.append(mailbox.fetch_new(client, box, app.sessions, app.clock))
            _add(report.processing, process_pending(app))
            mailbox.mark_done(client, box, app.sessions, app.clock)
    except mailbox.MailboxError as exc:
        report.errors.append(str(exc))
        log.error("%s", exc)


def poll_cycle(app: App) -> CycleReport:
    """One cycle of every mailbox, then an outbox flush and the Sent copies."""
    report = CycleReport()
    for box in app.config.mailboxes:
        poll_mailbox(app, box, report)
    report.delivery = flush(app)
    report.filed = file_sent(app, report)
    return report


def flush(app: App) -> FlushReport:
    return flush_outbox(
        app.config.smtp,
        app.config.delivery,
        app.sessions,
        app.clock,
        on_sent=lambda session, row: acknowledgement_sent(app, session, row),
    )


def acknowledgement_sent(app: App, session: Session, row: Outbox) -> None:
    if row.purpose not in ACKNOWLEDGING or row.case_id is None or row.sent_at is None:
        return
    case = session.get(Case, row.case_id)
    if case is None or case.acknowledged_at is not None:
        return
    due = stages.mark_acknowledged(case, app.policies[case.policy], row.sent_at)
    records.log_event(
        session, case, "mailbot", "acknowledged", row.sent_at, f"response due {due}" if due else ""
    )


def file_sent(app: App, report: CycleReport) -> int:
    filed = 0
    for box in app.config.mailboxes:
        if not sent.wants_copy(box, app.config.smtp):
            continue  # the SMTP server files its own copy (file_sent_copy = "auto" or "no")
        try:
            with mailbox.connect(box) as client:
                box_ = sent.with_sent_folder(client, box)
                filed += mailbox.file_sent_copies(client, box_, app.sessions, app.clock)
        except mailbox.MailboxError as exc:
            report.errors.append(str(exc))
    return filed


def _add(total: ProcessReport, more: ProcessReport) -> None:
    total.processed += more.processed
    total.shunted += more.shunted


def schedule(app: App) -> BlockingScheduler:
    """A poll per mailbox on its interval and a regular outbox flush; never two runs of one job at once."""
    scheduler = BlockingScheduler(timezone=app.config.timezone)
    defaults = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}
    for box in app.config.mailboxes:
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
    scheduler.add_job(
        flush, "interval", args=(app,), seconds=app.config.flush_interval_seconds, id="flush", **defaults
    )
    return scheduler


def _poll_job(app: App, box: MailboxConfig) -> None:
    report = CycleReport()
    poll_mailbox(app, box, report)
    flush(app)
    file_sent(app, report)
