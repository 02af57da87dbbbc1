"""Claiming letters for a delivery run a batch at a time, and giving back the ones it did not get to.

One transaction claims a batch (on PostgreSQL the rows are picked with ``FOR UPDATE SKIP LOCKED``, so a
second worker takes the next letters instead of waiting for these); each letter's hand-over is still
recorded on its own before its final ".", which is what keeps a crash from sending anything twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, sessionmaker

from mailbot.db.models import Outbox
from mailbot.db.transient import retrying
from mailbot.vocabulary import OutboxState

CLAIM_BATCH = 20  # letters claimed at once: few enough that the last is handed over well inside its lease


def claim_batch(
    sessions: sessionmaker[Session], clock: Callable[[], datetime], claim: str, ids: Sequence[int]
) -> list[Outbox]:
    """Take the letters of ``ids`` still pending for the run named ``claim``; in id order. A letter another
    run took first is left out."""

    def work() -> list[Outbox]:
        with sessions.begin() as session:
            free = _lockable(session, ids)
            if not free:
                return []
            # On the table: a plain UPDATE, not the ORM's bulk path (the rows are read just below).
            session.connection().execute(_CLAIM, {"free": free, "at": clock(), "claim": claim})
            return list(
                session.scalars(
                    select(Outbox)
                    .where(Outbox.id.in_(free), Outbox.claimed_by == claim)
                    .where(Outbox.state == OutboxState.SENDING)
                    .order_by(Outbox.id)
                )
            )

    return retrying(work, f"outbox: claiming {len(ids)} letter(s)")


_outbox = Outbox.__table__
_CLAIM = (
    update(_outbox)
    .where(_outbox.c.id.in_(bindparam("free", expanding=True)), _outbox.c.state == OutboxState.PENDING)
    .values(
        state=OutboxState.SENDING,
        claimed_at=bindparam("at"),
        claimed_by=bindparam("claim"),
        handed_over_at=None,
        attempts=_outbox.c.attempts + 1,
    )
)


def _lockable(session: Session, ids: Sequence[int]) -> list[int]:
    """The ids no other transaction holds: PostgreSQL skips locked rows; SQLite has one writer at a time."""
    if session.get_bind().dialect.name != "postgresql":
        return list(ids)
    return list(
        session.scalars(
            select(Outbox.id)
            .where(Outbox.id.in_(ids), Outbox.state == OutboxState.PENDING)
            .with_for_update(skip_locked=True)
        )
    )


def give_back(sessions: sessionmaker[Session], claim: str, ids: Sequence[int]) -> None:
    """Letters claimed but never handed over (the server went away, or the run stopped): pending again, as if
    never claimed, the attempt not counted. A letter already handed over is left for ``held`` to judge."""
    if not ids:
        return

    def work() -> None:
        with sessions.begin() as session:
            session.execute(
                update(Outbox)
                .where(
                    Outbox.id.in_(ids),
                    Outbox.claimed_by == claim,
                    Outbox.state == OutboxState.SENDING,
                    Outbox.handed_over_at.is_(None),
                )
                .values(state=OutboxState.PENDING, claimed_by=None, attempts=Outbox.attempts - 1)
                .execution_options(synchronize_session=False)
            )

    retrying(work, f"outbox: giving back {len(ids)} letter(s) not sent")
