"""Applying the retention schedule: ``mailbot privacy purge [--dry-run]`` and the monthly job under ``mailbot
run``. Expired cases lose their personal data and keep their figures (``scrub.py``), in batches of one
transaction each, so an interrupted purge leaves every case either whole or purged and the next run goes on.
The run is recorded in the privacy log with every reference it purged."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import and_, select

from mailbot.db.models import Case, InboundMessage, Outbox
from mailbot.privacy import log, retention, scrub
from mailbot.privacy.log import PrivacyAction
from mailbot.privacy.scrub import Removed

if TYPE_CHECKING:
    from mailbot.app import App

logger = logging.getLogger(__name__)
PURGE_JOB = "retention-purge"
BATCH = 100  # cases per transaction
CHUNK = 500  # ids per statement


@dataclass
class PurgeReport:
    plan: retention.RetentionPlan
    dry_run: bool
    removed: Removed = field(default_factory=Removed)
    files_deleted: int = 0

    def lines(self) -> list[str]:
        if self.dry_run:
            head = f"would purge {self.plan.summary()}"
            listed = [f"  {c.ref}: {c.why}" for c in self.plan.cases]
        else:
            head = f"purged {self.removed.summary()}, {self.files_deleted} attachment file(s) deleted"
            head += f"; {self.plan.summary()} were due"
            listed = []
        kept = [f"kept on legal hold: {', '.join(self.plan.held)}"] if self.plan.held else []
        return [head, *listed, *kept]


def run_purge(app: App, dry_run: bool = False, actor: str = "mailbot") -> PurgeReport:
    with app.sessions() as session:
        found = retention.plan(session, app.config.retention, app.clock())
    report = PurgeReport(found, dry_run)
    if dry_run or found.empty:
        return report
    for start in range(0, len(found.cases), BATCH):
        report.removed += _purge_batch(app, found.cases[start : start + BATCH])
    report.removed += _purge_rest(app, found)
    report.files_deleted = scrub.delete_blobs(app.sessions, app.config.storage_dir, report.removed.blobs)
    scrub.settle(app.engine)
    with app.sessions.begin() as session:
        log.record(session, app.clock(), actor, PrivacyAction.PURGE, _log_detail(report))
    return report


def _purge_batch(app: App, expired: list[retention.ExpiredCase]) -> Removed:
    why = {item.case_id: item.why for item in expired}
    with app.sessions.begin() as session:
        # Looked at again inside the transaction: a hold placed since the plan was made wins.
        still = select(Case).where(Case.id.in_(why), Case.purged_at.is_(None), Case.held_at.is_(None))
        cases = session.scalars(still.order_by(Case.id).with_for_update()).all()
        return scrub.purge_cases(session, [(case, why[case.id]) for case in cases], app.clock())


def _purge_rest(app: App, found: retention.RetentionPlan) -> Removed:
    """Shunted messages and mail on no case, and staff letters on no case: emptied, their rows kept."""
    removed = Removed()
    messages, letters = [*found.shunted, *found.unfiled], found.staff_mail
    with app.sessions.begin() as session:
        for start in range(0, len(messages), CHUNK):
            chosen = InboundMessage.id.in_(messages[start : start + CHUNK])
            removed.messages += scrub.empty_messages(session, and_(chosen, InboundMessage.case_id.is_(None)))
        for start in range(0, len(letters), CHUNK):
            chosen = Outbox.id.in_(letters[start : start + CHUNK])
            removed.letters += scrub.empty_letters(session, chosen, app.clock())
    return removed


def _log_detail(report: PurgeReport) -> str:
    refs = ", ".join(report.removed.cases) or "none"
    held = f"; kept on legal hold: {', '.join(report.plan.held)}" if report.plan.held else ""
    return (
        f"{report.removed.summary()}; {report.files_deleted} attachment file(s) deleted; cases: {refs}{held}"
    )


# --- the monthly job -----------------------------------------------------------------------------------


def monthly_purge(app: App) -> PurgeReport:
    report = run_purge(app)
    for line in report.lines():
        logger.info("retention purge: %s", line)
    return report


def add_retention_job(scheduler: BaseScheduler, app: App) -> None:
    """The purge once a month at ``[retention] purge_day`` and ``purge_time``, unless turned off. A run missed
    while the service was down waits for the next month: the schedule keeps data at least its period."""
    settings = app.config.retention
    if not settings.monthly_purge:
        logger.info("retention purge: monthly_purge = false; run `mailbot privacy purge` by hand")
        return
    trigger = CronTrigger(
        day=settings.purge_day, hour=settings.purge_at.hour, minute=settings.purge_at.minute,
        timezone=app.config.timezone,
    )  # fmt: skip
    scheduler.add_job(
        monthly_purge, trigger, args=(app,), id=PURGE_JOB, name="monthly retention purge", coalesce=True,
        max_instances=1, misfire_grace_time=3600, replace_existing=True,
    )  # fmt: skip
    logger.info("retention purge monthly on day %d at %s (%s)", settings.purge_day, settings.purge_at,
                app.config.timezone)  # fmt: skip
