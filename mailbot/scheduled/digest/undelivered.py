"""Letters a lead must know about: every letter still held (nobody knows whether it arrived) and the letters
to complainants that could not be delivered in the digest's week. Case references and server codes only:
the addresses stay in ``mailbot outbox list``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from mailbot.db.models import Case, Outbox
from mailbot.scheduled.report import Span
from mailbot.vocabulary import OutboxState


@dataclass(frozen=True)
class UndeliveredLetter:
    outbox_id: int
    ref: str | None  # None for a letter about no case
    letter: str
    state: str  # "held" or "failed"
    since: date  # when it was last tried
    code: str  # the server's reply code, or "no answer"

    @property
    def held(self) -> bool:
        return self.state == OutboxState.HELD


def undelivered_letters(session: Session, span: Span, zone: ZoneInfo) -> tuple[UndeliveredLetter, ...]:
    tried = func.coalesce(Outbox.claimed_at, Outbox.created_at)
    failed_this_week = and_(
        Outbox.state == OutboxState.FAILED,
        Outbox.recipient == func.lower(Case.complainant_address),  # the ones ``fates.letter_failed`` told of
        tried >= span.since,
        tried < span.until,
    )
    statement = (
        select(Outbox.id, Case.ref, Outbox.purpose, Outbox.state, tried.label("tried"), Outbox.last_error)
        .outerjoin(Case, Case.id == Outbox.case_id)
        .where(or_(Outbox.state == OutboxState.HELD, failed_this_week))
        .order_by(Outbox.id)
    )
    return tuple(
        UndeliveredLetter(
            row.id, row.ref, row.purpose, row.state, row.tried.astimezone(zone).date(), _code(row.last_error)
        )
        for row in session.execute(statement)
    )


def _code(error: str | None) -> str:
    first = (error or "").split(" ", 1)[0]
    return first if first.isdigit() else "no answer"
