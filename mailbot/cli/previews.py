"""What a staff action would send, for ``--dry-run``: each letter's recipients, subject and first lines, read
from the outbox rows the action queued before its transaction is undone."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailbot.db.models import Outbox
from mailbot.vocabulary import OutboxState

FIRST_LINES = 6


def newest_outbox_id(session: Session) -> int:
    return session.scalar(select(func.max(Outbox.id))) or 0


def letters_queued_since(session: Session, newest: int) -> list[str]:
    rows = session.scalars(select(Outbox).where(Outbox.id > newest).order_by(Outbox.id)).all()
    return [describe(row) for row in rows]


def describe(row: Outbox) -> str:
    message = message_from_bytes(row.raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    fate = "would send" if row.state != OutboxState.SUPPRESSED else f"would NOT send ({row.last_error})"
    head = f"{fate} {row.purpose} to {', '.join(row.recipients)}\n  Subject: {message['Subject']}"
    return "\n".join([head, *(f"  | {line}" for line in first_lines(message))])


def first_lines(message: EmailMessage) -> list[str]:
    body = message.get_body(("plain",))
    text = body.get_content() if body is not None else ""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return lines[:FIRST_LINES] + (["  ..."] if len(lines) > FIRST_LINES else [])
