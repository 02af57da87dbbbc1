"""``mailbot outbox``: letters not yet sent, held or failed, and releasing one to be sent again."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from mailbot.cli.opening import UsageError, opened_app
from mailbot.vocabulary import OutboxState

if TYPE_CHECKING:
    from mailbot.db.models import Outbox

# A person releases only a letter whose sending stopped: held (fate unknown) or failed.
RELEASABLE = (OutboxState.HELD, OutboxState.FAILED)


def cmd_outbox_list(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from mailbot.db.models import Outbox

    with opened_app(args) as app, app.sessions() as session:
        query = select(Outbox).where(Outbox.state != OutboxState.SENT).order_by(Outbox.id)
        lines = [outbox_line(row) for row in session.scalars(query)]
    print("\n".join(lines) or "none")
    return 0


def outbox_line(row: Outbox) -> str:
    return (
        f"{row.id}\t{row.state}\t{row.purpose}\t{', '.join(row.recipients)}\t"
        f"attempts {row.attempts}\t{row.last_error or ''}"
    )


def cmd_outbox_release(args: argparse.Namespace) -> int:
    from mailbot.db.models import Outbox

    with opened_app(args) as app, app.sessions.begin() as session:
        row = session.get(Outbox, args.id)
        if row is None or row.state not in RELEASABLE:
            raise UsageError(f"outbox {args.id} is not held or failed (see `mailbot outbox list`)")
        now = app.clock()
        # It gets as long to be delivered as it had the first time, counted from now.
        row.state, row.next_attempt_at = OutboxState.PENDING, now
        row.deliver_until = now + (row.deliver_until - row.created_at)
    print(f"outbox {args.id} released; it will be sent at the next flush")
    return 0
