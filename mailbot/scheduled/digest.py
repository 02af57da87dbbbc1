"""The weekly digest for each lead: what came in, what is open and how long it has left, what is overdue or at
risk, deadlines kept, what closed and what was learnt, flags and follow-ups, and twelve weeks of volumes.

Counts and percentages are GROUP BYs in SQL (``report.py`` holds the shared ones); only the open cases, a few
hundred at most, are listed from Python, because their working days left come from each policy's calendar.
Case references, kinds, services and dates are shown; complainants' names and words only to leads whose role
is configured to see them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import Text, and_, case, cast, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mailbot.config.digest import DigestSettings
from mailbot.config.staff import Person
from mailbot.db.models import Case, Outbox, SentNotice
from mailbot.errors import UserError
from mailbot.outgoing.letters import Letter
from mailbot.outgoing.outbox import Recipient, Threading, compose, outgoing_message_id, queue, refusal_reason
from mailbot.scheduled.report import (
    KIND_LABELS,
    KINDS,
    OUTCOMES,
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
from mailbot.scheduled.watch import FollowUpDue, already_sent, calendar_for, follow_ups_due

if TYPE_CHECKING:
    from mailbot.app import App
    from mailbot.config.settings import Config

log = logging.getLogger(__name__)
WATCHED_FLAGS = ("safeguarding", "elected_member", "persistent")
CHART_WEEKS = 12
CHART_WIDTH = 360  # pixels for the busiest week's bar
KIND_COLOURS = {
    "complaint": "#b42318",
    "concern": "#dc6803",
    "comment": "#1570ef",
    "compliment": "#039855",
    "out_of_scope": "#98a2b3",
}


class DigestError(UserError):
    """A digest asked for wrongly (a week written oddly, an address that is no lead); says what would do."""


def digest_settings(config: Config) -> DigestSettings:
    return config.digest or DigestSettings()


# --- which week ---------------------------------------------------------------------------------------------


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


# --- the figures --------------------------------------------------------------------------------------------


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
    follow_ups: tuple[FollowUpDue, ...]
    volumes: tuple[WeekVolume, ...]

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
            tuple(follow_ups_due(session, app, span.start, today + timedelta(days=7), settings.watch)),
            weekly_volumes(session, zone, span.start),
        )  # fmt: skip


def _year_before(end: date) -> date:
    """The first day of the twelve months ending ``end``."""
    try:
        return end.replace(year=end.year - 1) + timedelta(days=1)
    except ValueError:  # 29 February
        return date(end.year - 1, 3, 1)


def open_by_stage(session: Session) -> dict[str, int]:
    statement = select(Case.stage, func.count()).where(Case.status == "open").group_by(Case.stage)
    return {stage: int(n) for stage, n in session.execute(statement)}


OPEN_COLUMNS = (
    Case.ref, Case.kind, Case.stage, Case.policy, Case.service, Case.received_at, Case.acknowledge_due,
    Case.acknowledged_at, Case.response_due, Case.coordinator, Case.flags, Case.complainant_name,
    Case.subject,
)  # fmt: skip


def open_cases(session: Session, app: App, today: date) -> tuple[OpenCase, ...]:
    """Every open case with the next date it must keep, soonest first."""
    rows = session.execute(select(*OPEN_COLUMNS).where(Case.status == "open").order_by(Case.received_at))
    found = [_open_case(app, row, today) for row in rows]
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
        .where(carries, or_(Case.status == "open", new))
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


# --- rendering ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    """One segment of a week's bar: a table cell of a width in pixels (Outlook draws cells, not CSS bars)."""

    kind: str
    count: int
    width: int
    colour: str


def chart(volumes: tuple[WeekVolume, ...]) -> list[tuple[WeekVolume, list[Bar]]]:
    busiest = max((v.total for v in volumes), default=0) or 1
    kinds = [*KINDS, "out_of_scope"]
    return [
        (v, [Bar(k, v.counts[k], max(2, round(CHART_WIDTH * v.counts[k] / busiest)), KIND_COLOURS[k])
             for k in kinds if v.counts.get(k)])
        for v in volumes
    ]  # fmt: skip


def can_see_names(lead: Person | None, settings: DigestSettings) -> bool:
    return lead is not None and bool(set(lead.roles) & settings.names_visible_to)


def render_digest(app: App, figures: DigestFigures, lead: Person | None, settings: DigestSettings) -> Letter:
    context = {
        "organisation": app.config.organisation,
        "figures": figures,
        "week": figures.week,
        "lead": lead,
        "show_names": can_see_names(lead, settings),
        "kinds": KINDS,
        "kind_labels": KIND_LABELS,
        "kind_colours": KIND_COLOURS,
        "outcomes": OUTCOMES,
        "chart": chart(figures.volumes),
        "busiest": max((v.total for v in figures.volumes), default=0),
    }
    return app.letters.render("digest", context)


# --- sending ------------------------------------------------------------------------------------------------


def leads(app: App, only: str | None = None) -> tuple[Person, ...]:
    everyone = app.config.staff.with_role("lead") if app.config.staff else ()
    if only is None:
        return everyone
    chosen = tuple(p for p in everyone if only.strip().lower() in p.addresses)
    if not chosen:
        listed = ", ".join(p.primary for p in everyone) or "nobody has the role 'lead' in [staff]"
        raise DigestError(f"--lead: {only} is not a lead (leads: {listed})")
    return chosen


def digest_key(lead: Person, week: DigestWeek) -> str:
    return f"digest:{lead.primary}:{week.label}"


@dataclass(frozen=True)
class DigestRun:
    week: DigestWeek
    sent: tuple[str, ...] = ()  # the leads this run queued a digest for
    already: tuple[str, ...] = ()  # the leads who had this week's digest already


def send_digests(
    app: App, week: DigestWeek, only: str | None = None, settings: DigestSettings | None = None
) -> DigestRun:
    """Queue the week's digest to each lead who has not had it; figures are gathered only if one is due."""
    settings = settings or digest_settings(app.config)
    chosen = leads(app, only)
    if not chosen:
        log.warning("weekly digest %s: nobody has the role 'lead' in [staff]", week.label)
        return DigestRun(week)
    with app.sessions() as session:
        done = already_sent(session, (digest_key(p, week) for p in chosen))
    waiting = [p for p in chosen if digest_key(p, week) not in done]
    already = [p.primary for p in chosen if p not in waiting]
    if not waiting:
        return DigestRun(week, (), tuple(already))
    figures = gather(app, week, settings)
    sent = [p.primary for p in waiting if queue_digest(app, figures, p, settings)]
    already += [p.primary for p in waiting if p.primary not in sent]
    return DigestRun(week, tuple(sent), tuple(already))


def send_due_digests(app: App, settings: DigestSettings | None = None) -> DigestRun:
    """The scheduled job, and the catch-up on start: the latest digest whose time has come, to any lead still
    without it. Only the latest: after three weeks down a lead gets this week's, not three."""
    settings = settings or digest_settings(app.config)
    week = latest_week(app.clock(), settings, ZoneInfo(app.config.timezone))
    run = send_digests(app, week, settings=settings)
    log.info(
        "weekly digest %s: queued for %d lead(s), %d had it", week.label, len(run.sent), len(run.already)
    )
    return run


def queue_digest(app: App, figures: DigestFigures, lead: Person, settings: DigestSettings) -> bool:
    """Queue one lead's digest; False when it was queued before (the sent-notice key is already there)."""
    now, week = app.clock(), figures.week
    letter = render_digest(app, figures, lead, settings)
    domain = app.config.organisation.domain
    message_id = outgoing_message_id("digest", f"digest-{week.label}", lead.primary, domain)
    to = Recipient(lead.name, lead.primary)
    message = compose(app.config, to, letter, message_id, Threading(), now, auto_submitted="auto-generated")
    try:
        with app.sessions.begin() as session:
            claim = SentNotice(key=digest_key(lead, week), at=now)
            session.add(claim)
            session.flush()  # first statement of the transaction: a concurrent runner waits here, then fails
            claim.outbox_id = _queue(session, app, message, lead, now).id
    except IntegrityError:
        return False
    return True


def _queue(session: Session, app: App, message: EmailMessage, lead: Person, now: datetime) -> Outbox:
    return queue(
        session, app.config, purpose="digest", mailbox=app.config.mailboxes[0].name, message=message,
        recipients=[lead.primary], now=now, case_id=None, automatic=False,
        blocked=refusal_reason(app.config, lead.primary),
    )  # fmt: skip


# --- the command -------------------------------------------------------------------------------------------


def run_digest_command(app: App, week: str | None, lead: str | None, out: Path | None, send: bool) -> str:
    """``mailbot digest --preview [--week W] [--lead ADDR] [--out FILE.html]`` or ``mailbot digest --send``.

    Without ``--week``, the latest digest whose send time has come. A preview sends nothing; ``--send`` queues
    the digest for each lead without it (the outbox flush sends it), never twice.
    """
    settings = digest_settings(app.config)
    zone = ZoneInfo(app.config.timezone)
    chosen = week_labelled(week, settings, zone) if week else latest_week(app.clock(), settings, zone)
    if send:
        return _sent_summary(send_digests(app, chosen, lead, settings))
    return preview(app, chosen, lead, out, settings)


def preview(app: App, week: DigestWeek, lead: str | None, out: Path | None, settings: DigestSettings) -> str:
    everyone = leads(app, lead)
    person = everyone[0] if everyone else None
    letter = render_digest(app, gather(app, week, settings), person, settings)
    if out is None:
        return letter.text
    out.write_text(letter.html or "", encoding="utf-8")
    seen_by = f"as {person.name} would see it" if person else "with names hidden (no lead in [staff])"
    return f"wrote {out}: digest {week.label}, {_span_text(week)}, {seen_by}; nothing was sent"


def _sent_summary(run: DigestRun) -> str:
    lines = [f"digest {run.week.label} ({_span_text(run.week)}):"]
    lines += [f"  queued for {address}" for address in run.sent]
    lines += [f"  {address} already had it; not sent again" for address in run.already]
    if not run.sent and not run.already:
        lines.append("  nobody has the role 'lead' in [staff]; nothing was sent")
    if run.sent:
        lines.append(
            "Digests are sent at the next outbox flush (`mailbot poll --once`, or the running `mailbot run`)."
        )
    return "\n".join(lines)


def _span_text(week: DigestWeek) -> str:
    start, end = week.span.start, week.span.end
    return f"{start:%a} {start.day} {start:%b} to {end:%a} {end.day} {end:%b %Y}"
