"""Notices to staff in a flood: after the first few about one sender in a clock hour, the rest of that hour's
wait for one notice that lists them all, sent when the hour is out.

Nothing is dropped or delayed beyond the hour: each held notice stays in the outbox as it was written (state
``bundled``), and its hourly notice, a pending outbox row rewritten as each notice joins it, is due at the end
of the hour. 100 complaints from one address in an hour once made 100 coordinator notifications; now they
make three and one hourly notice.

A safeguarding alert is never held for its count: each new disclosure goes to the lead at once, however many
came before it. Only a repeat, the same words from the same sender already sent to the same person on their
own this hour, joins the hour's notice (100 copies of one mail make one alert and one list, not 100 alerts).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mailbot import checked
from mailbot.app import App
from mailbot.cases import records
from mailbot.db.installation import message_id_key
from mailbot.db.models import Case, CaseEvent, Correspondence, Outbox
from mailbot.outgoing.letters import Letter, long_date
from mailbot.outgoing.notices import LetterRequest, LetterResult, send_letter
from mailbot.outgoing.outbox import Recipient, Threading, compose, outgoing_message_id, queue
from mailbot.staff.reply_text import MARKERS
from mailbot.vocabulary import OutboxState

LISTED = 100  # notices an hourly notice lists in full; it counts the rest
EXCERPT = 300  # characters of each one's text
_SENT_ON_ITS_OWN = (OutboxState.PENDING, OutboxState.SENDING, OutboxState.SENT, OutboxState.HELD)
DISCLOSURE_SENT = "disclosure sent on its own"  # the event that lets a repeat of it be recognised


@dataclass(frozen=True)
class _Hour:
    """One clock hour of notices of one kind to one person about one sender."""

    letter: str
    to: Recipient
    sender: str  # as checked.same_mailbox gives it: Jane+1@ and jane@ are one sender
    start: datetime

    @property
    def end(self) -> datetime:
        return self.start + timedelta(hours=1)


def send_or_bundle(
    session: Session, app: App, case: Case, request: LetterRequest, disclosure: Any = None
) -> LetterResult:
    """Send the notice, unless enough about the same sender went to the same person this hour: then it is
    written, held, and listed in the hour's notice. With ``disclosure`` (what a safeguarding alert is
    about), it is held only if it repeats one already sent on its own this hour."""
    to = request.to or Recipient("", "")
    hour = _Hour(request.letter, to, checked.same_mailbox(case.complainant_address), _hour_of(request.at))
    if disclosure is None:
        flooding = _sent_this_hour(session, hour) >= app.config.delivery.staff_notices_per_sender_per_hour
    else:
        fingerprint = _fingerprint(hour, disclosure)
        flooding = _repeated_this_hour(session, hour, fingerprint)
    result = send_letter(session, app, case, request)
    if flooding and result.queued and result.row is not None:
        _hold(session, app, case, hour, result.row)
    elif disclosure is not None and result.queued:
        records.log_event(session, case, "mailbot", DISCLOSURE_SENT, request.at, fingerprint)
    return result


def _fingerprint(hour: _Hour, disclosure: Any) -> str:
    """The same disclosure to the same person from the same sender, whatever the spacing or case."""
    text = " ".join(json.dumps(disclosure, sort_keys=True, default=str).lower().split())
    key = "\0".join((hour.letter, hour.to.address.lower(), hour.sender, text))
    return f"{hour.to.address.lower()} {hashlib.sha256(key.encode()).hexdigest()[:32]}"


def _repeated_this_hour(session: Session, hour: _Hour, fingerprint: str) -> bool:
    records.write_held_events(session)  # a disclosure logged earlier in this transaction counts too
    found = session.scalar(
        select(CaseEvent.id)
        .where(CaseEvent.action == DISCLOSURE_SENT, CaseEvent.detail == fingerprint)
        .where(CaseEvent.at >= hour.start, CaseEvent.at < hour.end)
        .limit(1)
    )
    return found is not None


def _hold(session: Session, app: App, case: Case, hour: _Hour, row: Outbox) -> None:
    row.state = OutboxState.BUNDLED
    bundle = _add_to_bundle(session, app, case, hour)
    if bundle is None:  # the hour's notice has gone already (a late message): this one goes on its own
        row.state = OutboxState.PENDING
        return
    row.last_error = f"listed in the hourly notice {bundle.message_id}"
    detail = f"to {hour.to.address}, listed in the notice due {bundle.next_attempt_at:%H:%M} UTC"
    records.log_event(session, case, "mailbot", f"{hour.letter} bundled", app.clock(), detail)


def _hour_of(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def _sent_this_hour(session: Session, hour: _Hour) -> int:
    """Notices of this kind to this person about this sender sent on their own since the hour began."""
    addresses = session.scalars(
        select(Case.complainant_address)
        .join(Outbox, Outbox.case_id == Case.id)
        .where(
            Outbox.purpose == hour.letter,
            Outbox.recipient == hour.to.address.lower(),
            Outbox.created_at >= hour.start,
            Outbox.state.in_(_SENT_ON_ITS_OWN),
        )
    )
    return sum(checked.same_mailbox(address) == hour.sender for address in addresses)


def _add_to_bundle(session: Session, app: App, case: Case, hour: _Hour) -> Outbox | None:
    """The hour's notice, written afresh with every notice held so far; None if it is no longer pending."""
    key = f"{hour.letter}\0{hour.to.address}\0{hour.sender}\0{hour.start.isoformat()}"
    message_id = outgoing_message_id(
        message_id_key(session), "bundle", "staff", key, app.config.organisation.domain
    )
    message = compose(app.config, hour.to, _render(session, app, hour), message_id, Threading(),
                      app.clock(), auto_submitted="auto-generated")  # fmt: skip
    if _find(session, message_id) is None and (created := _create(session, app, case, hour, message)):
        return created
    rewritten = session.execute(
        update(Outbox)
        .where(Outbox.message_id == message_id, Outbox.state == OutboxState.PENDING)
        .values(raw=message.raw)
        .execution_options(synchronize_session=False)
    )
    return _find(session, message_id) if rewritten.rowcount == 1 else None


def _find(session: Session, message_id: str) -> Outbox | None:
    return session.scalars(select(Outbox).where(Outbox.message_id == message_id)).first()


def _create(session: Session, app: App, case: Case, hour: _Hour, message: EmailMessage) -> Outbox | None:
    """A new pending notice, due when the hour is out; None if another worker wrote it first."""
    savepoint = session.begin_nested()
    try:
        row = queue(session, app.config, purpose=f"bundle:{hour.letter}"[:40], mailbox=case.mailbox,
                    message=message, recipients=[hour.to.address], now=app.clock(), case_id=None,
                    automatic=False)  # fmt: skip
    except IntegrityError:
        savepoint.rollback()
        return None
    row.next_attempt_at = hour.end
    row.deliver_until = max(row.deliver_until, hour.end + timedelta(hours=1))
    savepoint.commit()
    return row


def _render(session: Session, app: App, hour: _Hour) -> Letter:
    held = _held(session, hour)
    zone = ZoneInfo(app.config.timezone)
    excerpts = _excerpts(session, [case.id for case in held[:LISTED]])
    context = {
        "organisation": app.config.organisation, "letter": hour.letter, "sender": hour.sender,
        "items": [_item(case, excerpts.get(case.id, ""), zone) for case in held[:LISTED]],
        "more": max(0, len(held) - LISTED), "count": len(held), "markers": MARKERS,
        "per_hour": app.config.delivery.staff_notices_per_sender_per_hour,
        "start": hour.start.astimezone(zone), "end": hour.end.astimezone(zone),
        "safeguarding": any("safeguarding" in (case.flags or []) for case in held),
    }  # fmt: skip
    return app.letters.render("notice_bundle", context)


def _held(session: Session, hour: _Hour) -> list[Row[Any]]:
    """The cases of the notices held this hour (their columns only: a flood can hold thousands)."""
    rows = session.execute(
        select(
            Case.id, Case.ref, Case.kind, Case.subject, Case.flags, Case.received_at, Case.complainant_address
        )
        .join(Outbox, Outbox.case_id == Case.id)
        .where(
            Outbox.purpose == hour.letter,
            Outbox.recipient == hour.to.address.lower(),
            Outbox.state == OutboxState.BUNDLED,
            Outbox.created_at >= hour.start,
            Outbox.created_at < hour.end,
        )
        .order_by(Outbox.id)
    ).all()
    return [row for row in rows if checked.same_mailbox(row.complainant_address) == hour.sender]


def _excerpts(session: Session, case_ids: list[int]) -> dict[int, str]:
    """The start of each case's first mail, in one query."""
    found: dict[int, str] = {}
    for case_id, text in session.execute(
        select(Correspondence.case_id, func.substr(Correspondence.new_text, 1, EXCERPT + 100))
        .where(Correspondence.case_id.in_(case_ids), Correspondence.direction == "in")
        .order_by(Correspondence.id)
    ):
        found.setdefault(case_id, text or "")
    return found


def _item(case: Row[Any], first_text: str, zone: ZoneInfo) -> dict[str, Any]:
    text, received = " ".join(first_text.split()), case.received_at.astimezone(zone)
    return {
        "ref": case.ref, "kind": case.kind, "subject": case.subject[:200],
        "flags": ", ".join(case.flags or []), "received": f"{received:%H:%M} {long_date(received)}",
        "excerpt": text if len(text) <= EXCERPT else text[:EXCERPT].rsplit(" ", 1)[0] + " …",
    }  # fmt: skip
