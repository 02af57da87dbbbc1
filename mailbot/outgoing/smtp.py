"""Delivery: flush the outbox over one SMTP connection, recording each server reply.

A temporary failure (4xx, a dropped connection) is retried later until ``deliver_until``; a permanent one
(5xx) is recorded for a person. A row found mid-send after a crash is *held*, never re-sent on a guess:
sending an acknowledgement twice is worse than asking a person to release it.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiosmtplib
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from mailbot.auth.smtp_login import TokenSMTP
from mailbot.config.servers import SmtpConfig
from mailbot.config.settings import DeliveryConfig
from mailbot.db.models import Outbox
from mailbot.vocabulary import OutboxState

log = logging.getLogger(__name__)

INTERRUPTED_AFTER = timedelta(minutes=15)
OnSent = Callable[[Session, Outbox], None]
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Attempt:
    ok: bool
    temporary: bool
    reply: str


@dataclass(frozen=True)
class _Run:
    """What one delivery run works with: the server, the retry schedule, the database and the clock."""

    smtp: SmtpConfig
    retry_minutes: tuple[int, ...]
    sessions: sessionmaker[Session]
    clock: Clock


@dataclass
class FlushReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    held: int = 0


def smtp_client(config: SmtpConfig) -> aiosmtplib.SMTP:
    """The one seam for SMTP login methods: a password, or an OAuth2 token (AUTH XOAUTH2) on every connect."""
    options = {
        "hostname": config.host,
        "port": config.port,
        "use_tls": config.tls == "tls",
        "start_tls": config.tls == "starttls",
        "timeout": config.timeout_seconds,
        "tls_context": ssl.create_default_context(),
    }
    if config.oauth is not None:
        return TokenSMTP(config.oauth, **options)
    return aiosmtplib.SMTP(username=config.username, password=config.password, **options)


def flush_outbox(
    smtp: SmtpConfig,
    delivery: DeliveryConfig,
    sessions: sessionmaker[Session],
    clock: Clock,
    on_sent: OnSent | None = None,
) -> FlushReport:
    """Send every letter that is due over one connection; ``on_sent`` runs in the transaction recording it."""
    run = _Run(smtp, delivery.retry_minutes, sessions, clock)
    report = FlushReport(held=hold_interrupted(sessions, clock))
    due = _due_ids(run)
    if due:
        asyncio.run(_deliver_all(run, due, report, on_sent))
    return report


def hold_interrupted(sessions: sessionmaker[Session], clock: Clock) -> int:
    """Rows left in ``sending`` by a crash: the server may or may not have taken them, so a person decides."""
    cutoff = clock() - INTERRUPTED_AFTER
    with sessions.begin() as session:
        held = session.execute(
            update(Outbox)
            .where(Outbox.state == OutboxState.SENDING, Outbox.claimed_at < cutoff)
            .values(
                state=OutboxState.HELD,
                last_error="delivery was interrupted; it may already have been sent. Check, then "
                "release it with `mailbot outbox release ID` or leave it held.",
            )
        )
        return held.rowcount


def _due_ids(run: _Run) -> list[int]:
    with run.sessions() as session:
        return list(
            session.scalars(
                select(Outbox.id)
                .where(Outbox.state == OutboxState.PENDING, Outbox.next_attempt_at <= run.clock())
                .order_by(Outbox.id)
            )
        )


async def _deliver_all(run: _Run, due: list[int], report: FlushReport, on_sent: OnSent | None) -> None:
    client = smtp_client(run.smtp)
    try:
        await client.connect()
    except (aiosmtplib.SMTPException, OSError) as exc:
        log.warning("SMTP %s:%s unavailable: %s", run.smtp.host, run.smtp.port, exc)
        _defer_all(run, due, f"cannot connect to SMTP server: {exc}", report)
        return
    try:
        for outbox_id in due:
            await _deliver_one(run, client, outbox_id, report, on_sent)
    finally:
        await _quit(client)


async def _deliver_one(
    run: _Run, client: aiosmtplib.SMTP, outbox_id: int, report: FlushReport, on_sent: OnSent | None
) -> None:
    row = _claim(run, outbox_id)
    if row is None:
        return
    attempt = await send(client, row)
    _record(run, outbox_id, attempt, report, on_sent)


async def send(client: aiosmtplib.SMTP, row: Outbox) -> Attempt:
    try:
        if not client.is_connected:
            await client.connect()
        errors, reply = await client.sendmail(row.sender, row.recipients, row.raw)
    except aiosmtplib.SMTPRecipientsRefused as exc:
        first = exc.recipients[0]
        return Attempt(False, 400 <= first.code < 500, f"{first.code} {first.message}")
    except aiosmtplib.SMTPResponseException as exc:
        return Attempt(False, 400 <= exc.code < 500, f"{exc.code} {exc.message}")
    except (aiosmtplib.SMTPException, OSError) as exc:
        return Attempt(False, True, f"connection: {exc}")
    refused = "; ".join(f"{addr}: {r.code} {r.message}" for addr, r in errors.items())
    return Attempt(True, False, reply + (f" (refused: {refused})" if refused else ""))


def _claim(run: _Run, outbox_id: int) -> Outbox | None:
    with run.sessions.begin() as session:
        claimed = session.execute(
            update(Outbox)
            .where(Outbox.id == outbox_id, Outbox.state == OutboxState.PENDING)
            .values(state=OutboxState.SENDING, claimed_at=run.clock(), attempts=Outbox.attempts + 1)
        )
        return session.get(Outbox, outbox_id) if claimed.rowcount == 1 else None


def _record(run: _Run, outbox_id: int, attempt: Attempt, report: FlushReport, on_sent: OnSent | None) -> None:
    now = run.clock()
    with run.sessions.begin() as session:
        row = session.get(Outbox, outbox_id)
        assert row is not None
        if attempt.ok:
            row.state, row.sent_at, row.smtp_response = OutboxState.SENT, now, attempt.reply
            report.sent += 1
            if on_sent:
                on_sent(session, row)
        else:
            _failed_attempt(run.retry_minutes, row, attempt.temporary, attempt.reply, now)
            report.retrying += row.state == OutboxState.PENDING
            report.failed += row.state == OutboxState.FAILED


def _failed_attempt(
    retry_minutes: tuple[int, ...], row: Outbox, temporary: bool, reply: str, now: datetime
) -> None:
    row.last_error = reply
    if temporary and now < row.deliver_until:
        row.state = OutboxState.PENDING
        step = min(row.attempts, len(retry_minutes)) - 1
        row.next_attempt_at = now + timedelta(minutes=retry_minutes[step])
        log.info("outbox %s: temporary failure (%s); retry at %s", row.id, reply, row.next_attempt_at)
    else:
        row.state = OutboxState.FAILED
        log.error("outbox %s to %s failed: %s", row.id, ", ".join(row.recipients), reply)


def _defer_all(run: _Run, due: list[int], reason: str, report: FlushReport) -> None:
    now = run.clock()
    with run.sessions.begin() as session:
        for row in session.scalars(
            select(Outbox).where(Outbox.id.in_(due), Outbox.state == OutboxState.PENDING)
        ):
            row.attempts += 1
            _failed_attempt(run.retry_minutes, row, True, reason, now)
            report.retrying += row.state == OutboxState.PENDING
            report.failed += row.state == OutboxState.FAILED


async def _quit(client: aiosmtplib.SMTP) -> None:
    if client.is_connected:
        try:
            await client.quit()
        except (aiosmtplib.SMTPException, OSError):
            client.close()


async def check_login(config: SmtpConfig) -> str:
    """Connect and authenticate; for ``check-config``."""
    client = smtp_client(config)
    await client.connect()
    await _quit(client)
    return f"smtp: connected to {config.host}:{config.port}" + (
        f" as {config.username}" if config.username else ""
    )
