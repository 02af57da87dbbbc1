"""Letters whose fate is unknown: found after a crash, settled from evidence, or put before a person.

A row left in ``sending`` by a run that died goes back to ``pending`` when its final "." never left (nothing
was handed over, so sending it is safe) and is *held* when it did. A held letter is settled as delivered
when there is evidence: a copy with its Message-ID in the Sent folder (``sent_folder.py``), or a reply or
bounce that refers to it. Otherwise it waits, listed by ``mailbot outbox list`` and in the digest, for a
person to run ``mailbot outbox resolve ID --delivered`` or ``mailbot outbox release ID``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from mailbot import worker
from mailbot.cases import records
from mailbot.config.settings import SmtpConfig
from mailbot.db.models import Case, InboundMessage, InboundRaw, Outbox
from mailbot.db.transient import retrying
from mailbot.vocabulary import OutboxState

log = logging.getLogger(__name__)
OnFate = Callable[[Session, Outbox], None]
Clock = Callable[[], datetime]
# Beyond the server's own time limits, for the commits on either side of them.
MARGIN = timedelta(minutes=2)


def _nothing(session: Session, row: Outbox) -> None:
    return None


def unknown_fate(outbox_id: int, handed_over: datetime, why: str) -> str:
    """What ``outbox list`` shows for a held letter: what is known, and the two commands that settle it."""
    return (
        f"{why}; the letter was handed to the server at {handed_over:%Y-%m-%d %H:%M} UTC and may have been "
        "delivered. A copy in the Sent folder or a reply or bounce that refers to it settles this by itself; "
        f"otherwise `mailbot outbox resolve {outbox_id} --delivered` if it arrived, or "
        f"`mailbot outbox release {outbox_id}` to send it again"
    )


# --- after a crash ---------------------------------------------------------------------------------------


def recover_interrupted(sessions: sessionmaker[Session], clock: Clock, smtp: SmtpConfig) -> int:
    """Settle rows in ``sending`` whose run has ended: back to pending if nothing was handed over, held if it
    was. A run on this machine that died is seen at once; one elsewhere only once its time limits have
    passed. Returns how many were held."""
    now = clock()
    before_handover = timedelta(seconds=smtp.timeout_seconds * 5)  # MAIL, RCPT, DATA, and the commits
    after_handover = timedelta(seconds=smtp.final_reply_timeout_seconds) + MARGIN
    with sessions() as session:
        rows = session.execute(
            select(Outbox.id, Outbox.claimed_by, Outbox.claimed_at, Outbox.handed_over_at).where(
                Outbox.state == OutboxState.SENDING
            )
        ).all()
    held = 0
    for row in rows:
        gone = worker.is_gone(row.claimed_by)
        claimed_at = row.claimed_at or now
        if row.claimed_by is not None and row.handed_over_at is None:
            if gone or claimed_at < now - before_handover:
                _retry_untouched(sessions, clock, row.id, row.claimed_by)
        elif gone or (row.handed_over_at or claimed_at) < now - after_handover:
            held += _hold_interrupted(sessions, row.id, row.claimed_by, row.handed_over_at or claimed_at)
    return held


def _retry_untouched(sessions: sessionmaker[Session], clock: Clock, outbox_id: int, claim: str) -> None:
    """Safe to send again: the claim is taken back only if it is still the same one, so a run that is in
    fact alive finds it gone when it tries to record the hand-over, and calls its letter off."""

    def work() -> int:
        with sessions.begin() as session:
            return session.execute(
                update(Outbox)
                .where(
                    Outbox.id == outbox_id,
                    Outbox.state == OutboxState.SENDING,
                    Outbox.claimed_by == claim,
                    Outbox.handed_over_at.is_(None),
                )
                .values(state=OutboxState.PENDING, claimed_by=None, next_attempt_at=clock())
            ).rowcount

    if retrying(work, f"outbox {outbox_id}: taking back an interrupted claim"):
        log.warning("outbox %s: its delivery run ended before handing it over; it will be sent", outbox_id)


def _hold_interrupted(
    sessions: sessionmaker[Session], outbox_id: int, claim: str | None, handed_over: datetime
) -> int:
    why = "delivery was interrupted before the server's answer was recorded"
    same_claim = Outbox.claimed_by.is_(None) if claim is None else Outbox.claimed_by == claim

    def work() -> int:
        with sessions.begin() as session:
            return session.execute(
                update(Outbox)
                .where(Outbox.id == outbox_id, Outbox.state == OutboxState.SENDING, same_claim)
                .values(state=OutboxState.HELD, last_error=unknown_fate(outbox_id, handed_over, why))
            ).rowcount

    held = retrying(work, f"outbox {outbox_id}: holding an interrupted letter")
    if held:
        log.error("outbox %s held: %s", outbox_id, why)
    return held


# --- settling a held letter ------------------------------------------------------------------------------


def resolve_delivered(
    session: Session,
    outbox_id: int,
    evidence: str,
    on_sent: OnFate = _nothing,
    filed_at: datetime | None = None,
) -> bool:
    """Record a held letter as sent, with the evidence, as of when it was handed over; ``on_sent`` follows
    (an acknowledgement sets its case's acknowledged date). False if it is no longer held."""
    row = session.get(Outbox, outbox_id)
    if row is None or row.state != OutboxState.HELD:
        return False
    sent_at = row.handed_over_at or row.claimed_at or row.created_at
    row.state, row.sent_at, row.last_error = OutboxState.SENT, sent_at, None
    row.smtp_response = f"no answer was recorded; delivered: {evidence}"
    row.filed_at = row.filed_at or filed_at
    if row.case_id is not None and (case := session.get(Case, row.case_id)) is not None:
        records.log_event(session, case, "mailbot", f"{row.purpose} settled as delivered", sent_at, evidence)
    on_sent(session, row)
    log.info("outbox %s settled as delivered: %s", outbox_id, evidence)
    return True


def release(row: Outbox, now: datetime) -> None:
    """Send it again at the next flush, with as long to be delivered as it had the first time."""
    row.state, row.next_attempt_at, row.claimed_by, row.handed_over_at = OutboxState.PENDING, now, None, None
    row.deliver_until = now + (row.deliver_until - row.created_at)


def resolve_from_mail(sessions: sessionmaker[Session], clock: Clock, on_sent: OnFate = _nothing) -> int:
    """Settle held letters that a later message on their case refers to by Message-ID: a reply quoting it
    or a bounce returning it shows the server took it."""
    with sessions() as session:
        held = session.execute(
            select(Outbox.id, Outbox.message_id, Outbox.case_id, Outbox.claimed_at).where(
                Outbox.state == OutboxState.HELD, Outbox.case_id.is_not(None)
            )
        ).all()
    settled = 0
    for row in held:
        evidence = _referring_message(sessions, row.case_id, row.message_id, row.claimed_at)
        if evidence is not None:
            settled += retrying(
                lambda row=row, evidence=evidence: settle(sessions, row.id, evidence, on_sent),
                f"outbox {row.id}: settling it from a message that refers to it",
            )
    return settled


def settle(
    sessions: sessionmaker[Session],
    outbox_id: int,
    evidence: str,
    on_sent: OnFate,
    filed_at: datetime | None = None,
) -> bool:
    """``resolve_delivered`` in a transaction of its own."""
    with sessions.begin() as session:
        return resolve_delivered(session, outbox_id, evidence, on_sent, filed_at)


def _referring_message(
    sessions: sessionmaker[Session], case_id: int, message_id: str, since: datetime | None
) -> str | None:
    """A message on the case, fetched after the letter was claimed, whose raw text names its Message-ID."""
    wanted = f"<{message_id}>".encode()
    query = (
        select(InboundMessage.id, InboundMessage.kind, InboundRaw.raw)
        .join(InboundRaw, InboundRaw.inbound_id == InboundMessage.id)
        .where(InboundMessage.case_id == case_id)
    )
    if since is not None:
        query = query.where(InboundMessage.fetched_at >= since)
    with sessions() as session:
        for inbound_id, kind, raw in session.execute(query.order_by(InboundMessage.id)):
            if wanted in raw:
                return f"message {inbound_id} ({kind or 'mail'}) in the mailbox refers to it"
    return None
