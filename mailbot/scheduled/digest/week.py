"""Which week a digest reports on: named by the ISO week it is sent in, covering the seven days before its
send day, so that one digest's week ends where the next one's begins."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from mailbot.config.digest import DigestSettings
from mailbot.errors import UserError
from mailbot.scheduled.report import Span

if TYPE_CHECKING:
    from mailbot.config.settings import Config


class DigestError(UserError):
    """A digest asked for wrongly (a week written oddly, an address that is no lead); says what would do."""


def digest_settings(config: Config) -> DigestSettings:
    return config.digest or DigestSettings()


@dataclass(frozen=True)
class DigestWeek:
    """One weekly digest: sent at ``send_at`` (local), reporting on the seven days before its send day, so
    that one digest's week ends where the next one's begins, whatever the send day.

    It is named by the ISO week it is sent in: the Monday digest "2026-W48", sent on Monday 23 November 2026,
    covers Monday 16 to Sunday 22 November.
    """

    label: str
    send_at: datetime
    span: Span


def digest_week(send_day: date, settings: DigestSettings, zone: ZoneInfo) -> DigestWeek:
    year, week, _ = send_day.isocalendar()
    span = Span.of(send_day - timedelta(days=7), send_day - timedelta(days=1), zone)
    return DigestWeek(f"{year}-W{week:02d}", datetime.combine(send_day, settings.at, tzinfo=zone), span)


def week_labelled(label: str, settings: DigestSettings, zone: ZoneInfo) -> DigestWeek:
    match = re.fullmatch(r"(\d{4})-W(\d{2})", label.strip().upper())
    try:
        if match is None:
            raise ValueError(label)
        send_day = date.fromisocalendar(int(match[1]), int(match[2]), settings.day + 1)
    except ValueError:
        raise DigestError(f"--week: expected an ISO week such as 2026-W47, got {label!r}") from None
    return digest_week(send_day, settings, zone)


def latest_week(now: datetime, settings: DigestSettings, zone: ZoneInfo) -> DigestWeek:
    """The most recent digest whose send time has come: the one a lead has, or should have, received."""
    today = now.astimezone(zone).date()
    send_day = today - timedelta(days=(today.weekday() - settings.day) % 7)
    week = digest_week(send_day, settings, zone)
    return week if week.send_at <= now else digest_week(send_day - timedelta(days=7), settings, zone)
