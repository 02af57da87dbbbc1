"""The digest's figures for one week: counts and percentages as GROUP BYs in SQL (``report.py`` holds the
ones the board report shares), and the open cases listed from Python, because their working days left come
from each policy's calendar; there are a few hundred at most.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import Text, and_, case, cast, func, or_, select
from sqlalchemy.orm import Session

from mailbot.config.digest import DigestSettings
from mailbot.db.models import Case, CaseEvent, InboundMessage
from mailbot.scheduled.digest.undelivered import UndeliveredLetter, undelivered_letters
from mailbot.scheduled.digest.week import DigestWeek
from mailbot.scheduled.report import (
    OnTime,
    Span,
    acknowledged_on_time,
    dates_for,
    entered_by_stage,
    local_midnight,
    received_by_kind,
    responded_on_time,
    stage_labels,
    total,
)
from mailbot.scheduled.request_clocks import RequestStanding, calendar_for, requests_standing
from mailbot.scheduled.watch import FollowUpDue, follow_ups_due
from mailbot.vocabulary import SAFEGUARDING_ALERT_EVENT as SAFEGUARDING_EVENT
from mailbot.vocabulary import UNSURE_KIND_FLAG, CaseStatus, InboundState, Kind

if TYPE_CHECKING:
    from mailbot.app import App

WATCHED_FLAGS = ("safeguarding", "elected_member", "persistent")
CHART_WEEKS = 12


@dataclass(frozen=True)
class OpenCase:
    ref: str
    kind: str
    stage: str
    service: str | None
    received: date
    milestone: str | None  # the next date the case must keep: "acknowledgement" | "response"
    due: date | None
    days_left: int | None  # working days; negative when overdue
    coordinator: str
    flags: tuple[str, ...]
    complainant: str  # shown only to a lead whose role may see names
    subject: str


@dataclass(frozen=True)
class ClosedCase:
    ref: str
    kind: str
    service: str | None
    closed: date
    outcome: str | None
    learning: str | None


@dataclass(frozen=True)
class FlaggedCase:
    ref: str
    kind: str
    stage: str
    status: str
    received: date
    flags: tuple[str, ...]


@dataclass(frozen=True)
class WeekVolume:
    start: date
    counts: Mapping[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class DigestFigures:
    week: DigestWeek
    as_of: datetime
    at_risk_days: int
    stage_labels: Mapping[str, str]
    new_by_kind: Mapping[str, int]
    complaints_by_stage: Mapping[str, int]
    open_by_stage: Mapping[str, int]
    open_cases: tuple[OpenCase, ...]
    acknowledged_week: OnTime
    acknowledged_year: OnTime
    responded_week: OnTime
    responded_year: OnTime
    closed: tuple[ClosedCase, ...]
    closed_by_outcome: Mapping[str, int]
    flagged: tuple[FlaggedCase, ...]
    safeguarding_alerts: Mapping[str, int]  # alerts sent in the week, by category name
    follow_ups: tuple[FollowUpDue, ...]
    volumes: tuple[WeekVolume, ...]
    unconfirmed: tuple[FlaggedCase, ...] = ()  # items whose kind is a guess, until a coordinator's #kind
    spam_held: int = 0  # mail held in quarantine as spam this week
    requests: Mapping[str, int] = field(default_factory=dict)  # subject access / FOI received this week
    undelivered: tuple[UndeliveredLetter, ...] = ()  # held letters, and this week's that could not go
    open_requests: tuple[RequestStanding, ...] = ()  # subject access / FOI requests open, due or overdue
    left_out: tuple[LeftOut, ...] = ()  # people's mail judged outside our complaints this week: no case

    @property
    def overdue(self) -> list[OpenCase]:
        return [c for c in self.open_cases if c.days_left is not None and c.days_left < 0]

    @property
    def at_risk(self) -> list[OpenCase]:
        return [
            c for c in self.open_cases if c.days_left is not None and 0 <= c.days_left <= self.at_risk_days
        ]

    def label(self, stage: str) -> str:
        return self.stage_labels.get(stage, stage)

    def stages(self, counts: Mapping[str, int]) -> list[str]:
        """The stages in ``counts``, in procedure order."""
        return [s for s in self.stage_labels if s in counts] + sorted(set(counts) - set(self.stage_labels))


@dataclass(frozen=True)
class LeftOut:
    """A person's mail judged out of scope (a sales pitch, another organisation's business): no case was
    opened and nobody answered it, so the digest lists it for a person to check that none is a complaint."""

    inbound_id: int
    received: date
    mailbox: str
    sender: str
    why: str  # the rules that decided it


LEFT_OUT_LISTED = 50


def left_out(session: Session, span: Span, zone: ZoneInfo) -> tuple[LeftOut, ...]:
    statement = (
        select(InboundMessage.id, InboundMessage.received_at, InboundMessage.mailbox, InboundMessage.sender,
               InboundMessage.rules_hit)
        .where(InboundMessage.kind == Kind.OUT_OF_SCOPE, InboundMessage.case_id.is_(None))
        .where(InboundMessage.received_at >= span.since, InboundMessage.received_at < span.until)
        .order_by(InboundMessage.received_at)
        .limit(LEFT_OUT_LISTED)
    )  # fmt: skip
    return tuple(
        LeftOut(id_, at.astimezone(zone).date(), mailbox, sender or "(no sender)", ", ".join(rules or ()))
        for id_, at, mailbox, sender, rules in session.execute(statement)
    )


def gather(app: App, week: DigestWeek, settings: DigestSettings) -> DigestFigures:
    zone, now = ZoneInfo(app.config.timezone), app.clock()
    today = now.astimezone(zone).date()
    span, year = week.span, Span.of(_year_before(week.span.end), week.span.end, zone)
    with app.sessions() as session:
        dates = dates_for(session, zone, year, now)
        return DigestFigures(
            week, now, settings.at_risk_working_days, stage_labels(app),
            received_by_kind(session, span), entered_by_stage(session, span), open_by_stage(session),
            open_cases(session, app, today),
            total(acknowledged_on_time(session, dates, span, today)),
            total(acknowledged_on_time(session, dates, year, today)),
            total(responded_on_time(session, dates, span, today)),
            total(responded_on_time(session, dates, year, today)),
            closed_in(session, span, zone), closed_by_outcome(session, span), flagged(session, span, zone),
            safeguarding_by_category(session, span, _category_names(app)),
            tuple(follow_ups_due(session, app, span.start, today + timedelta(days=7), settings.watch)),
            weekly_volumes(session, zone, span.start),
            unconfirmed(session, zone), spam_held(session, span), requests_received(session, span),
            undelivered_letters(session, span, zone), requests_standing(session, app, today),
            left_out(session, span, zone),
        )  # fmt: skip


def unconfirmed(session: Session, zone: ZoneInfo) -> tuple[FlaggedCase, ...]:
    """Every item still waiting for a coordinator to confirm its kind, whatever week it came in."""
    statement = (
        select(Case.ref, Case.kind, Case.stage, Case.status, Case.received_at, Case.flags)
        .where(cast(Case.flags, Text).like(f'%"{UNSURE_KIND_FLAG}"%'))
        .order_by(Case.received_at)
    )
    return tuple(
        FlaggedCase(ref, kind, stage, status, received.astimezone(zone).date(), (UNSURE_KIND_FLAG,))
        for ref, kind, stage, status, received, _flags in session.execute(statement)
    )


def spam_held(session: Session, span: Span) -> int:
    statement = select(func.count(InboundMessage.id)).where(
        InboundMessage.state == InboundState.QUARANTINED,
        InboundMessage.fetched_at >= span.since,
        InboundMessage.fetched_at < span.until,
    )
    return int(session.scalar(statement) or 0)


def requests_received(session: Session, span: Span) -> dict[str, int]:
    statement = (
        select(Case.kind, func.count(Case.id))
        .where(
            Case.status == CaseStatus.REQUEST, Case.received_at >= span.since, Case.received_at < span.until
        )
        .group_by(Case.kind)
    )
    return {kind: int(n) for kind, n in session.execute(statement)}


def safeguarding_by_category(session: Session, span: Span, names: Mapping[str, str]) -> dict[str, int]:
    """Safeguarding alerts in the span by category; an alert naming two categories counts in both. The audit
    trail records each alert as "<categories>: <what was found>"."""
    details = session.scalars(
        select(CaseEvent.detail).where(
            CaseEvent.action == SAFEGUARDING_EVENT, CaseEvent.at >= span.since, CaseEvent.at < span.until
        )
    )
    counts: Counter[str] = Counter()
    for detail in details:
        keys = [k.strip() for k in detail.partition(":")[0].split(",") if k.strip()]
        counts.update(names.get(key, key.replace("_", " ")) for key in keys)
    return dict(counts.most_common())


def _category_names(app: App) -> dict[str, str]:
    return {category.key: category.name for category in app.screening.categories}


def _year_before(end: date) -> date:
    """The first day of the twelve months ending ``end``."""
    try:
        return end.replace(year=end.year - 1) + timedelta(days=1)
    except ValueError:  # 29 February
        return date(end.year - 1, 3, 1)


def open_by_stage(session: Session) -> dict[str, int]:
    statement = select(Case.stage, func.count()).where(Case.status == CaseStatus.OPEN).group_by(Case.stage)
    return {stage: int(n) for stage, n in session.execute(statement)}


OPEN_COLUMNS = (
    Case.ref, Case.kind, Case.stage, Case.policy, Case.service, Case.received_at, Case.acknowledge_due,
    Case.acknowledged_at, Case.response_due, Case.coordinator, Case.flags, Case.complainant_name,
    Case.subject,
)  # fmt: skip


def open_cases(session: Session, app: App, today: date) -> tuple[OpenCase, ...]:
    """Every open case with the next date it must keep, soonest first."""
    listed = select(*OPEN_COLUMNS).where(Case.status == CaseStatus.OPEN).order_by(Case.received_at)
    found = [_open_case(app, row, today) for row in session.execute(listed)]
    return tuple(sorted(found, key=lambda c: (c.days_left is None, c.days_left or 0, c.ref)))


def _open_case(app: App, row: Any, today: date) -> OpenCase:
    acknowledging = row.acknowledge_due is not None and row.acknowledged_at is None
    milestone = "acknowledgement" if acknowledging else "response"
    due = row.acknowledge_due if acknowledging else row.response_due
    left = calendar_for(app, row.policy).working_days_between(today, due) if due else None
    received = row.received_at.astimezone(ZoneInfo(app.config.timezone)).date()
    return OpenCase(
        row.ref, row.kind, row.stage, row.service, received, milestone if due else None, due, left,
        _staff_name(app, row.coordinator), tuple(row.flags or ()), row.complainant_name, row.subject,
    )  # fmt: skip


def _staff_name(app: App, address: str | None) -> str:
    person = app.config.staff.person_for(address) if app.config.staff and address else None
    return person.name if person else address or "unassigned"


def closed_in(session: Session, span: Span, zone: ZoneInfo) -> tuple[ClosedCase, ...]:
    statement = (
        select(Case.ref, Case.kind, Case.service, Case.closed_at, Case.outcome, Case.learning)
        .where(Case.closed_at >= span.since, Case.closed_at < span.until)
        .order_by(Case.closed_at)
    )
    return tuple(
        ClosedCase(ref, kind, service, closed.astimezone(zone).date(), outcome, learning)
        for ref, kind, service, closed, outcome, learning in session.execute(statement)
    )


def closed_by_outcome(session: Session, span: Span) -> dict[str, int]:
    statement = (
        select(func.coalesce(Case.outcome, "no outcome recorded"), func.count())
        .where(Case.closed_at >= span.since, Case.closed_at < span.until)
        .group_by(Case.outcome)
    )
    return {outcome: int(n) for outcome, n in session.execute(statement)}


def flagged(session: Session, span: Span, zone: ZoneInfo) -> tuple[FlaggedCase, ...]:
    """Open cases, and this week's new ones, carrying a flag a lead must know about."""
    # JSON lists are text on SQLite and `json` (kept as written) on PostgreSQL: a LIKE on the quoted flag
    # works on both, and matches "persistent" but never a longer flag that merely contains it.
    carries = or_(*(cast(Case.flags, Text).like(f'%"{flag}"%') for flag in WATCHED_FLAGS))
    new = and_(Case.received_at >= span.since, Case.received_at < span.until)
    statement = (
        select(Case.ref, Case.kind, Case.stage, Case.status, Case.received_at, Case.flags)
        .where(carries, or_(Case.status == CaseStatus.OPEN, new))
        .order_by(Case.received_at)
    )
    return tuple(
        FlaggedCase(ref, kind, stage, status, received.astimezone(zone).date(),
                    tuple(f for f in flags if f in WATCHED_FLAGS))
        for ref, kind, stage, status, received, flags in session.execute(statement)
    )  # fmt: skip


def weekly_volumes(session: Session, zone: ZoneInfo, last_start: date) -> tuple[WeekVolume, ...]:
    """Items received per week and kind for the twelve weeks ending with the digest's week: one GROUP BY over
    a CASE that puts each instant in its week (boundaries are local midnights, so clock changes are exact)."""
    starts = [last_start - timedelta(weeks=CHART_WEEKS - 1 - i) for i in range(CHART_WEEKS)]
    bounds = [local_midnight(d, zone) for d in [*starts, last_start + timedelta(weeks=1)]]
    bucket = case(*((Case.received_at < bounds[i + 1], i) for i in range(CHART_WEEKS)))
    # Grouped in an outer query: PostgreSQL cannot match a GROUP BY expression to the select list's when
    # each carries its own bound parameters.
    weeks = (
        select(bucket.label("week"), Case.kind.label("kind"))
        .where(Case.received_at >= bounds[0], Case.received_at < bounds[-1])
        .subquery()
    )
    counts: dict[int, dict[str, int]] = {i: {} for i in range(CHART_WEEKS)}
    statement = select(weeks.c.week, weeks.c.kind, func.count()).group_by(weeks.c.week, weeks.c.kind)
    for index, kind, n in session.execute(statement):
        counts[int(index)][kind] = int(n)
    return tuple(WeekVolume(start, counts[i]) for i, start in enumerate(starts))
