"""Rectification (UK GDPR article 16): ``mailbot cases correct REF --name NAME --address ADDR``. The case's
complainant is corrected from now on (letters go to the corrected address); the mail already received stays as
it came. The audit trail and the privacy log say what was corrected, by whom and why, not the old values."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from mailbot import checked
from mailbot.cases import records
from mailbot.db.models import Case
from mailbot.errors import UserError
from mailbot.privacy import log
from mailbot.privacy.log import PrivacyAction

CORRECTED_EVENT = "corrected"


class CorrectionError(UserError):
    """A correction that cannot be made as given; says what would be accepted."""


def correct_complainant(
    session: Session, case: Case, actor: str, at: datetime, name: str | None, address: str | None,
    reason: str = "",
) -> str:  # fmt: skip
    if name is None and address is None:
        raise CorrectionError("give --name, --address or both")
    if case.purged_at is not None:
        raise CorrectionError(f"{case.ref}: its personal data was purged; there is nothing to correct")
    changed = []
    if name is not None:
        case.complainant_name = _checked_name(name)
        changed.append("name")
    if address is not None:
        case.complainant_address = _checked_address(address)
        changed.append("address")
    what = f"complainant's {' and '.join(changed)} corrected" + (f": {reason}" if reason.strip() else "")
    records.log_event(session, case, actor, CORRECTED_EVENT, at, what)
    log.record(session, at, actor, PrivacyAction.CORRECTION, f"{case.ref}: {what}")
    return f"{case.ref}: {what}; letters from now on use the corrected details"


def _checked_name(value: str) -> str:
    name = checked.display_name(value)
    if not name or name != " ".join(value.split()):
        raise CorrectionError(
            f"--name {value!r}: a person's name of at most {checked.NAME_LIMIT} characters, without an "
            'address, a link or any of < > " \\ ; : , ( ) [ ]'
        )
    return name


def _checked_address(value: str) -> str:
    address = checked.address(value)
    if address is None:
        raise CorrectionError(f"--address {value!r}: expected an email address such as jane.doe@example.net")
    return address
