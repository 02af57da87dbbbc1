"""Notes code keeps about the transaction in progress, kept in the session and forgotten when it ends."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import Session

TRANSACTION_NOTES = "this transaction's notes"


def transaction_notes(session: Session) -> dict[str, set]:  # type: ignore[type-arg]
    """What code notes about the transaction in progress (the cases it opened, the letters it queued), to
    spare the database a question. Forgotten when the transaction commits or rolls back, a savepoint's
    rollback included: a note about work undone would otherwise be believed later in the same session (a
    letter taken as queued when its row was rolled back, and never sent). Without a note the database is
    asked, which is always right."""
    return session.info.setdefault(TRANSACTION_NOTES, {})


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_soft_rollback")
def _forget_notes(session: Session, *_transaction: object) -> None:
    session.info.pop(TRANSACTION_NOTES, None)
