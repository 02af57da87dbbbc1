"""The dated jobs beside polling: the daily deadline watch and the weekly digest, in the organisation's time
zone, each run once on start as well, so a run missed while the bot was down is caught up.

Catching up is safe because neither job remembers anything of its own: each notice and each lead's digest is
sent under a key in ``sent_notice``, inserted in the same transaction as its outbox row. A restart, a second
``mailbot run`` or a catch-up finds the key, or loses the race to insert it, and sends nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger

from mailbot.config.digest import WEEKDAYS, DigestSettings
from mailbot.scheduled.digest import digest_settings, send_due_digests
from mailbot.scheduled.watch import run_watch

if TYPE_CHECKING:
    from mailbot.app import App

log = logging.getLogger(__name__)
WATCH_JOB = "deadline-watch"
DIGEST_JOB = "weekly-digest"
# Never two runs of one job at once; runs missed while busy or suspended collapse into one, however late
# (None: no grace limit), because each job only sends what is due and not yet sent.
JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None, "replace_existing": True}


def add_scheduled_jobs(scheduler: BaseScheduler, app: App, settings: DigestSettings | None = None) -> None:
    """Add the daily watch and the weekly digest to an APScheduler 3 scheduler (blocking or background).

    Both first run as soon as the scheduler starts: the watch to catch up a missed day, the digest to send
    the latest one whose time has passed if any lead is still without it.
    """
    settings = settings or digest_settings(app.config)
    zone = ZoneInfo(app.config.timezone)
    start = datetime.now(zone)
    watch_at = settings.watch.at
    scheduler.add_job(
        run_watch, CronTrigger(hour=watch_at.hour, minute=watch_at.minute, timezone=zone),
        args=(app, settings.watch), id=WATCH_JOB, name="daily deadline watch", next_run_time=start,
        **JOB_DEFAULTS,
    )  # fmt: skip
    scheduler.add_job(
        send_due_digests, digest_trigger(settings, zone), args=(app, settings), id=DIGEST_JOB,
        name="weekly digest", next_run_time=start, **JOB_DEFAULTS,
    )  # fmt: skip
    day = WEEKDAYS[settings.day].capitalize()
    log.info("deadline watch daily at %s; digest %ss at %s (%s)", watch_at, day, settings.at, zone.key)


def digest_trigger(settings: DigestSettings, zone: ZoneInfo) -> CronTrigger:
    at, day = settings.at, WEEKDAYS[settings.day][:3]
    return CronTrigger(day_of_week=day, hour=at.hour, minute=at.minute, timezone=zone)
