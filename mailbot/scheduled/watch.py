"""The daily deadline watch: a coordinator hears before an acknowledgement or a response falls due, the leads
hear once when one is missed, and staff are reminded of follow-ups after closure.

Every notice is sent under a key in ``sent_notice`` (``outgoing/once.py``), claimed in the transaction that
queues its mail, so a restart, a second runner or a catch-up after downtime sends each notice once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from mailbot.config.digest import WatchSettings
from mailbot.db.models import Case
from mailbot.outgoing import alerts
from mailbot.outgoing.notices import LetterRequest, send_letter
from mailbot.outgoing.once import already_claimed, send_once
from mailbot.outgoing.outbox import Recipient
from mailbot.policy import MUST_TELL, Period, Policy
from mailbot.scheduled.request_clocks import calendar_for, request_notices
from mailbot.vocabulary import CaseStatus, Kind

if TYPE_CHECKING:
    from mailbot.app import App
    from mailbot.config.settings import Config

log = logging.getLogger(__name__)
# A follow-up found overdue (the bot was down when it fell due) is still sent within this long; older ones are
# left alone rather than surprise staff with a reminder about a case closed long ago.
FOLLOW_UP_CATCH_UP = timedelta(days=31)


def watch_settings(config: Config) -> WatchSettings:
    return config.digest.watch if config.digest is not None else WatchSettings()


def local_today(app: App) -> date:
    return app.clock().astimezone(ZoneInfo(app.config.timezone)).date()


# --- the dates a case must keep --------------------------------------------------------------------------


@dataclass(frozen=True)
class Deadline:
    """The current stage's acknowledgement or response, not yet done."""

    case_id: int
    ref: str
    policy: str
    stage: str
    milestone: str  # "acknowledgement" | "response"
    due: date

    def key(self, notice: str) -> str:
        return f"{notice}:{self.ref}:{self.stage}:{self.milestone}:{self.due.isoformat()}"


IMPORTED = "imported"


def open_deadlines(session: Session) -> list[Deadline]:
    """Every pending date on an open case (the case row mirrors its current stage, extension included)."""
    pending_ack = and_(Case.acknowledged_at.is_(None), Case.acknowledge_due.is_not(None))
    rows = session.execute(
        select(Case.id, Case.ref, Case.policy, Case.stage, Case.acknowledge_due, Case.acknowledged_at,
               Case.response_due, Case.flags)
        .where(Case.status == CaseStatus.OPEN, or_(pending_ack, Case.response_due.is_not(None)))
        .order_by(Case.id)
    )  # fmt: skip
    found: list[Deadline] = []
    for case_id, ref, policy, stage, ack_due, acked, respond_due, flags in rows:
        # An imported backlog was never acknowledged by us, on purpose: its response dates still count.
        if ack_due is not None and acked is None and IMPORTED not in (flags or []):
            found.append(Deadline(case_id, ref, policy, stage, "acknowledgement", ack_due))
        if respond_due is not None:
            found.append(Deadline(case_id, ref, policy, stage, "response", respond_due))
    return found


def days_left(app: App, deadline: Deadline, today: date) -> int:
    return calendar_for(app, deadline.policy).working_days_between(today, deadline.due)


# --- notices ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Notice:
    """One mail about one case to staff, sent once under ``key``."""

    key: str
    case_id: int
    letter: str  # the template: reminder | breach | follow_up
    recipients: tuple[Recipient, ...]
    details: Mapping[str, Any] = field(default_factory=dict)


def coordinator_of(session: Session, app: App, case_id: int) -> tuple[Recipient, ...]:
    """The case's coordinator or, failing that, every coordinator: whoever alerts about the case go to."""
    case = session.get(Case, case_id)
    assert case is not None  # read moments ago in this session; cases are never deleted
    return tuple(alerts.coordinator_of(app, case))


def deadline_notice(
    session: Session, app: App, deadline: Deadline, today: date, settings: WatchSettings
) -> Notice | None:
    left = days_left(app, deadline, today)
    details: dict[str, Any] = {"milestone": deadline.milestone, "due": deadline.due, "days_left": left}
    if left < 0:  # the date has passed without the acknowledgement or response: the leads answer for it
        leads = tuple(alerts.people_for(app, "lead"))
        return Notice(deadline.key("breach"), deadline.case_id, "breach", leads, details)
    if left <= settings.remind_working_days:
        people = coordinator_of(session, app, deadline.case_id)
        details["must"] = must_tell(app, deadline)
        return Notice(deadline.key("reminder"), deadline.case_id, "reminder", people, details)
    return None


def must_tell(app: App, deadline: Deadline) -> tuple[str, ...]:
    """What the policy says the acknowledgement or response must tell the complainant, in words."""
    policy = app.policies.get(deadline.policy)
    if policy is None or deadline.stage not in {s.name for s in policy.stages}:
        return ()
    stage = policy.stage(deadline.stage)
    acknowledging = deadline.milestone == "acknowledgement" and stage.acknowledge is not None
    flags = stage.acknowledge.must_tell if acknowledging and stage.acknowledge else stage.respond.must_tell
    return tuple(MUST_TELL[flag] for flag in flags)


def send_notice(app: App, notice: Notice, at: datetime) -> bool:
    """Queue the notice to each recipient unless its key is already claimed; True when this call queued it."""
    return send_once(app.sessions, notice.key, at, lambda session: _queue(session, app, notice, at))


def _queue(session: Session, app: App, notice: Notice, at: datetime) -> int | None:
    """The notice's letters, in the claim's transaction; the first outbox row's id is kept with the key."""
    case = session.get(Case, notice.case_id)
    assert case is not None
    results = [send_letter(session, app, case, _request(notice, to, at)) for to in notice.recipients]
    return next((r.outbox_id for r in results if r.outbox_id is not None), None)


def _request(notice: Notice, to: Recipient, at: datetime) -> LetterRequest:
    return LetterRequest(
        notice.letter, at, key=f"{notice.key}\0{to.address}", to=to, automatic=False,
        auto_submitted="auto-generated", details={**notice.details, "recipient": to},
    )  # fmt: skip


@dataclass(frozen=True)
class WatchReport:
    sent: tuple[str, ...] = ()  # the keys of notices queued by this run
    already: int = 0  # due, but sent before (by an earlier run or another runner)
    nobody: tuple[str, ...] = ()  # due, but there is no one in the staff directory to send them to


def send_notices(app: App, notices: list[Notice], at: datetime) -> WatchReport:
    with app.sessions() as session:
        done = already_claimed(session, (n.key for n in notices))
    sent, nobody, already = [], [], len(done)
    for notice in (n for n in notices if n.key not in done):
        if not notice.recipients:
            nobody.append(notice.key)  # no key is recorded, so it goes once someone is configured
        elif send_notice(app, notice, at):
            sent.append(notice.key)
        else:
            already += 1
    if nobody:
        log.warning("%d notice(s) due with nobody to send them to: add coordinators and leads to [staff] "
                    "(first: %s)", len(nobody), nobody[0])  # fmt: skip
    return WatchReport(tuple(sent), already, tuple(nobody))


def run_watch(app: App, settings: WatchSettings | None = None) -> WatchReport:
    """The daily run: reminders, breach alerts and follow-ups due today (or missed while the bot was down)."""
    settings = settings or watch_settings(app.config)
    today, now = local_today(app), app.clock()
    with app.sessions() as session:
        notices = notices_due(session, app, today, settings)
    report = send_notices(app, notices, now)
    log.info("deadline watch: %d notice(s) queued, %d sent before", len(report.sent), report.already)
    return report


def notices_due(session: Session, app: App, today: date, settings: WatchSettings) -> list[Notice]:
    """Each pending date's reminder or breach alert (requests' statutory ones too), then the follow-ups."""
    deadlines = open_deadlines(session)
    follow_ups = follow_ups_due(session, app, today - FOLLOW_UP_CATCH_UP, today, settings)
    notices = [deadline_notice(session, app, d, today, settings) for d in deadlines]
    # Subject access and FOI requests run on the law's dates, not the policy's (scheduled/request_clocks.py).
    requests = request_notices(session, app, today, settings.remind_working_days)
    notices += [Notice(n.key, n.case_id, n.letter, n.recipients, n.details) for n in requests]
    return [n for n in notices if n is not None] + [follow_up_notice(session, app, f) for f in follow_ups]


# --- follow-ups after closure -----------------------------------------------------------------------------


@dataclass(frozen=True)
class FollowUpDue:
    """A follow-up on a case: one the policy asks for after closure, or a date staff set (``#followup``)."""

    case_id: int
    ref: str
    kind: str
    policy: str
    service: str | None
    closed: date | None
    outcome: str | None
    coordinator: str | None
    due: date
    requested_by_staff: bool

    @property
    def key(self) -> str:
        return f"follow-up:{self.ref}:{self.due.isoformat()}"


def follow_up_notice(session: Session, app: App, due: FollowUpDue) -> Notice:
    """To the coordinator, never the complainant: the policy promises that a person checks they are happy."""
    policy = app.policies.get(due.policy)
    rule = policy.follow_up if policy else None
    by = policy.role_label(rule.by) if policy and rule and rule.by else ""
    details = {"follow_up": due, "every": str(rule.every) if rule else "", "by": by}
    return Notice(due.key, due.case_id, "follow_up", coordinator_of(session, app, due.case_id), details)


def follow_ups_due(
    session: Session, app: App, start: date, end: date, settings: WatchSettings | None = None
) -> list[FollowUpDue]:
    """Follow-ups falling due from ``start`` to ``end`` (local dates, inclusive), earliest first."""
    rounds = (settings or watch_settings(app.config)).follow_up_rounds
    found = _requested_follow_ups(session, app, start, end)
    for policy in app.policies.values():
        if policy.follow_up is not None:
            found += _policy_follow_ups(session, app, policy, start, end, rounds)
    unique = {f.key: f for f in sorted(found, key=lambda f: f.requested_by_staff)}  # one per case and day
    return sorted(unique.values(), key=lambda f: (f.due, f.ref))


FOLLOW_UP_COLUMNS = (
    Case.id, Case.ref, Case.kind, Case.policy, Case.service, Case.closed_at, Case.outcome, Case.coordinator,
)  # fmt: skip


def _follow_up(app: App, row: Any, due: date, by_staff: bool) -> FollowUpDue:
    case_id, ref, kind, policy, service, closed_at, outcome, coordinator = row[:8]
    closed = closed_at.astimezone(ZoneInfo(app.config.timezone)).date() if closed_at else None
    return FollowUpDue(case_id, ref, kind, policy, service, closed, outcome, coordinator, due, by_staff)


def _requested_follow_ups(session: Session, app: App, start: date, end: date) -> list[FollowUpDue]:
    statement = select(*FOLLOW_UP_COLUMNS, Case.follow_up_due).where(Case.follow_up_due.between(start, end))
    return [_follow_up(app, row, row[8], True) for row in session.execute(statement)]


def _policy_follow_ups(
    session: Session, app: App, policy: Policy, start: date, end: date, rounds: int
) -> list[FollowUpDue]:
    """Concluded complaints whose k-th follow-up (k = 1..rounds) falls in the period: a rough window on
    closed_at in SQL, the exact date from the policy's calendar."""
    assert policy.follow_up is not None
    found = []
    for k in range(1, rounds + 1):
        period = Period(policy.follow_up.every.count * k, policy.follow_up.every.unit)
        for row in session.execute(_closed_around(app, policy, period, start, end)):
            follow_up = _follow_up(app, row, _due_after(policy, period, row[5], app), False)
            if start <= follow_up.due <= end:
                found.append(follow_up)
    return found


def _closed_around(app: App, policy: Policy, period: Period, start: date, end: date) -> Any:
    zone = ZoneInfo(app.config.timezone)
    shortest, longest = _rough_days(period)
    return select(*FOLLOW_UP_COLUMNS).where(
        Case.policy == policy.name, Case.kind == Kind.COMPLAINT, Case.status == CaseStatus.CLOSED,
        Case.closed_at >= _midnight(start - longest, zone),
        Case.closed_at < _midnight(end - shortest + timedelta(days=1), zone),
    )  # fmt: skip


def _due_after(policy: Policy, period: Period, closed_at: datetime, app: App) -> date:
    closed = closed_at.astimezone(ZoneInfo(app.config.timezone)).date()
    return period.after(policy.calendar, closed, receipt=False)


def _rough_days(period: Period) -> tuple[timedelta, timedelta]:
    """At least and at most how many calendar days ``period`` spans (a date may be brought back to a working
    day, so the window is generous; the exact date is worked out afterwards)."""
    n = period.count
    spans = {"months": (28 * n - 7, 31 * n + 2), "calendar": (n - 7, n + 2)}
    low, high = spans.get(period.unit, (n, 2 * n + 14))
    return timedelta(days=low), timedelta(days=high)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)
