"""Whether the running service is keeping up, judged from what the database records: each mailbox's last
contact, the outbox backlog, letters held or failed, shunted messages and cases still unacknowledged.

The schema records a poll only when it fetches or files mail, so a mailbox's last contact is its last mail
fetched, marked or filed (or the first contact); a quiet mailbox looks like a stalled one after a while.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from mailbot.config.servers import MailboxConfig
from mailbot.config.settings import Config
from mailbot.db.models import Case, InboundMessage, MailboxState, Outbox, StageRecord
from mailbot.db.session import make_engine, make_sessionmaker
from mailbot.vocabulary import CaseStatus, InboundState, OutboxState

# Flagged on the cases `mailbot import` records: acknowledging them was left to people on purpose.
IMPORTED = "imported"


@dataclass(frozen=True)
class Thresholds:
    """Past these, the service is unhealthy."""

    max_quiet_hours: float  # a mailbox with no mail fetched or filed for longer
    max_outbox_minutes: float  # the oldest letter still waiting to go
    max_held: int  # letters held (fate unknown) within recent_hours
    max_failed: int  # letters failed within recent_hours
    recent_hours: float  # held and failed letters count this long after their last attempt
    max_shunted: int  # messages shunted and not yet retried
    max_unacknowledged_hours: float  # a case's current stage started this long ago, still unacknowledged


@dataclass(frozen=True)
class Check:
    """One thing checked: whether it is within its threshold, a line for a person, and the figures."""

    name: str
    ok: bool
    detail: str
    figures: dict[str, Any] = field(default_factory=dict)


def check_database(config: Config, limits: Thresholds, now: datetime) -> list[Check]:
    """Every check, read in one session; a database that cannot be read is itself the finding."""
    engine = make_engine(config.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            return check_health(session, config.mailboxes, limits, now)
    except SQLAlchemyError as exc:
        where = engine.url.render_as_string(hide_password=True)
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        missing_table = "no such table" in reason or reason.startswith("relation")  # SQLite, PostgreSQL
        hint = " (a new database needs `mailbot db upgrade`)" if missing_table else ""
        return [Check("database", False, f"cannot read {where}: {reason}{hint}")]
    finally:
        engine.dispose()


def check_health(
    session: Session, mailboxes: Iterable[MailboxConfig], limits: Thresholds, now: datetime
) -> list[Check]:
    since = now - timedelta(hours=limits.recent_hours)
    return [
        *(mailbox_check(session, box, limits, now) for box in mailboxes),
        outbox_check(session, limits, now),
        stopped_letters_check(session, OutboxState.HELD, limits.max_held, since, limits),
        stopped_letters_check(session, OutboxState.FAILED, limits.max_failed, since, limits),
        shunted_check(session, limits),
        acknowledgement_check(session, limits, now),
    ]


def is_healthy(checks: Iterable[Check]) -> bool:
    return all(check.ok for check in checks)


def mailbox_check(session: Session, box: MailboxConfig, limits: Thresholds, now: datetime) -> Check:
    name = f"mailbox {box.name}"
    last = last_contact(session, box)
    if last is None:
        return Check(name, False, "never polled: no contact recorded", {"last_contact": None})
    quiet = now - last
    ok = quiet <= timedelta(hours=limits.max_quiet_hours)
    detail = f"last mail fetched or filed {age(quiet)} ago ({last:%Y-%m-%d %H:%M} UTC)"
    return Check(name, ok, detail, {"last_contact": last.isoformat(), "quiet_hours": hours(quiet)})


def last_contact(session: Session, box: MailboxConfig) -> datetime | None:
    """The latest time intake is known to have reached the mailbox: first contact, a message fetched or
    marked, or a sent letter filed in its Sent folder."""
    inbound = (InboundMessage.mailbox == box.name, InboundMessage.folder == box.folder)
    times = (
        select(MailboxState.first_seen_at).where(
            MailboxState.mailbox == box.name, MailboxState.folder == box.folder
        ),
        select(func.max(InboundMessage.fetched_at)).where(*inbound),
        select(func.max(InboundMessage.marked_at)).where(*inbound),
        select(func.max(Outbox.filed_at)).where(Outbox.mailbox == box.name),
    )
    found = [t for t in (session.scalar(query) for query in times) if t is not None]
    return max(found, default=None)


def outbox_check(session: Session, limits: Thresholds, now: datetime) -> Check:
    waiting = Outbox.state == OutboxState.PENDING
    count = session.scalar(select(func.count()).where(waiting)) or 0
    oldest = session.scalar(select(func.min(Outbox.created_at)).where(waiting))
    if oldest is None:
        return Check(
            "outbox", True, "nothing waiting to be sent", {"pending": 0, "oldest_pending_minutes": None}
        )
    waited = now - oldest
    ok = waited <= timedelta(minutes=limits.max_outbox_minutes)
    detail = f"{count} letter(s) waiting to be sent, the oldest for {age(waited)}"
    return Check("outbox", ok, detail, {"pending": count, "oldest_pending_minutes": minutes(waited)})


def stopped_letters_check(
    session: Session, state: OutboxState, most: int, since: datetime, limits: Thresholds
) -> Check:
    """Held or failed letters: both wait on a person, who may also decide to leave them as they are; so
    only those whose last attempt is recent count against the threshold."""
    rows = session.execute(select(Outbox.claimed_at, Outbox.created_at).where(Outbox.state == state)).all()
    recent = sum(1 for claimed, created in rows if (claimed or created) >= since)
    window = f"in the last {limits.recent_hours:g} hours"
    detail = f"{recent} {window}, {len(rows)} in all (`mailbot outbox list`)"
    return Check(f"{state} letters", recent <= most, detail, {"recent": recent, "total": len(rows)})


def shunted_check(session: Session, limits: Thresholds) -> Check:
    count = session.scalar(select(func.count()).where(InboundMessage.state == InboundState.SHUNTED)) or 0
    detail = f"{count} message(s) failed and wait to be retried (`mailbot shunted list`)" if count else "none"
    return Check("shunted messages", count <= limits.max_shunted, detail, {"count": count})


def acknowledgement_check(session: Session, limits: Thresholds, now: datetime) -> Check:
    waiting = unacknowledged(session)
    if not waiting:
        return Check(
            "acknowledgements", True, "every open case is acknowledged", {"count": 0, "oldest": None}
        )
    ref, started = min(waiting, key=lambda pair: pair[1])
    waited = now - started
    ok = waited <= timedelta(hours=limits.max_unacknowledged_hours)
    detail = f"{len(waiting)} case(s) awaiting acknowledgement; the oldest, {ref}, for {age(waited)}"
    oldest = {"ref": ref, "waiting_hours": hours(waited)}
    return Check("acknowledgements", ok, detail, {"count": len(waiting), "oldest": oldest})


def unacknowledged(session: Session) -> list[tuple[str, datetime]]:
    """Open cases whose current stage is not yet acknowledged, with when that stage began; an imported
    backlog is left out, as the deadline watch leaves it out."""
    rows = session.execute(
        select(Case.ref, Case.flags, StageRecord.started_at)
        .join(StageRecord, (StageRecord.case_id == Case.id) & (StageRecord.stage == Case.stage))
        .where(
            Case.status == CaseStatus.OPEN,
            Case.acknowledge_due.is_not(None),
            Case.acknowledged_at.is_(None),
        )
    ).all()
    return [(ref, started) for ref, flags, started in rows if IMPORTED not in (flags or [])]


def age(span: timedelta) -> str:
    """A span as a person would say it: '40 minutes', '5 hours', '3 days'."""
    seconds = max(span.total_seconds(), 0)
    if seconds < 2 * 3600:
        count, unit = int(seconds // 60), "minute"
    elif seconds < 2 * 86400:
        count, unit = int(seconds // 3600), "hour"
    else:
        count, unit = int(seconds // 86400), "day"
    return f"{count} {unit}" + ("" if count == 1 else "s")


def hours(span: timedelta) -> float:
    return round(span.total_seconds() / 3600, 2)


def minutes(span: timedelta) -> float:
    return round(span.total_seconds() / 60, 1)
