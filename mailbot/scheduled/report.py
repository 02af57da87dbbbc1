"""The board's numbers over a period: items received by kind, complaints entering each stage, acknowledgements
and responses on time, outcomes and referrals to the ombudsman. Counted in SQL (one GROUP BY per measure, the
same on SQLite and PostgreSQL) and written as CSV or HTML. Counts only: nothing here names a complainant.

The weekly digest (``digest/figures.py``) draws its percentages from the same queries, so a lead's Monday
figures and the annual report never disagree.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from html import escape
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, and_, case, cast, func, literal, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from mailbot.db.models import Case, CaseEvent, StageRecord
from mailbot.errors import UserError
from mailbot.vocabulary import FEEDBACK_KINDS, OUTCOMES, Kind

if TYPE_CHECKING:
    from mailbot.app import App

KIND_LABELS = {
    Kind.COMPLAINT: "complaints",
    Kind.CONCERN: "concerns",
    Kind.COMMENT: "comments",
    Kind.COMPLIMENT: "compliments",
    Kind.OUT_OF_SCOPE: "outside the procedure",
}
# A referral is recorded only as the letter giving the ombudsman's details: routing.on_case.escalate sends the
# "signpost" letter when a complainant asks to go beyond the last stage, and notices.send_letter writes
# "<letter> queued" on the case for every letter it queues. No other event records a referral.
REFERRAL_EVENT = "signpost queued"
FORMATS = ("csv", "html")


class ReportError(UserError):
    """A report asked for wrongly (dates the wrong way round, an unknown format); says what would do."""


# --- periods and local dates ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """Local dates ``start`` to ``end`` inclusive, with the UTC instants [since, until) that bound them."""

    start: date
    end: date
    since: datetime
    until: datetime

    @classmethod
    def of(cls, start: date, end: date, zone: ZoneInfo) -> Span:
        return cls(start, end, local_midnight(start, zone), local_midnight(end + timedelta(days=1), zone))


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def _offset_minutes(zone: ZoneInfo, moment: datetime) -> int:
    offset = moment.astimezone(zone).utcoffset()
    return int(offset.total_seconds() // 60) if offset else 0


def _change_between(zone: ZoneInfo, before: datetime, after: datetime) -> datetime:
    """The first whole minute after ``before`` on the offset ``after`` has (a clock change lies between)."""
    while after - before > timedelta(minutes=1):
        middle = (before + (after - before) / 2).replace(second=0, microsecond=0)
        if _offset_minutes(zone, middle) == _offset_minutes(zone, before):
            before = middle
        else:
            after = middle
    return after


@dataclass(frozen=True)
class LocalDates:
    """SQL for "the organisation's local date of this stored UTC instant".

    PostgreSQL converts with ``AT TIME ZONE``. SQLite knows no time zones and stores instants as UTC text, so
    the UTC offsets in force over the span of interest are written into the query as a CASE (two clock
    changes a year) and applied with ``date(instant, '+60 minutes')``: exact within the span.
    """

    dialect: str
    zone: ZoneInfo
    changes: tuple[tuple[datetime, int], ...]  # (from this UTC instant, the offset in minutes), in order
    first_offset: int

    @classmethod
    def over(cls, session: Session, zone: ZoneInfo, since: datetime, until: datetime) -> LocalDates:
        cursor = since.replace(minute=0, second=0, microsecond=0)
        first = offset = _offset_minutes(zone, cursor)
        changes: list[tuple[datetime, int]] = []
        while cursor < until:
            following = cursor + timedelta(days=1)
            if _offset_minutes(zone, following) != offset:
                offset = _offset_minutes(zone, following)
                changes.append((_change_between(zone, cursor, following), offset))
            cursor = following
        return cls(session.get_bind().dialect.name, zone, tuple(changes), first)

    def of(self, column: Any) -> ColumnElement[Any]:
        if self.dialect == "postgresql":
            return cast(func.timezone(self.zone.key, column), Date)
        return func.date(column, self._sqlite_shift(column))

    def _sqlite_shift(self, column: Any) -> ColumnElement[Any]:
        offsets = [self.first_offset, *(offset for _, offset in self.changes)]
        whens = [(column < at, _minutes(offsets[i])) for i, (at, _) in enumerate(self.changes)]
        return case(*whens, else_=_minutes(offsets[-1])) if whens else literal(_minutes(offsets[0]))


def _minutes(offset: int) -> str:
    return f"{offset:+d} minutes"


def dates_for(session: Session, zone: ZoneInfo, span: Span, now: datetime) -> LocalDates:
    """Local dates good for anything acknowledged or answered about a deadline in ``span``: a late answer can
    come months after its due date, an early one well before it."""
    return LocalDates.over(
        session, zone, span.since - timedelta(days=400), max(span.until, now) + timedelta(days=1)
    )


# --- the measures -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OnTime:
    """Deadlines met out of those that have been decided: kept, or passed without the action."""

    on_time: int = 0
    measured: int = 0

    @property
    def percent(self) -> float | None:
        return round(100 * self.on_time / self.measured, 1) if self.measured else None

    def __str__(self) -> str:
        if self.percent is None:
            return "no dates due"
        return f"{self.percent:.0f}% ({self.on_time} of {self.measured})"

    def __add__(self, other: OnTime) -> OnTime:
        return OnTime(self.on_time + other.on_time, self.measured + other.measured)


def total(by_stage: Mapping[str, OnTime]) -> OnTime:
    return sum(by_stage.values(), OnTime())


def _counts(session: Session, statement: Any) -> dict[str, int]:
    return {str(key): int(n) for key, n in session.execute(statement)}


def received_by_kind(session: Session, span: Span) -> dict[str, int]:
    in_span = and_(Case.received_at >= span.since, Case.received_at < span.until)
    return _counts(session, select(Case.kind, func.count()).where(in_span).group_by(Case.kind))


def entered_by_stage(session: Session, span: Span) -> dict[str, int]:
    """Complaints starting each stage in the span: new complaints at the first, escalations after it."""
    statement = (
        select(StageRecord.stage, func.count())
        .join(Case, Case.id == StageRecord.case_id)
        .where(
            Case.kind == Kind.COMPLAINT,
            StageRecord.started_at >= span.since,
            StageRecord.started_at < span.until,
        )
        .group_by(StageRecord.stage)
    )
    return _counts(session, statement)


def _on_time(
    session: Session, due: Any, done: Any, dates: LocalDates, span: Span, today: date
) -> dict[str, OnTime]:
    kept = func.sum(case((and_(done.is_not(None), dates.of(done) <= due), 1), else_=0))
    decided = func.sum(case((or_(done.is_not(None), due < today), 1), else_=0))
    statement = (
        select(StageRecord.stage, kept, decided)
        .where(due >= span.start, due <= span.end)
        .group_by(StageRecord.stage)
    )
    return {stage: OnTime(int(k or 0), int(d or 0)) for stage, k, d in session.execute(statement)}


def acknowledged_on_time(session: Session, dates: LocalDates, span: Span, today: date) -> dict[str, OnTime]:
    """Per stage, acknowledgements due in the span: sent by the due date, out of those sent or late."""
    return _on_time(session, StageRecord.acknowledge_due, StageRecord.acknowledged_at, dates, span, today)


def responded_on_time(session: Session, dates: LocalDates, span: Span, today: date) -> dict[str, OnTime]:
    """Per stage, responses due in the span (an agreed extension moves the date), as for acknowledgements."""
    due = func.coalesce(StageRecord.extended_to, StageRecord.respond_due, type_=Date)
    return _on_time(session, due, StageRecord.responded_at, dates, span, today)


def outcomes_by_stage(session: Session, span: Span) -> dict[str, dict[str, int]]:
    statement = (
        select(StageRecord.stage, StageRecord.outcome, func.count())
        .where(StageRecord.responded_at >= span.since, StageRecord.responded_at < span.until)
        .where(StageRecord.outcome.is_not(None))
        .group_by(StageRecord.stage, StageRecord.outcome)
    )
    found: dict[str, dict[str, int]] = {}
    for stage, outcome, n in session.execute(statement):
        found.setdefault(stage, {})[outcome] = int(n)
    return found


def ombudsman_referrals(session: Session, span: Span) -> int:
    statement = select(func.count(func.distinct(CaseEvent.case_id))).where(
        CaseEvent.action == REFERRAL_EVENT, CaseEvent.at >= span.since, CaseEvent.at < span.until
    )
    return int(session.scalar(statement) or 0)


# --- the report -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BoardReport:
    organisation: str
    span: Span
    stage_labels: Mapping[str, str]  # in the policy's order
    received: Mapping[str, int]
    entered: Mapping[str, int]
    acknowledged: Mapping[str, OnTime]
    responded: Mapping[str, OnTime]
    outcomes: Mapping[str, Mapping[str, int]]
    ombudsman: int

    @property
    def stages(self) -> list[str]:
        seen = {*self.entered, *self.acknowledged, *self.responded, *self.outcomes}
        return [s for s in self.stage_labels if s in seen] + sorted(seen - set(self.stage_labels))

    def label(self, stage: str) -> str:
        return self.stage_labels.get(stage, stage)


def stage_labels(app: App) -> dict[str, str]:
    """Stage names in procedure order with their labels: the configured mailboxes' policies first."""
    used = [app.policy_for(box.name) for box in app.config.mailboxes]
    others = [p for name, p in sorted(app.policies.items()) if p not in used]
    ordered = sorted(
        (
            (index, stage.name, stage.label)
            for policy in [*used, *others]
            for index, stage in enumerate(policy.stages)
        ),
        key=lambda item: item[0],
    )
    labels: dict[str, str] = {}
    for _, name, label in ordered:
        labels.setdefault(name, label)
    return labels


def board_report(app: App, start: date, end: date) -> BoardReport:
    zone = ZoneInfo(app.config.timezone)
    span, now = Span.of(start, end, zone), app.clock()
    today = now.astimezone(zone).date()
    with app.sessions() as session:
        dates = dates_for(session, zone, span, now)
        return BoardReport(
            app.config.organisation.name, span, stage_labels(app), received_by_kind(session, span),
            entered_by_stage(session, span), acknowledged_on_time(session, dates, span, today),
            responded_on_time(session, dates, span, today), outcomes_by_stage(session, span),
            ombudsman_referrals(session, span),
        )  # fmt: skip


Row = tuple[str, str, int | str, int | str, float | str]


def report_rows(report: BoardReport) -> list[Row]:
    """(section, item, count, out of, percent) — the same rows for CSV and HTML."""
    rows: list[Row] = [("period", f"{report.span.start} to {report.span.end}", "", "", "")]
    kinds = [*FEEDBACK_KINDS, *sorted(set(report.received) - set(FEEDBACK_KINDS))]
    rows += [("received", KIND_LABELS.get(k, k), report.received.get(k, 0), "", "") for k in kinds]
    rows += [
        ("complaints entering stage", report.label(s), report.entered.get(s, 0), "", "")
        for s in report.stages
    ]
    rows += _on_time_rows("acknowledged on time", report, report.acknowledged)
    rows += _on_time_rows("responded on time", report, report.responded)
    rows += _outcome_rows(report)
    rows.append(("referred to the ombudsman", "given the ombudsman's details after the final stage",
                 report.ombudsman, "", ""))  # fmt: skip
    return rows


def _percent(part: int, whole: int) -> float | str:
    return round(100 * part / whole, 1) if whole else ""


def _on_time_rows(section: str, report: BoardReport, by_stage: Mapping[str, OnTime]) -> list[Row]:
    rows: list[Row] = [
        (section, report.label(s), t.on_time, t.measured, _percent(t.on_time, t.measured))
        for s in report.stages
        if (t := by_stage.get(s)) is not None
    ]
    whole = total(by_stage)
    return [
        *rows,
        (section, "all stages", whole.on_time, whole.measured, _percent(whole.on_time, whole.measured)),
    ]


def _outcome_rows(report: BoardReport) -> list[Row]:
    rows: list[Row] = []
    for stage in report.stages:
        found = report.outcomes.get(stage, {})
        decided = sum(found.values())
        for outcome in [*OUTCOMES, *sorted(set(found) - set(OUTCOMES))]:
            n = found.get(outcome, 0)
            rows.append(("outcome", f"{report.label(stage)}: {outcome}", n, decided, _percent(n, decided)))
    return rows


def as_csv(report: BoardReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("section", "item", "count", "out_of", "percent"))
    writer.writerows(tuple(_inert(cell) for cell in row) for row in report_rows(report))
    return out.getvalue()


# A cell a spreadsheet would read as a formula (OWASP "CSV injection"): stage labels and outcomes come from
# the policy files and staff, not from mail, but whoever opens the report in Excel should never run one.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _inert(cell: object) -> object:
    return "'" + cell if isinstance(cell, str) and cell.startswith(_FORMULA_START) else cell


CELL = "padding: 4px 10px; border-bottom: 1px solid #e4e7ec; text-align: {align};"


def as_html(report: BoardReport) -> str:
    """A self-contained page: inline styles only, no scripts, nothing fetched from elsewhere."""
    span = f"{_day(report.span.start)} to {_day(report.span.end)}"
    title = escape(f"{report.organisation}: complaints and feedback, {span}")
    head = "".join(_cell(h, "th", index >= 2) for index, h in enumerate(HEADINGS))
    body = "\n".join(f"<tr>{''.join(_cells(row))}</tr>" for row in report_rows(report)[1:])
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>\n'
        f'<body style="font-family: Arial, sans-serif; font-size: 14px; color: #222;">\n'
        f'<h1 style="font-size: 20px;">{title}</h1>\n'
        f'<table style="border-collapse: collapse;">\n<tr>{head}</tr>\n{body}\n</table>\n'
        f'<p style="color: #667085;">{escape(FOOTNOTE)}</p>\n</body></html>\n'
    )


HEADINGS = ("section", "item", "count", "out of", "%")
FOOTNOTE = (
    "Counts only; no complainant is identified. On time: acknowledged or answered on or before the date due "
    "(an agreed extension moves it), out of those sent or already late."
)


def _day(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def _cells(row: Iterable[object]) -> list[str]:
    return [_cell(value, "td", index >= 2) for index, value in enumerate(row)]


def _cell(value: object, tag: str, numeric: bool) -> str:
    style = CELL.format(align="right" if numeric else "left")
    return f'<{tag} style="{style}">{escape(str(value))}</{tag}>'


def run_report_command(app: App, start: date, end: date, fmt: str) -> str:
    """``mailbot report --from DATE --to DATE --format csv|html``: the report's text, for stdout."""
    if end < start:
        raise ReportError(f"--to {end} is before --from {start}; give the period's first day, then its last")
    if fmt not in FORMATS:
        raise ReportError(f"unknown format {fmt!r} (accepted: {', '.join(FORMATS)})")
    report = board_report(app, start, end)
    return as_csv(report) if fmt == "csv" else as_html(report)
