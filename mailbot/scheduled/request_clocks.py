"""Requests with their own law in the daily watch: before a subject access or freedom of information request
falls due, and on the day, its officer (``[forwarding] subject_access`` / ``foi``, else the case's
coordinator) is reminded; once the statutory date has passed unanswered, the officer and the leads hear once.

The dates are the request's own (cases/statutory.py, kept on ``information_request``), never the complaints
policy's; each notice goes once under its key, like the complaints watch (scheduled/watch.py runs these)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.db.models import Case, InformationRequest
from mailbot.outgoing import alerts
from mailbot.outgoing.outbox import Recipient
from mailbot.policy.workdays import WorkingCalendar
from mailbot.vocabulary import CaseStatus, Kind

if TYPE_CHECKING:
    from mailbot.app import App

DUE_LETTER, OVERDUE_LETTER = "request_due", "request_overdue"


@dataclass(frozen=True)
class OpenRequest:
    """A request still open (not closed by its officer), with its statutory date."""

    case_id: int
    ref: str
    kind: str
    policy: str
    coordinator: str | None
    law: str
    received_on: date
    due: date
    latest_due: date | None
    officer: str | None


@dataclass(frozen=True)
class RequestNotice:
    """One mail about one request, sent once under ``key`` (the same shape as the watch's notices)."""

    key: str
    case_id: int
    letter: str
    recipients: tuple[Recipient, ...]
    details: Mapping[str, Any] = field(default_factory=dict)


def open_requests(session: Session) -> list[OpenRequest]:
    rows = session.execute(
        select(Case.id, Case.ref, Case.kind, Case.policy, Case.coordinator, InformationRequest.law,
               InformationRequest.received_on, InformationRequest.due, InformationRequest.latest_due,
               InformationRequest.forwarded_to)
        .join(InformationRequest, InformationRequest.case_id == Case.id)
        .where(Case.status == CaseStatus.REQUEST)
        .order_by(InformationRequest.due, Case.id)
    )  # fmt: skip
    return [OpenRequest(*row) for row in rows]


def request_notices(session: Session, app: App, today: date, remind_working_days: int) -> list[RequestNotice]:
    """Each open request's notice for today, if one is due: before the date, on it, or after it."""
    found = (request_notice(session, app, r, today, remind_working_days) for r in open_requests(session))
    return [n for n in found if n is not None]


def request_notice(
    session: Session, app: App, r: OpenRequest, today: date, remind_working_days: int
) -> RequestNotice | None:
    left = _days_left(app, r, today) if today <= r.due else -1
    details = {"request": request_name(r.kind), "law": r.law, "due": r.due, "days_left": left,
               "latest_due": r.latest_due, "received_on": r.received_on}  # fmt: skip
    officer = _officer(session, app, r)
    if today > r.due:  # the law's date has passed: whoever answers for the organisation hears, once
        late = (today - r.due).days
        people = _unique((*officer, *alerts.people_for(app, "lead")))
        return RequestNotice(_key("overdue", r), r.case_id, OVERDUE_LETTER, people, {**details, "late": late})
    if today == r.due:
        return RequestNotice(_key("due-today", r), r.case_id, DUE_LETTER, officer, details)
    if left <= remind_working_days:
        return RequestNotice(_key("reminder", r), r.case_id, DUE_LETTER, officer, details)
    return None


def request_name(kind: str) -> str:
    return "subject access request" if kind == Kind.SUBJECT_ACCESS else "freedom of information request"


def _key(notice: str, r: OpenRequest) -> str:
    # The date is in the key, so an extension (a new date) is watched afresh.
    return f"request-{notice}:{r.ref}:{r.due.isoformat()}"


def _officer(session: Session, app: App, r: OpenRequest) -> tuple[Recipient, ...]:
    """The officer the request was forwarded to; without one, whoever alerts about the case go to."""
    if r.officer:
        return (Recipient("", r.officer),)
    case = session.get(Case, r.case_id)
    assert case is not None  # read moments ago in this session; cases are never deleted
    return tuple(alerts.coordinator_of(app, case))


def _unique(people: tuple[Recipient, ...]) -> tuple[Recipient, ...]:
    first: dict[str, Recipient] = {}
    for person in people:
        first.setdefault(person.address.lower(), person)
    return tuple(first.values())


def calendar_for(app: App, policy: str) -> WorkingCalendar:
    """The case's policy calendar; a case whose policy file has gone is still watched on England's days."""
    known = app.policies.get(policy)
    return known.calendar if known else WorkingCalendar(timezone=app.config.timezone)


# --- the digest's list --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestStanding:
    """An open request as the weekly digest shows it: due in so many working days, or overdue."""

    ref: str
    kind: str
    law: str
    due: date
    days_left: int  # working days until the due date; negative once it has passed

    @property
    def overdue(self) -> bool:
        return self.days_left < 0


def requests_standing(session: Session, app: App, today: date) -> tuple[RequestStanding, ...]:
    """Every open request, soonest due first."""
    return tuple(
        RequestStanding(r.ref, r.kind, r.law, r.due, _days_left(app, r, today))
        for r in open_requests(session)
    )


def _days_left(app: App, r: OpenRequest, today: date) -> int:
    return calendar_for(app, r.policy).working_days_between(today, r.due)
