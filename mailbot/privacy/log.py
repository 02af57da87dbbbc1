"""The privacy log: every subject access export, erasure, purge run, correction and legal hold, with who did
it, when and why. It is the record of disposal the Records Management Code of Practice asks an organisation to
keep, and the first place a data protection officer looks."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mailbot.db.models import PrivacyLog

ERASED_SUBJECT = "(erased)"


class PrivacyAction(StrEnum):
    EXPORT = "subject access export"
    ERASURE = "erasure"
    PURGE = "retention purge"
    CORRECTION = "correction"
    HOLD = "legal hold"
    RELEASE = "legal hold lifted"


def record(
    session: Session, at: datetime, actor: str, action: PrivacyAction, detail: str, subject: str | None = None
) -> None:
    session.add(PrivacyLog(at=at, actor=actor, action=action, subject=subject, detail=detail))


def entries(session: Session, limit: int | None = None) -> list[PrivacyLog]:
    """The newest first."""
    query = select(PrivacyLog).order_by(PrivacyLog.at.desc(), PrivacyLog.id.desc())
    return list(session.scalars(query.limit(limit) if limit else query))


def forget_subject(session: Session, address: str) -> None:
    """An erased person's address leaves the log too: earlier exports for them stay recorded, unnamed."""
    session.execute(update(PrivacyLog).where(PrivacyLog.subject == address).values(subject=ERASED_SUBJECT))


def one_line(entry: PrivacyLog) -> str:
    who = f" {entry.subject}" if entry.subject else ""
    return f"{entry.at:%Y-%m-%d %H:%M}\t{entry.actor}\t{entry.action}{who}\t{entry.detail}"
