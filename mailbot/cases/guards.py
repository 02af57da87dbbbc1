"""Which staff actions make sense for a case, one rule for the command line and for ``#`` commands by mail.

A refused action changes nothing and queues nothing: escalating a compliment would send "We have received
your complaint" to someone who praised a carer, and closing a closed case would rewrite when it was closed.
"""

from __future__ import annotations

from enum import StrEnum

from mailbot.cases.stages import StageError
from mailbot.db.models import Case
from mailbot.vocabulary import CaseStatus, Kind


class Action(StrEnum):
    ESCALATE = "escalate"
    MOVE_STAGE = "move to a stage"
    EXTEND = "extend"
    OUTCOME = "record an outcome"
    CLOSE = "close"


class ActionRefused(StageError):
    """An action that makes no sense for this case; says which case, why, and what would."""


# Recorded without a complaints procedure: praise and suggestions are never put on a complaint's clock.
NEVER_ESCALATED = frozenset({Kind.COMPLIMENT, Kind.COMMENT})
# Cases outside the complaints stages altogether: forwarded matters and statutory requests.
OUTSIDE_STAGES = frozenset({CaseStatus.OUT_OF_SCOPE, CaseStatus.REQUEST})
CHANGING_KIND = "if it is a complaint after all, change its kind first (#kind complaint in a mail on it)"


def refuse_if_senseless(case: Case, action: Action) -> None:
    """Raise ActionRefused when ``action`` makes no sense for ``case`` as it stands now."""
    if case.status == CaseStatus.CLOSED:
        when = f" on {case.closed_at:%d %B %Y}" if case.closed_at else ""
        raise ActionRefused(f"{case.ref} is closed{when}; a closed case cannot {action.value}")
    if case.status in OUTSIDE_STAGES and action is not Action.CLOSE:  # a request is closed when answered
        raise ActionRefused(
            f"{case.ref} is {_status_words(case.status)}, outside the complaints stages; it cannot "
            f"{action.value}"
        )
    if action in (Action.ESCALATE, Action.MOVE_STAGE) and case.kind in NEVER_ESCALATED:
        raise ActionRefused(
            f"{case.ref} is a {case.kind}, recorded without a complaints stage; escalating it would send "
            f"a complaint acknowledgement to {case.complainant_address}; {CHANGING_KIND}"
        )


def _status_words(status: str) -> str:
    return {CaseStatus.OUT_OF_SCOPE: "a matter forwarded out of scope", CaseStatus.REQUEST: "a request"}.get(
        CaseStatus(status), status
    )
