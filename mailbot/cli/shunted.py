"""``mailbot shunted``: inbound messages that failed, kept with their errors, and trying one again."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from mailbot.cli.opening import UsageError, opened_app
from mailbot.vocabulary import InboundState

if TYPE_CHECKING:
    from mailbot.db.models import InboundMessage


def cmd_shunted_list(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from mailbot.db.models import InboundMessage

    with opened_app(args) as app, app.sessions() as session:
        query = select(InboundMessage).where(InboundMessage.state == InboundState.SHUNTED)
        lines = [shunted_line(row) for row in session.scalars(query)]
    print("\n".join(lines) or "none")
    return 0


def shunted_line(row: InboundMessage) -> str:
    """One shunted message, tab-separated; of its traceback only the line that names the error."""
    return f"{row.id}\t{row.mailbox}\tUID {row.uid}\t{row.message_id or '-'}\t{error_line(row.error or '')}"


def error_line(error: str) -> str:
    """The line of a traceback that names the error: the first unindented line after the last traceback's
    frames. Not simply the last line: SQLAlchemy follows it with the statement and a link to its docs."""
    lines = error.strip().splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("Traceback (most recent call last)")]
    after = lines[starts[-1] + 1 :] if starts else lines
    named = [line for line in after if line.strip() and not line[:1].isspace()]
    return named[0] if named else (lines[-1] if lines else "")


def cmd_shunted_retry(args: argparse.Namespace) -> int:
    from mailbot.db.models import InboundMessage
    from mailbot.pipeline import process_one

    with opened_app(args) as app:
        with app.sessions.begin() as session:
            row = session.get(InboundMessage, args.id)
            if row is None or row.state != InboundState.SHUNTED:
                raise UsageError(f"message {args.id} is not shunted (see `mailbot shunted list`)")
            row.state, row.error = InboundState.FETCHED, None
        state = process_one(app, args.id)
    print(f"message {args.id}: {state}")
    return 0 if state == InboundState.PROCESSED else 1
