"""Legal holds: a case under a claim, an ombudsman's investigation or an inquiry is kept whole. A held case is
never purged by the retention schedule, and erasing it needs ``--force`` with a reason."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from mailbot.cases import records
from mailbot.db.models import Case, InboundMessage
from mailbot.errors import UserError
from mailbot.privacy import log
from mailbot.privacy.log import PrivacyAction


class HoldError(UserError):
    """A hold asked for wrongly: no reason, or lifting one that is not there."""


def place_hold(
    session: Session, case: Case, actor: str, reason: str, at: datetime, inbound: InboundMessage | None = None
) -> str:
    reason = " ".join(reason.split())
    if not reason:
        raise HoldError("give the reason for the hold (e.g. 'ombudsman investigation 24 001 234')")
    case.held_at, case.held_by, case.hold_reason = at, actor, reason
    records.log_event(session, case, actor, PrivacyAction.HOLD, at, reason, inbound)
    log.record(session, at, actor, PrivacyAction.HOLD, f"{case.ref}: {reason}")
    return f"{case.ref} is on legal hold ({reason}): it will not be purged or erased until the hold is lifted"


def lift_hold(session: Session, case: Case, actor: str, reason: str, at: datetime) -> str:
    if case.held_at is None:
        raise HoldError(f"{case.ref} is not on hold")
    reason = " ".join(reason.split()) or "no reason given"
    case.held_at = case.held_by = case.hold_reason = None
    records.log_event(session, case, actor, PrivacyAction.RELEASE, at, reason)
    log.record(session, at, actor, PrivacyAction.RELEASE, f"{case.ref}: {reason}")
    return f"{case.ref}: legal hold lifted; the retention schedule applies again"
