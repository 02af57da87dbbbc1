"""Settings for the weekly digest and the daily deadline watch: the [digest] table."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any

from mailbot.config.reader import TomlReader, time_of_day
from mailbot.config.staff import ROLES

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class WatchSettings:
    at: time = time(7, 0)  # the daily run, in the organisation's time zone
    remind_working_days: int = 2  # remind the coordinator this many working days before a date falls due
    follow_up_rounds: int = 1  # how many of the policy's follow-ups after closure (every N months) to send


@dataclass(frozen=True)
class DigestSettings:
    day: int = 0  # Monday, as date.weekday()
    at: time = time(8, 0)
    at_risk_working_days: int = 5
    names_visible_to: frozenset[str] = frozenset()  # staff roles whose holders see complainants' names
    watch: WatchSettings = field(default_factory=WatchSettings)


def settings_from_table(table: Mapping[str, Any], path: Path) -> DigestSettings:
    """Read and check the [digest] table; every mistake is a ConfigError naming the ``digest.…`` key."""
    reader = TomlReader(path, table, "digest")
    settings = DigestSettings(
        day=_weekday(reader, "day"),
        at=_time_of_day(reader, "time", time(8, 0)),
        at_risk_working_days=_whole(reader, "at_risk_working_days", 5, 1, 60),
        names_visible_to=_roles(reader, "names_visible_to"),
        watch=WatchSettings(
            at=_time_of_day(reader, "watch_time", time(7, 0)),
            remind_working_days=_whole(reader, "remind_working_days", 2, 0, 30),
            follow_up_rounds=_whole(reader, "follow_up_rounds", 1, 1, 12),
        ),
    )
    reader.finish()
    return settings


def _weekday(reader: TomlReader, name: str) -> int:
    value = reader.get(name, str, "monday", "a day of the week")
    if value.strip().lower() not in WEEKDAYS:
        raise reader.error(name, f"expected a day of the week ({', '.join(WEEKDAYS)}), got {value!r}")
    return WEEKDAYS.index(value.strip().lower())


def _time_of_day(reader: TomlReader, name: str, default: time) -> time:
    value = reader.get(name, object, default)
    if (parsed := time_of_day(value)) is not None:
        return parsed
    raise reader.error(name, f'expected a local time of day such as "08:00", got {value!r}')


def _whole(reader: TomlReader, name: str, default: int, low: int, high: int) -> int:
    value = reader.get(name, int, default, f"a whole number from {low} to {high}")
    if not low <= value <= high:
        raise reader.error(name, f"expected a whole number from {low} to {high}, got {value!r}")
    return value


def _roles(reader: TomlReader, name: str) -> frozenset[str]:
    accepted = ", ".join(ROLES)
    values = reader.get(name, list, [], f"a list of staff roles (accepted: {accepted})")
    for value in values:
        if value not in ROLES:
            raise reader.error(name, f"unknown role {value!r} (accepted: {accepted})")
    return frozenset(values)
