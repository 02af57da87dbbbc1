"""Delivery: flush the outbox over one SMTP connection, recording each server reply as it comes.

A letter is claimed (``sending``, with the claiming run's name) only once the connection is up, so nothing
slow stands between the claim and the SMTP transaction; the moment before its final "." is recorded as
``handed_over_at``. A temporary failure (4xx, or a connection lost before the final ".") is retried until
``deliver_until``; a permanent one (5xx) is recorded and ``on_failed`` tells a person; a letter whose final
answer never came is *held*, never re-sent on a guess (``held.py`` settles it from evidence or asks a person).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import aiosmtplib
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, sessionmaker

from mailbot import tls, worker
from mailbot.auth.smtp_login import TokenSMTP
from mailbot.config.servers import SmtpConfig
from mailbot.config.settings import DeliveryConfig
from mailbot.db.models import Outbox
from mailbot.db.transient import DatabaseUnavailable, is_transient, retrying
from mailbot.outgoing import claims, held, waves
from mailbot.outgoing.handover import SMTP_FAILURES, Attempt, Outcome, Timeouts, hand_over
from mailbot.vocabulary import OutboxState

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
PASSES = 2  # a second pass sends what the first queued: the alert about a letter refused in it


@dataclass(frozen=True)
class DeliveryHooks:
    """What else happens, in the transaction recording a letter's fate."""

    on_sent: held.OnFate = held._nothing
    on_failed: held.OnFate = held._nothing  # refused for good, or given up on


@dataclass(frozen=True)
class _Run:
    """What one delivery run works with: the server, the retry schedule, the database, the clock, and the
    name its claims carry."""

    smtp: SmtpConfig
    retry_minutes: tuple[int, ...]
    sessions: sessionmaker[Session]
    clock: Clock
    hooks: DeliveryHooks
    claim: str = field(default_factory=worker.new_claim)
    written: list[str | None] = field(default_factory=list)  # states written, not yet counted in the report

    @property
    def timeouts(self) -> Timeouts:
        return Timeouts(self.smtp.timeout_seconds, self.smtp.final_reply_timeout_seconds)


@dataclass
class FlushReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    held: int = 0
    settled: int = 0  # held letters found delivered from evidence
    error: str | None = None  # why the run stopped early (the database kept failing)


def smtp_client(config: SmtpConfig) -> aiosmtplib.SMTP:
    """The one seam for SMTP login methods: a password, or an OAuth2 token (AUTH XOAUTH2) on every connect."""
    options = {
        "hostname": config.host,
        "port": config.port,
        "use_tls": config.tls == "tls",
        "start_tls": config.tls == "starttls",
        "timeout": config.timeout_seconds,
        "tls_context": None if config.tls == "none" else tls.client_context(),
    }
    if config.oauth is not None:
        return TokenSMTP(config.oauth, **options)
    return aiosmtplib.SMTP(username=config.username, password=config.password, **options)


def flush_outbox(
    smtp: SmtpConfig,
    delivery: DeliveryConfig,
    sessions: sessionmaker[Session],
    clock: Clock,
    hooks: DeliveryHooks | None = None,
) -> FlushReport:
    """Settle what a dead run left in ``sending``, then send every letter that is due."""
    run = _Run(smtp, delivery.retry_minutes, sessions, clock, hooks or DeliveryHooks())
    report = FlushReport()
    try:
        report.held = held.recover_interrupted(sessions, clock, smtp)
        tried: set[int] = set()
        for _ in range(PASSES):
            due = [outbox_id for outbox_id in _due_ids(run) if outbox_id not in tried]
            if not due:
                break
            tried.update(due)
            asyncio.run(_deliver_all(run, due, report))
    except DatabaseUnavailable as exc:
        report.error = str(exc)
        log.error("%s", exc)
    return report


def _due_ids(run: _Run) -> list[int]:
    def work() -> list[int]:
        with run.sessions() as session:
            return list(
                session.scalars(
                    select(Outbox.id)
                    .where(Outbox.state == OutboxState.PENDING, Outbox.next_attempt_at <= run.clock())
                    .order_by(Outbox.id)
                )
            )

    return retrying(work, "outbox: finding letters due")


async def _deliver_all(run: _Run, due: list[int], report: FlushReport) -> None:
    clients = [smtp_client(run.smtp) for _ in range(run.smtp.connections)]
    unrecorded: list[_Answer] = []
    try:
        for start in range(0, len(due), claims.CLAIM_BATCH):
            unreachable = await _connect(clients[0], run.smtp)  # connected before any letter is claimed
            if not unreachable:
                batch = due[start : start + claims.CLAIM_BATCH]
                unreachable = await _deliver_batch(run, clients, batch, report, unrecorded)
            if unreachable:
                _defer_all(run, due[start:], unreachable, report)
                return
    finally:
        _write_answers(run, unrecorded, report)
        for client in clients:
            await _quit(client)


async def _deliver_batch(
    run: _Run, clients: list[aiosmtplib.SMTP], ids: list[int], report: FlushReport, unrecorded: list[_Answer]
) -> str | None:
    """Claim a batch in one transaction and send it, a wave at a time; what was not tried is given back.
    Returns why the server could not be reached, if it went away."""
    rows = claims.claim_batch(run.sessions, run.clock, run.claim, ids)
    untried = [row.id for row in rows]
    try:
        while rows:
            connected = await _connected(clients, run.smtp)
            if isinstance(connected, str):
                return connected
            wave = waves.next_wave(rows, len(connected))
            for row in wave:
                untried.remove(row.id)
            await _deliver_wave(run, connected, wave, unrecorded)
    finally:
        claims.give_back(run.sessions, run.claim, untried)
    return None


async def _connected(clients: list[aiosmtplib.SMTP], smtp: SmtpConfig) -> list[aiosmtplib.SMTP] | str:
    """The connections up (each connected now if it was not); one that cannot be made is not used again
    this run, unless it is the last, when the reason is returned: the server cannot be reached."""
    for client in list(clients):
        unreachable = await _connect(client, smtp)
        if unreachable and len(clients) == 1:
            return unreachable
        if unreachable:
            clients.remove(client)
    return clients


async def _connect(client: aiosmtplib.SMTP, smtp: SmtpConfig) -> str | None:
    """Connected before any letter is claimed; the reason when the server cannot be reached."""
    if client.is_connected:
        return None
    try:
        await client.connect()
    except SMTP_FAILURES as exc:
        log.warning("SMTP %s:%s unavailable: %s", smtp.host, smtp.port, exc)
        return f"cannot connect to SMTP server: {exc}"
    return None


@dataclass(frozen=True)
class _Answer:
    """A server's answer to a letter, to be written with the next wave's hand-over (or at the end)."""

    claimed: Outbox
    reply: str
    values: dict[str, Any]


async def _deliver_wave(
    run: _Run, clients: list[aiosmtplib.SMTP], wave: list[Outbox], unrecorded: list[_Answer]
) -> None:
    handover = waves.HandOver([row.id for row in wave], lambda ids: _handing_over(run, ids, unrecorded))
    side_by_side = zip(clients[: len(wave)], wave, strict=True)
    await asyncio.gather(*(_deliver_one(run, c, row, unrecorded, handover) for c, row in side_by_side))


async def _deliver_one(
    run: _Run, client: aiosmtplib.SMTP, row: Outbox, unrecorded: list[_Answer], handover: waves.HandOver
) -> None:
    handed_over: list[datetime] = []

    async def before_final_dot() -> bool:
        at = await handover.ready(row.id)
        handed_over.extend([at] if at else [])
        return at is not None

    try:
        attempt = await hand_over(client, row.sender, row.recipients, row.raw, run.timeouts, before_final_dot)
    finally:
        handover.finished(row.id)
    if attempt.outcome is not Outcome.CALLED_OFF:
        at = handed_over[0] if handed_over else run.clock()
        values = _outcome_values(run, row, attempt, at, run.clock())
        unrecorded.append(_Answer(row, attempt.reply, values))


def _handing_over(run: _Run, ids: list[int], unrecorded: list[_Answer]) -> dict[int, datetime]:
    """Record that the final "." of each letter of the wave is about to go, for those still ours, and when;
    a letter left out (not ours, or the database cannot say) is called off and nothing of it is sent. The
    answers to the letters before are written in the same transaction: one commit a wave."""
    at = run.clock()

    def work(answers: list[_Answer]) -> list[int]:
        with run.sessions.begin() as session:
            written = [_write_answer(run, session, answer) for answer in answers]
            connection = session.connection()
            ours = {"the_claim": run.claim, "handed_over_at": at}
            handed = [i for i in ids if connection.execute(_HANDING_OVER, {**ours, "the_letter": i}).rowcount]
        run.written.extend(written)
        answers.clear()
        return handed

    try:
        handed = retrying(lambda: _with_answers(work, unrecorded), f"outbox {ids}: handing over")
        return {outbox_id: at for outbox_id in handed}
    except DatabaseUnavailable as exc:
        log.error("outbox %s not sent: %s", ", ".join(map(str, ids)), exc)
        return {}


def _with_answers(work: Callable[[list[_Answer]], list[int]], unrecorded: list[_Answer]) -> list[int]:
    """The hand-over with the answers before it; should writing those fail for a reason of their own, the
    hand-over alone, and the answers are written (and the error raised) at the end of the run."""
    try:
        return work(unrecorded)
    except Exception as exc:
        if not unrecorded or is_transient(exc):
            raise
        log.exception("outbox: answers kept to record at the end of the run")
        return work([])


def _write_answers(run: _Run, answers: list[_Answer], report: FlushReport) -> None:
    """Write the answers not yet written (the last letter's, or those a failed hand-over left), then count
    what every answer of the run came to."""

    def work() -> list[str | None]:
        with run.sessions.begin() as session:
            return [_write_answer(run, session, answer) for answer in answers]

    if answers:
        run.written.extend(retrying(work, f"outbox: recording {len(answers)} answer(s) from the server"))
        answers.clear()
    for state in run.written:
        if state is not None:
            _count(report, state)
    run.written.clear()


def _write_answer(run: _Run, session: Session, answer: _Answer) -> str | None:
    """Write the outcome only while the claim is still this run's; the hooks run in the same transaction.
    The state written, or None when the letter is no longer this run's."""
    ours = {"the_letter": answer.claimed.id, "the_claim": run.claim}
    written = session.connection().execute(_ANSWERED, {**ours, **answer.values})
    if written.rowcount != 1:
        log.warning("outbox %s: answer %r not recorded: the letter is no longer this run's",
                    answer.claimed.id, answer.reply)  # fmt: skip
        return None
    # The row as just written, without reading it back: the claim's copy with the answer's values on it.
    row = answer.claimed
    for name, value in answer.values.items():
        setattr(row, name, value)
    _after(run.hooks, session, row)
    return row.state


# Built once: every letter runs both. Plain statements on the outbox table, given the values to set: the ORM's
# UPDATE path cost more than the statement. Nothing pending in the session is flushed for them (none is).
_outbox = Outbox.__table__
_HANDING_OVER = update(_outbox).where(
    _outbox.c.id == bindparam("the_letter"),
    _outbox.c.state == OutboxState.SENDING,
    _outbox.c.claimed_by == bindparam("the_claim"),
)
_ANSWERED = update(_outbox).where(
    _outbox.c.id == bindparam("the_letter"),
    _outbox.c.claimed_by == bindparam("the_claim"),
    _outbox.c.state.in_((OutboxState.SENDING, OutboxState.HELD)),
)


def _outcome_values(
    run: _Run, claimed: Outbox, attempt: Attempt, handed_over: datetime, now: datetime
) -> dict[str, Any]:
    if attempt.outcome is Outcome.ACCEPTED:
        return {"state": OutboxState.SENT, "sent_at": now, "smtp_response": attempt.reply, "last_error": None}
    if attempt.outcome is Outcome.UNKNOWN:
        log.error("outbox %s held: %s", claimed.id, attempt.reply)
        fate = held.unknown_fate(claimed.id, handed_over, attempt.reply)
        return {"state": OutboxState.HELD, "last_error": fate}
    temporary = attempt.outcome is Outcome.TEMPORARY
    return _failure_values(run.retry_minutes, claimed, temporary, attempt.reply, now)


def _failure_values(
    retry_minutes: tuple[int, ...], row: Outbox, temporary: bool, reply: str, now: datetime
) -> dict[str, Any]:
    if temporary and now < row.deliver_until:
        step = min(row.attempts, len(retry_minutes)) - 1
        next_attempt = now + timedelta(minutes=retry_minutes[max(step, 0)])
        log.info("outbox %s: temporary failure (%s); retry at %s", row.id, reply, next_attempt)
        return {"state": OutboxState.PENDING, "next_attempt_at": next_attempt, "last_error": reply}
    log.error("outbox %s to %s failed: %s", row.id, ", ".join(row.recipients), reply)
    return {"state": OutboxState.FAILED, "last_error": reply}


def _after(hooks: DeliveryHooks, session: Session, row: Outbox) -> None:
    if row.state == OutboxState.SENT:
        hooks.on_sent(session, row)
    elif row.state == OutboxState.FAILED:
        hooks.on_failed(session, row)


def _count(report: FlushReport, state: str) -> None:
    report.sent += state == OutboxState.SENT
    report.retrying += state == OutboxState.PENDING
    report.failed += state == OutboxState.FAILED
    report.held += state == OutboxState.HELD


def _defer_all(run: _Run, due: list[int], reason: str, report: FlushReport) -> None:
    """The server cannot be reached: every letter still pending counts an attempt and waits its turn."""
    now = run.clock()

    def work() -> list[str]:
        states = []
        with run.sessions.begin() as session:
            for row in session.scalars(
                select(Outbox).where(Outbox.id.in_(due), Outbox.state == OutboxState.PENDING)
            ):
                row.attempts += 1
                for name, value in _failure_values(run.retry_minutes, row, True, reason, now).items():
                    setattr(row, name, value)
                _after(run.hooks, session, row)
                states.append(row.state)
        return states

    for state in retrying(work, "outbox: deferring letters while the SMTP server is unreachable"):
        _count(report, state)


async def _quit(client: aiosmtplib.SMTP) -> None:
    if client.is_connected:
        try:
            await client.quit()
        except SMTP_FAILURES:
            client.close()


async def check_login(config: SmtpConfig) -> str:
    """Connect and authenticate; for ``check-config``."""
    client = smtp_client(config)
    await client.connect()
    await _quit(client)
    return f"smtp: connected to {config.host}:{config.port}" + (
        f" as {config.username}" if config.username else ""
    )
