"""What the retention schedule says has expired: cases kept their years after closure (or after the last mail
on them, for items never closed), shunted messages, mail that opened no case, and letters to staff about no
case. Cases on legal hold are listed apart: they are kept however old they are."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import Row, and_, func, or_, select
from sqlalchemy.orm import Session

from mailbot.config.retention import RetentionSettings
from mailbot.db.models import Case, Correspondence, InboundMessage, Outbox
from mailbot.privacy.scrub import UNSENT
from mailbot.vocabulary import InboundState

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class ExpiredCase:
    case_id: int
    ref: str
    why: str  # written in the case's audit trail and the privacy log


@dataclass
class RetentionPlan:
    cases: list[ExpiredCase] = field(default_factory=list)
    held: list[str] = field(default_factory=list)  # refs past their period but on legal hold
    shunted: list[int] = field(default_factory=list)  # inbound_message ids
    unfiled: list[int] = field(default_factory=list)  # inbound_message ids
    staff_mail: list[int] = field(default_factory=list)  # outbox ids

    @property
    def empty(self) -> bool:
        return not (self.cases or self.shunted or self.unfiled or self.staff_mail)

    def summary(self) -> str:
        return (
            f"{len(self.cases)} case(s), {len(self.shunted)} shunted message(s), "
            f"{len(self.unfiled)} message(s) on no case, {len(self.staff_mail)} letter(s) to staff on no case"
        )


def plan(session: Session, settings: RetentionSettings, now: datetime) -> RetentionPlan:
    found = RetentionPlan(
        shunted=_old_messages(session, InboundState.SHUNTED, now - relativedelta(days=settings.shunted_days)),
        unfiled=_old_messages(
            session, InboundState.PROCESSED, now - relativedelta(days=settings.unfiled_days)
        ),
        staff_mail=_old_staff_mail(session, now - relativedelta(days=settings.staff_mail_days)),
    )
    for row in _candidates(session, settings, now):
        why = expired_because(row, settings, now)
        if why is None:
            continue
        if row.held_at is not None:
            found.held.append(row.ref)
        else:
            found.cases.append(ExpiredCase(row.id, row.ref, why))
    return found


def _candidates(session: Session, settings: RetentionSettings, now: datetime) -> list[Row[Any]]:
    """Cases not yet purged that could have expired; the exact test is ``expired_because``. A case's last mail
    is never before it was received, so one received within the shortest period cannot have expired.

    A day wider than the periods: counted back, years from 28 February land on 28 February, while a case
    closed on 29 February of a leap year has expired on that date already (``expired_because`` adds years).
    """
    shortest = now - relativedelta(years=min(settings.years_after_closure.values())) + ONE_DAY
    not_closed = now - relativedelta(years=settings.not_closed_years) + ONE_DAY
    last_mail = (
        select(Correspondence.case_id, func.max(Correspondence.date).label("last_mail"))
        .group_by(Correspondence.case_id)
        .subquery()
    )
    query = (
        select(
            Case.id,
            Case.ref,
            Case.kind,
            Case.received_at,
            Case.closed_at,
            Case.held_at,
            last_mail.c.last_mail,
        )
        .outerjoin(last_mail, last_mail.c.case_id == Case.id)
        .where(Case.purged_at.is_(None))
        .where(
            or_(
                and_(Case.closed_at.is_not(None), Case.closed_at <= shortest),
                and_(Case.closed_at.is_(None), Case.received_at <= not_closed),
            )
        )
        .order_by(Case.id)
    )
    return list(session.execute(query))


def expired_because(row: Any, settings: RetentionSettings, now: datetime) -> str | None:
    """Why the case's period is over, in words for its audit trail; None while it still runs."""
    if row.closed_at is not None:
        years = settings.years_for(row.kind)
        if row.closed_at + relativedelta(years=years) > now:
            return None
        return f"retention: a {row.kind} is kept {years} years after closure; closed {row.closed_at:%Y-%m-%d}"
    last = max(filter(None, (row.received_at, row.last_mail)))
    if last + relativedelta(years=settings.not_closed_years) > now:
        return None
    years = settings.not_closed_years
    return f"retention: an item never closed is kept {years} years after its last mail; last {last:%Y-%m-%d}"


def _old_messages(session: Session, state: str, before: datetime) -> list[int]:
    query = select(InboundMessage.id).where(
        InboundMessage.state == state, InboundMessage.case_id.is_(None), InboundMessage.fetched_at <= before
    )
    return list(session.scalars(query.order_by(InboundMessage.id)))


def _old_staff_mail(session: Session, before: datetime) -> list[int]:
    query = select(Outbox.id).where(
        Outbox.case_id.is_(None),
        Outbox.created_at <= before,
        Outbox.state.not_in(UNSENT),
        func.length(Outbox.raw) > 0,
    )
    return list(session.scalars(query.order_by(Outbox.id)))
