"""UK working days by nation: which days count, the day a complaint counts as received, and the deadlines
counted from it. Deadlines are dates in the organisation's local time."""

from __future__ import annotations

import calendar
import importlib.util
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache, lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

NATIONS = {"ENG": "England", "WLS": "Wales", "SCT": "Scotland", "NIR": "Northern Ireland"}
ONE_DAY = timedelta(days=1)


@cache
def bank_holidays(nation: str, year: int) -> frozenset[date]:
    """One nation's bank holidays (substitute days included) for one year, computed once per process.

    Always with a subdivision: ``holidays.UK()`` without one lacks Easter Monday, St Andrew's Day and more.
    """
    return frozenset(_united_kingdom()(subdiv=nation, years=year))


@cache
def _united_kingdom() -> Any:
    """The holidays package's UK calendar, loaded from its own module: ``holidays.UK`` first imports the
    package of every country (about 280 modules, 0.05-0.15 s of CPU when a process opens its first case),
    while the UK's module needs only what ``import holidays`` has loaded already. Where this version of the
    package keeps it elsewhere, or it will not load so, ``holidays.UK`` as before (the same dates:
    tests/test_workdays.py compares them)."""
    path = Path(holidays.__file__).parent / "countries" / "united_kingdom.py"
    spec = importlib.util.spec_from_file_location("mailbot.policy._uk_bank_holidays", path)
    if spec is None or spec.loader is None or not path.is_file():
        return holidays.UK
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        return module.UnitedKingdom
    except (ImportError, AttributeError, OSError):
        return holidays.UK


@dataclass(frozen=True)
class WorkingCalendar:
    """Working days in one UK nation, read in one timezone, with an optional cut-off time of day.

    Convention: "N working days from receipt" is the Nth working day after the start day (see ``start_day``);
    received Monday 10:00, 3 working days is Thursday.
    """

    nation: str = "ENG"
    timezone: str = "Europe/London"
    cutoff: time | None = None

    def __post_init__(self) -> None:
        if self.nation not in NATIONS:
            raise ValueError(f"unknown nation {self.nation!r}: expected one of {', '.join(NATIONS)}")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(
                f"unknown timezone {self.timezone!r}: expected an IANA name such as Europe/London"
            ) from err
        if self.cutoff is not None and self.cutoff.tzinfo is not None:
            raise ValueError("the cut-off is a local time of day and must not carry a timezone")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in bank_holidays(self.nation, day.year)

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        day += ONE_DAY
        while not self.is_working_day(day):
            day += ONE_DAY
        return day

    def on_or_before(self, day: date) -> date:
        """``day`` itself if it is a working day, otherwise the last working day before it."""
        while not self.is_working_day(day):
            day -= ONE_DAY
        return day

    def local_time(self, moment: datetime) -> datetime:
        """An aware moment in the calendar's timezone; a naive one is taken as already local."""
        return moment if moment.tzinfo is None else moment.astimezone(self.zone)

    def local_date(self, moment: datetime | date) -> date:
        return self.local_time(moment).date() if isinstance(moment, datetime) else moment

    def start_day(self, received: datetime | date) -> date:
        """The day of receipt for counting: the local date, or the next working day if that is not a working
        day or the message came in after the cut-off (a message at exactly the cut-off is in time)."""
        day = self.local_date(received)
        if not self.is_working_day(day) or self._after_cutoff(received):
            return self.next_working_day(day)
        return day

    def _after_cutoff(self, received: datetime | date) -> bool:
        if self.cutoff is None or not isinstance(received, datetime):
            return False
        return self.local_time(received).time() > self.cutoff

    def working_days_after(self, day: date, n: int) -> date:
        """The Nth working day after ``day`` taken as it stands (no rule for the day of receipt applied)."""
        if n < 0:
            raise ValueError(f"cannot count {n} working days: the count must not be negative")
        return _working_days_after(self, day, n)

    def add_working_days(self, received: datetime | date, n: int) -> date:
        """The Nth working day after the start day of ``received`` (a date is a day of receipt too)."""
        return self.working_days_after(self.start_day(received), n)

    def add_calendar_days(self, received: datetime | date, n: int) -> date:
        """N calendar days after the local date of receipt, brought back to a working day if it falls on one
        that is not.

        Calendar days run whether the office is open or not, so counting starts from the date the message
        actually arrived, ignoring the cut-off and closed days: the earlier reading. A deadline on a closed
        day is moved *earlier*, never later: the organisation can only be relied on to act on a working day,
        and moving it later would give the organisation time the policy does not give.
        """
        if n < 0:
            raise ValueError(f"cannot count {n} calendar days: the count must not be negative")
        return self.on_or_before(self.local_date(received) + timedelta(days=n))

    def add_calendar_months(self, received: datetime | date, n: int) -> date:
        """The last day of a period of N months beginning on the local date of receipt, brought back to a
        working day like ``add_calendar_days``: the day before the date in the later month that corresponds
        to the day of receipt (received 15 March, 6 months end 14 September), or, where that month has no
        such date, its last day (received 31 August, 6 months end on the last day of February). The rule
        for periods in months of the Civil Procedure Rules and the Tribunal Procedure Rules (e.g. SI
        2018/1082, rule 1.4) and Halsbury's statement of the common law.
        """
        if n < 0:
            raise ValueError(f"cannot count {n} months: the count must not be negative")
        start = self.local_date(received)
        year, month = divmod(start.month - 1 + n, 12)
        year, month = start.year + year, month + 1
        last = calendar.monthrange(year, month)[1]
        end = date(year, month, last) if start.day > last else date(year, month, start.day) - ONE_DAY
        return self.on_or_before(end)

    def working_days_between(self, a: date, b: date) -> int:
        """Working days after ``a`` up to and including ``b``: days left until a deadline ``b`` seen from
        today ``a``; negative when ``b`` has passed (a deadline yesterday is -1)."""
        if b < a:
            return -self.working_days_between(b, a)
        return sum(1 for k in range(1, (b - a).days + 1) if self.is_working_day(a + timedelta(days=k)))


@lru_cache(maxsize=4096)
def _working_days_after(calendar: WorkingCalendar, day: date, n: int) -> date:
    """Remembered: every case counts its deadlines (about 40 days looked at) from one of a few recent days."""
    for _ in range(n):
        day = calendar.next_working_day(day)
    return day
