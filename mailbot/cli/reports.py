"""``mailbot digest`` (each lead's weekly digest, previewed or sent) and ``mailbot report`` (the board's
numbers for a period)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from mailbot.cli.opening import opened_app

if TYPE_CHECKING:
    from mailbot.app import App


def cmd_digest(args: argparse.Namespace) -> int:
    from mailbot.scheduled import digest

    with opened_app(args) as app:
        week = args.week or (None if args.send else coming_week(app))
        print(digest.run_digest_command(app, week, args.lead, args.out, args.send))
    return 0


def coming_week(app: App) -> str:
    """A preview's default: the digest whose week holds today, showing what has happened so far (the latest
    one already due, the default of --send, covers a week that may have had nothing in it yet)."""
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from mailbot.scheduled.digest.week import digest_settings, digest_week

    settings, zone = digest_settings(app.config), ZoneInfo(app.config.timezone)
    today = app.clock().astimezone(zone).date()
    days_to_send_day = (settings.day - today.weekday()) % 7 or 7  # its week ends the day before it is sent
    return digest_week(today + timedelta(days=days_to_send_day), settings, zone).label


def cmd_report(args: argparse.Namespace) -> int:
    from mailbot.scheduled import report

    with opened_app(args) as app:
        print(report.run_report_command(app, args.start, args.end, args.format), end="")
    return 0
