"""The clocks that the law, not a complaints policy, sets for a request (pure date arithmetic).

- Subject access (UK GDPR article 15(3), 12(3)): one month from the day of receipt, to the corresponding
  calendar date of the next month (received 3 September: due 3 October); where that month has no such date,
  its last day; where the date falls on a weekend or bank holiday, the next working day (ICO, "Right of
  access", "How long do we have to comply?"). Extendable by two further months where requests are complex or
  numerous: the latest date is the same calculation three months on.
- Freedom of information (FOIA 2000 s.10(1) and (6)): the twentieth working day following receipt, where a
  working day is any day but a Saturday, Sunday, Christmas Day, Good Friday or a bank holiday in ANY part of
  the United Kingdom. Scotland (FOISA 2002 s.10(1) and s.73): twenty working days, without Scotland's bank
  holidays. The day of receipt is not counted; a request arriving on a closed day counts from the next
  working day as day one, the reading that gives the requester the earlier date.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from mailbot.policy.workdays import NATIONS, bank_holidays

ONE_DAY = timedelta(days=1)
FOI_WORKING_DAYS = 20


@dataclass(frozen=True)
class RequestClock:
    law: str
    due: date
    latest_due: date | None  # the latest an extension allowed by the law may take it to


def subject_access_clock(received: date, nation: str) -> RequestClock:
    due = _on_or_after(_months_on(received, 1), (nation,))
    latest = _on_or_after(_months_on(received, 3), (nation,))
    return RequestClock("UK GDPR art. 15 (one month)", due, latest)


def foi_clock(received: date, nation: str) -> RequestClock:
    if nation == "SCT":
        return RequestClock(
            "FOISA 2002 s.10 (20 working days)", _working_days_after(received, ("SCT",)), None
        )
    return RequestClock(
        "FOIA 2000 s.10 (20 working days)", _working_days_after(received, tuple(NATIONS)), None
    )


def extended_due(due: date, days: int | None, latest: date, nation: str) -> date:
    """A subject access request's date moved on by ``days`` calendar days (to the next working day), never
    past the latest the law allows; None: the latest."""
    if days is None:
        return latest
    return min(_on_or_after(due + timedelta(days=days), (nation,)), latest)


def _months_on(day: date, months: int) -> date:
    year, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _closed(day: date, nations: tuple[str, ...]) -> bool:
    if day.weekday() >= 5:
        return True
    return any(day in bank_holidays(nation, day.year) for nation in nations)


def _on_or_after(day: date, nations: tuple[str, ...]) -> date:
    while _closed(day, nations):
        day += ONE_DAY
    return day


def _working_days_after(received: date, nations: tuple[str, ...]) -> date:
    day, counted = received, 0
    while counted < FOI_WORKING_DAYS:
        day += ONE_DAY
        if not _closed(day, nations):
            counted += 1
    return day
