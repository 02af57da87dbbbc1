"""``mailbot outbox``: letters not yet sent, held or failed; releasing them to be sent again, and settling
held letters a person knows were delivered. ``--held`` acts on every held letter at once."""

from __future__ import annotations

import argparse
import getpass
from collections.abc import Callable
from typing import TYPE_CHECKING

from mailbot.cli.opening import UsageError, opened_app
from mailbot.vocabulary import OutboxState

if TYPE_CHECKING:  # imported when a command runs, so `mailbot --help` starts fast
    from sqlalchemy.orm import Session

    from mailbot.app import App
    from mailbot.db.models import Outbox

# A person releases only a letter whose sending stopped: held (fate unknown) or failed.
RELEASABLE = (OutboxState.HELD, OutboxState.FAILED)


def cmd_outbox_list(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from mailbot.db.models import Outbox

    with opened_app(args) as app, app.sessions() as session:
        query = select(Outbox).where(Outbox.state != OutboxState.SENT).order_by(Outbox.id)
        if args.held:
            query = query.where(Outbox.state == OutboxState.HELD)
        lines = [outbox_line(row) for row in session.scalars(query)]
    print("\n".join(lines) or "none")
    return 0


def outbox_line(row: Outbox) -> str:
    return (
        f"{row.id}\t{row.state}\t{row.purpose}\t{', '.join(row.recipients)}\t"
        f"attempts {row.attempts}\t{row.last_error or ''}"
    )


def cmd_outbox_release(args: argparse.Namespace) -> int:
    from mailbot.outgoing import held

    def release(session: Session, app: App, row: Outbox) -> str:
        held.release(row, app.clock())
        return f"outbox {row.id} released; it will be sent at the next flush"

    return _each(args, RELEASABLE, "held or failed", release)


def cmd_outbox_resolve(args: argparse.Namespace) -> int:
    """Only ``--delivered`` for now: a letter known not to have arrived is released instead."""
    from mailbot.outgoing import fates, held

    actor = f"cli:{getpass.getuser()}"

    def delivered(session: Session, app: App, row: Outbox) -> str:
        evidence = f"{actor} confirmed it arrived"
        held.resolve_delivered(session, row.id, evidence, fates.delivery_hooks(app).on_sent)
        return f"outbox {row.id} recorded as delivered"

    return _each(args, (OutboxState.HELD,), "held", delivered)


def _each(
    args: argparse.Namespace,
    states: tuple[OutboxState, ...],
    described: str,
    change: Callable[[Session, App, Outbox], str],
) -> int:
    """Apply ``change`` to the letters named (or to every held one with ``--held``) in one transaction:
    all of them or, when one cannot be changed, none."""
    if not args.ids and not args.held:
        raise UsageError("name one or more outbox IDs, or --held for every held letter")
    with opened_app(args) as app, app.sessions.begin() as session:
        rows = _chosen(session, args)
        wrong = [str(i) for i, row in rows.items() if row is None or row.state not in states]
        if wrong:
            raise UsageError(
                f"outbox {', '.join(wrong)}: not {described} (see `mailbot outbox list`); nothing done"
            )
        said = [change(session, app, row) for row in rows.values() if row is not None]
    print("\n".join(said) if said else "no held letters")
    return 0


def _chosen(session: Session, args: argparse.Namespace) -> dict[int, Outbox | None]:
    from sqlalchemy import select

    from mailbot.db.models import Outbox

    chosen: dict[int, Outbox | None] = {i: session.get(Outbox, i) for i in args.ids}
    if args.held:
        query = select(Outbox).where(Outbox.state == OutboxState.HELD).order_by(Outbox.id)
        chosen.update({row.id: row for row in session.scalars(query)})
    return chosen
