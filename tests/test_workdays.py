"""Working days by nation, the day of receipt, and deadlines: every expected date below was worked out by hand
from a calendar, never by the code under test."""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from mailbot.policy.workdays import WorkingCalendar

LONDON = ZoneInfo("Europe/London")
ALL = ("ENG", "WLS", "SCT", "NIR")

# (day, nations where it is NOT a working day); every other nation works that day.
HOLIDAYS = [
    (date(2026, 12, 24), ()),  # Thu, Christmas Eve: a working day everywhere
    (date(2026, 12, 25), ALL),  # Fri, Christmas Day
    (date(2026, 12, 26), ALL),  # Sat, Boxing Day
    (date(2026, 12, 28), ALL),  # Mon, Boxing Day substitute
    (date(2026, 12, 29), ()),  # Tue
    (date(2027, 1, 1), ALL),  # Fri, New Year's Day
    (date(2027, 1, 2), ALL),  # Sat (Scotland's 2 January falls on it)
    (date(2027, 1, 4), ("SCT",)),  # Mon, substitute for 2 January in Scotland only
    (date(2027, 1, 9), ALL),  # Sat
    (date(2027, 1, 10), ALL),  # Sun
    (date(2027, 3, 26), ALL),  # Good Friday
    (date(2027, 3, 29), ("ENG", "WLS", "NIR")),  # Easter Monday: not a holiday in Scotland
    (date(2026, 11, 30), ("SCT",)),  # Mon, St Andrew's Day
    (date(2027, 3, 17), ("NIR",)),  # Wed, St Patrick's Day
    (date(2027, 7, 12), ("NIR",)),  # Mon, Battle of the Boyne
    (date(2027, 8, 2), ("SCT",)),  # Mon, Scotland's summer bank holiday
    (date(2027, 8, 30), ("ENG", "WLS", "NIR")),  # Mon, late summer bank holiday elsewhere
]


@pytest.mark.parametrize("nation", ALL)
@pytest.mark.parametrize(("day", "closed_in"), HOLIDAYS)
def test_working_days_by_nation(nation: str, day: date, closed_in: tuple[str, ...]) -> None:
    assert WorkingCalendar(nation).is_working_day(day) is (nation not in closed_in)


FIVE_PM = time(17, 0)


@pytest.mark.parametrize(
    ("nation", "cutoff", "received", "start"),
    [
        (
            "ENG",
            FIVE_PM,
            datetime(2027, 1, 11, 16, 59, tzinfo=LONDON),
            date(2027, 1, 11),
        ),  # Mon, before cut-off
        ("ENG", FIVE_PM, datetime(2027, 1, 11, 17, 0, tzinfo=LONDON), date(2027, 1, 11)),  # at it: in time
        ("ENG", FIVE_PM, datetime(2027, 1, 11, 17, 1, tzinfo=LONDON), date(2027, 1, 12)),  # after: Tue
        ("ENG", FIVE_PM, datetime(2027, 1, 8, 17, 1, tzinfo=LONDON), date(2027, 1, 11)),  # Fri after: Mon
        ("ENG", None, datetime(2027, 1, 11, 23, 59, tzinfo=LONDON), date(2027, 1, 11)),  # no cut-off
        ("ENG", None, datetime(2027, 1, 9, 10, 0, tzinfo=LONDON), date(2027, 1, 11)),  # Sat: Mon
        (
            "ENG",
            FIVE_PM,
            datetime(2026, 12, 24, 17, 30, tzinfo=LONDON),
            date(2026, 12, 29),
        ),  # Christmas Eve late
        ("SCT", FIVE_PM, datetime(2026, 12, 31, 18, 0, tzinfo=LONDON), date(2027, 1, 5)),  # Scottish New Year
        ("ENG", None, date(2027, 1, 9), date(2027, 1, 11)),  # a Saturday date
    ],
)
def test_start_day(nation: str, cutoff: time | None, received: datetime | date, start: date) -> None:
    assert WorkingCalendar(nation, cutoff=cutoff).start_day(received) == start


@pytest.mark.parametrize(
    ("nation", "cutoff", "received", "start"),
    [
        # Clocks go back at 01:00 UTC on Sun 25 Oct 2026 (BST to GMT).
        (
            "ENG",
            None,
            datetime(2026, 10, 22, 23, 30, tzinfo=UTC),
            date(2026, 10, 23),
        ),  # Thu UTC = Fri 00:30 BST
        ("ENG", None, datetime(2026, 10, 25, 0, 30, tzinfo=UTC), date(2026, 10, 26)),  # Sun 01:30 BST: Mon
        ("ENG", None, datetime(2026, 10, 26, 0, 30, tzinfo=UTC), date(2026, 10, 26)),  # Mon 00:30 GMT
        (
            "ENG",
            None,
            datetime(2026, 10, 26, 23, 30, tzinfo=UTC),
            date(2026, 10, 26),
        ),  # Mon 23:30 GMT, not Tue
        # Clocks go forward at 01:00 UTC on Sun 28 Mar 2027 (GMT to BST).
        ("ENG", None, datetime(2027, 3, 25, 23, 30, tzinfo=UTC), date(2027, 3, 25)),  # Thu 23:30 GMT
        ("ENG", None, datetime(2027, 3, 29, 0, 30, tzinfo=UTC), date(2027, 3, 30)),  # Easter Mon BST: Tue
        ("SCT", None, datetime(2027, 3, 29, 0, 30, tzinfo=UTC), date(2027, 3, 29)),  # a working Monday there
        ("ENG", None, datetime(2027, 3, 31, 23, 30, tzinfo=UTC), date(2027, 4, 1)),  # Wed UTC = Thu 00:30 BST
        ("ENG", FIVE_PM, datetime(2027, 4, 1, 15, 30, tzinfo=UTC), date(2027, 4, 1)),  # 16:30 BST: in time
        ("ENG", FIVE_PM, datetime(2027, 4, 1, 16, 30, tzinfo=UTC), date(2027, 4, 2)),  # 17:30 BST: too late
        ("ENG", FIVE_PM, datetime(2027, 4, 1, 17, 30), date(2027, 4, 2)),  # naive: already local
    ],
)
def test_start_day_across_clock_changes(
    nation: str, cutoff: time | None, received: datetime, start: date
) -> None:
    assert WorkingCalendar(nation, cutoff=cutoff).start_day(received) == start


WED_23_DEC_2026 = datetime(2026, 12, 23, 16, 30, tzinfo=LONDON)
MON_15_MAR_2027 = datetime(2027, 3, 15, 10, 0, tzinfo=LONDON)


@pytest.mark.parametrize(
    ("nation", "received", "n", "due"),
    [
        ("ENG", datetime(2027, 1, 11, 10, 0, tzinfo=LONDON), 3, date(2027, 1, 14)),  # Mon 10:00, 3 WD: Thu
        ("ENG", datetime(2027, 1, 11, 10, 0, tzinfo=LONDON), 0, date(2027, 1, 11)),
        ("ENG", WED_23_DEC_2026, 5, date(2027, 1, 4)),  # Thu 24, Tue 29, Wed 30, Thu 31, Mon 4
        ("WLS", WED_23_DEC_2026, 5, date(2027, 1, 4)),
        ("NIR", WED_23_DEC_2026, 5, date(2027, 1, 4)),
        ("SCT", WED_23_DEC_2026, 5, date(2027, 1, 5)),  # Mon 4 Jan is a Scottish holiday
        ("ENG", MON_15_MAR_2027, 10, date(2027, 3, 31)),  # Good Friday and Easter Monday skipped
        ("WLS", MON_15_MAR_2027, 10, date(2027, 3, 31)),
        ("SCT", MON_15_MAR_2027, 10, date(2027, 3, 30)),  # Easter Monday worked
        ("NIR", MON_15_MAR_2027, 10, date(2027, 4, 1)),  # St Patrick's Day skipped too
        ("ENG", date(2027, 1, 9), 1, date(2027, 1, 12)),  # a Saturday date: Mon is the day of receipt
    ],
)
def test_add_working_days(nation: str, received: datetime | date, n: int, due: date) -> None:
    assert WorkingCalendar(nation).add_working_days(received, n) == due


@pytest.mark.parametrize(
    ("nation", "cutoff", "received", "n", "due"),
    [
        ("ENG", None, WED_23_DEC_2026, 7, date(2026, 12, 30)),
        ("ENG", None, WED_23_DEC_2026, 10, date(2026, 12, 31)),  # Sat 2 Jan: back past New Year's Day
        (
            "ENG",
            None,
            datetime(2026, 12, 18, 9, 0, tzinfo=LONDON),
            10,
            date(2026, 12, 24),
        ),  # Mon 28 Dec: Thu 24
        ("ENG", None, MON_15_MAR_2027, 28, date(2027, 4, 12)),
        ("WLS", None, MON_15_MAR_2027, 14, date(2027, 3, 25)),  # Easter Monday 29 Mar: back to Thu 25
        ("SCT", None, MON_15_MAR_2027, 14, date(2027, 3, 29)),  # a working day in Scotland
        (
            "ENG",
            None,
            datetime(2027, 1, 9, 10, 0, tzinfo=LONDON),
            7,
            date(2027, 1, 15),
        ),  # from Sat: Sat, back
        (
            "ENG",
            FIVE_PM,
            datetime(2027, 1, 11, 18, 0, tzinfo=LONDON),
            7,
            date(2027, 1, 18),
        ),  # cut-off ignored
    ],
)
def test_add_calendar_days(nation: str, cutoff: time | None, received: datetime, n: int, due: date) -> None:
    assert WorkingCalendar(nation, cutoff=cutoff).add_calendar_days(received, n) == due


@pytest.mark.parametrize(
    ("received", "n", "due"),
    [
        (MON_15_MAR_2027, 6, date(2027, 9, 14)),  # 6 months beginning 15 Mar: Tue 14 Sep
        (WED_23_DEC_2026, 6, date(2027, 6, 22)),  # Tue 22 Jun
        # No 31 February: the period ends on the last day of February (Tue 29 Feb 2028), not the day before it
        # (this case said 28 Feb until 2026-11-30: one day early; SI 2018/1082 rule 1.4(2)(a)(ii)(bb)).
        (datetime(2027, 8, 31, 9, 0, tzinfo=LONDON), 6, date(2028, 2, 29)),
        (datetime(2027, 1, 14, 9, 0, tzinfo=LONDON), 1, date(2027, 2, 12)),  # Sat 13 Feb: back to Fri 12
        (datetime(2029, 1, 28, 9, 0, tzinfo=LONDON), 1, date(2029, 2, 27)),  # 28 Feb exists: the day before
        (datetime(2029, 1, 29, 9, 0, tzinfo=LONDON), 1, date(2029, 2, 28)),  # no 29 Feb 2029: its last day
        (datetime(2029, 1, 31, 9, 0, tzinfo=LONDON), 1, date(2029, 2, 28)),
        (datetime(2029, 3, 31, 9, 0, tzinfo=LONDON), 1, date(2029, 4, 30)),  # no 31 April: Mon 30 April
        (datetime(2029, 4, 30, 9, 0, tzinfo=LONDON), 1, date(2029, 5, 29)),  # 30 May exists: Tue 29 May
    ],
)
def test_add_calendar_months(received: datetime, n: int, due: date) -> None:
    assert WorkingCalendar("ENG").add_calendar_months(received, n) == due


@pytest.mark.parametrize(
    ("nation", "today", "due", "left"),
    [
        ("ENG", date(2026, 12, 23), date(2027, 1, 4), 5),
        ("ENG", date(2027, 1, 4), date(2026, 12, 23), -5),
        ("ENG", date(2027, 1, 11), date(2027, 1, 11), 0),
        ("ENG", date(2027, 1, 8), date(2027, 1, 11), 1),  # Fri to Mon
        ("ENG", date(2027, 1, 9), date(2027, 1, 11), 1),  # Sat to Mon
        ("ENG", date(2027, 1, 12), date(2027, 1, 11), -1),  # due yesterday
        ("SCT", date(2026, 12, 23), date(2027, 1, 5), 5),
    ],
)
def test_working_days_between(nation: str, today: date, due: date, left: int) -> None:
    assert WorkingCalendar(nation).working_days_between(today, due) == left


def test_a_bad_nation_names_the_accepted_values() -> None:
    with pytest.raises(ValueError, match=r"'UK'.*ENG, WLS, SCT, NIR"):
        WorkingCalendar("UK")


def test_a_bad_timezone_is_refused() -> None:
    with pytest.raises(ValueError, match="Europe/Lodnon"):
        WorkingCalendar("ENG", "Europe/Lodnon")


def test_negative_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="-1"):
        WorkingCalendar().add_working_days(date(2027, 1, 11), -1)


def test_bank_holidays_are_the_holidays_packages_own_for_every_nation_and_year() -> None:
    """The UK calendar is loaded from its own module (a tenth of a second less when a process opens its first
    case): the same days as ``holidays.UK`` gives, for every nation, substitute days included."""
    import holidays

    from mailbot.policy.workdays import NATIONS, _united_kingdom, bank_holidays

    assert _united_kingdom() is not holidays.UK  # the quicker way works with the installed package
    for nation in NATIONS:
        for year in range(2000, 2041):
            assert bank_holidays(nation, year) == frozenset(holidays.UK(subdiv=nation, years=year)), (
                nation,
                year,
            )
