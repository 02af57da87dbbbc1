"""How long personal data is kept: the [retention] table, read once into RetentionSettings.

Periods run from a case's closure, or for an item never closed from the last mail on it; shunted mail, mail
that opened no case and letters to staff about no case are counted in days from when they came or went.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import time

from mailbot.config.reader import TomlReader

# The years each kind of item is kept after it is closed. Six years is the period local authority retention
# schedules commonly give individual complaints records (the limitation period for most claims, Limitation
# Act 1980); it is a default for the organisation's data protection officer to confirm (config.example.toml).
DEFAULT_YEARS = 6
KIND_KEYS = {  # the case's kind -> the key in [retention]
    "complaint": "complaint_years",
    "concern": "concern_years",
    "comment": "comment_years",
    "compliment": "compliment_years",
    "out_of_scope": "outside_procedure_years",
}
LONGEST_YEARS = 100
LONGEST_DAYS = 36500


@dataclass(frozen=True)
class RetentionSettings:
    years_after_closure: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KIND_KEYS, 6))
    not_closed_years: int = DEFAULT_YEARS  # items never closed: from the last mail on them
    shunted_days: int = 90  # messages that failed processing, kept with their tracebacks
    unfiled_days: int = 90  # mail that opened no case and joined none: auto-replies, bounces, lists, spam
    staff_mail_days: int = 365  # letters to staff about no single case (weekly digests, command replies)
    monthly_purge: bool = True  # `mailbot run` purges what has expired once a month
    purge_day: int = 1  # the day of the month it runs
    purge_at: time = time(3, 0)  # and the local time

    def years_for(self, kind: str) -> int:
        """A kind with no key of its own (one added later) is kept as long as a complaint."""
        return self.years_after_closure.get(kind, self.years_after_closure["complaint"])


def retention_from(reader: TomlReader) -> RetentionSettings:
    """Read and check the [retention] table; every mistake names the ``retention.…`` key."""
    years = {kind: _whole(reader, key, DEFAULT_YEARS, 1, LONGEST_YEARS) for kind, key in KIND_KEYS.items()}
    settings = RetentionSettings(
        years_after_closure=years,
        not_closed_years=_whole(reader, "not_closed_years", DEFAULT_YEARS, 1, LONGEST_YEARS),
        shunted_days=_whole(reader, "shunted_days", 90, 1, LONGEST_DAYS),
        unfiled_days=_whole(reader, "unfiled_days", 90, 1, LONGEST_DAYS),
        staff_mail_days=_whole(reader, "staff_mail_days", 365, 1, LONGEST_DAYS),
        monthly_purge=reader.flag("monthly_purge", True),
        purge_day=_whole(reader, "purge_day", 1, 1, 28),
        purge_at=_time_of_day(reader, "purge_time", time(3, 0)),
    )
    reader.finish()
    return settings


def _whole(reader: TomlReader, name: str, default: int, low: int, high: int) -> int:
    value = reader.get(name, int, default, f"a whole number from {low} to {high}")
    if not low <= value <= high:
        raise reader.error(name, f"expected a whole number from {low} to {high}, got {value!r}")
    return value


def _time_of_day(reader: TomlReader, name: str, default: time) -> time:
    value = reader.get(name, object, default)
    if isinstance(value, time) and value.tzinfo is None:
        return value
    if isinstance(value, str) and re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
        return time.fromisoformat(value)
    raise reader.error(name, f'expected a local time of day such as "03:00", got {value!r}')
