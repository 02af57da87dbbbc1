"""``mailbot spam``: mail held in quarantine as spam, and releasing one a person judges to be real mail (it is
then processed as ordinary mail, the spam verdicts ignored). Nothing here deletes anything."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from mailbot.cli.opening import UsageError, opened_app
from mailbot.vocabulary import InboundState

if TYPE_CHECKING:
    from mailbot.db.models import InboundMessage


def cmd_spam_list(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from mailbot.db.models import InboundMessage

    with opened_app(args) as app, app.sessions() as session:
        query = (
            select(InboundMessage)
            .where(InboundMessage.state == InboundState.QUARANTINED)
            .order_by(InboundMessage.id)
        )
        lines = [spam_line(row) for row in session.scalars(query)]
    print("\n".join(lines) or "none")
    return 0


def spam_line(row: InboundMessage) -> str:
    """One held message: id, when, mailbox, sender and subject (read from the raw mail), and the verdict."""
    from mailbot.intake.parse import UnparseableMail, parse_mail

    try:
        mail = parse_mail(row.raw)
        sender = mail.sender.email if mail.sender else "-"
        subject = " ".join(mail.subject.split())[:80]
    except UnparseableMail:
        sender, subject = "-", "(unparseable)"
    why = [hit for hit in row.rules_hit or [] if hit.startswith("spam")]
    return f"{row.id}\t{row.received_at:%Y-%m-%d %H:%M}\t{row.mailbox}\t{sender}\t{subject}\t{', '.join(why)}"


def cmd_spam_release(args: argparse.Namespace) -> int:
    from mailbot.db.models import InboundMessage
    from mailbot.pipeline import process_one

    with opened_app(args) as app:
        with app.sessions.begin() as session:
            row = session.get(InboundMessage, args.id)
            if row is None or row.state != InboundState.QUARANTINED:
                raise UsageError(f"message {args.id} is not held as spam (see `mailbot spam list`)")
            row.state, row.released_at, row.released_by = InboundState.FETCHED, app.clock(), args.by
        state = process_one(app, args.id)
        with app.sessions() as session:
            outcome = session.get(InboundMessage, args.id).outcome  # type: ignore[union-attr]
    print(f"message {args.id}: {state}: {outcome}")
    return 0 if state == InboundState.PROCESSED else 1
