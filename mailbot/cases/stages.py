"""A case's stages under its policy: starting one, acknowledging it, escalating, extending, recording the
outcome. The case row mirrors its current stage so lists and reports need no join."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from mailbot.db.models import Case, StageRecord
from mailbot.errors import UserError
from mailbot.policy import Period, Policy, Stage
from mailbot.vocabulary import OUTCOMES, RECORDED_STAGE, CaseStatus


class StageError(UserError):
    """A stage change the policy does not allow; says why and what would be accepted."""


def current(case: Case) -> StageRecord | None:
    matching = [r for r in case.stages if r.stage == case.stage]
    return matching[-1] if matching else None


def start_stage(
    session: Session,
    case: Case,
    policy: Policy,
    stage: str,
    at: datetime,
    acknowledged: datetime | None = None,
) -> StageRecord:
    """Begin ``stage`` at ``at`` (receipt or escalation); ``acknowledged`` when the letter is written now."""
    record = begin_stage(case, policy, stage, at, acknowledged)
    record.case_id = case.id
    # Appended before it is added: reading a case's unloaded stages flushes pending rows, and a record
    # already flushed would be loaded into the list and then appended to it a second time.
    case.stages.append(record)
    session.add(record)
    session.flush()
    return record


def begin_stage(
    case: Case, policy: Policy, stage: str, at: datetime, acknowledged: datetime | None = None
) -> StageRecord:
    """The record of ``stage`` begun at ``at``, with the case's mirror of it set; neither is written here (a
    new case is written with its first stage by ``records.write_new_case``)."""
    _refuse_if_held_before(case, policy, stage)
    timeline = policy.timeline(stage, at, acknowledged=acknowledged)
    record = StageRecord(
        stage=stage,
        started_at=at,
        acknowledge_due=timeline.acknowledge_due,
        respond_due=timeline.respond_due,
    )
    case.stage, case.status, case.outcome = stage, CaseStatus.OPEN, None
    case.acknowledge_due, case.acknowledged_at, case.response_due = (
        record.acknowledge_due,
        None,
        record.respond_due,
    )
    return record


def _refuse_if_held_before(case: Case, policy: Policy, stage: str) -> None:
    """The database keeps one record per stage of a case, so a stage is never started twice."""
    been = {record.stage for record in case.stages}
    if stage in been:
        others = [s.label for s in policy.stages if s.name not in been]
        raise StageError(
            f"{case.ref} has already been at {policy.stage(stage).label}; a case goes through each stage "
            f"once (stages it has not been at: {', '.join(others) or 'none'})"
        )


def mark_acknowledged(case: Case, policy: Policy, at: datetime) -> date | None:
    """The acknowledgement left. The response date then runs from it, but never later than the date the
    letter already promised, even when delivery was delayed. Returns the response date."""
    record = current(case)
    if case.acknowledged_at is None:
        case.acknowledged_at = at
    if record is None or record.acknowledged_at is not None:
        return case.response_due
    record.acknowledged_at = at
    due = policy.timeline(record.stage, record.started_at, acknowledged=at).respond_due
    if due is not None:
        record.respond_due = min(due, record.respond_due) if record.respond_due else due
        case.response_due = record.extended_to or record.respond_due
    return case.response_due


def next_stage(case: Case, policy: Policy) -> Stage | None:
    """The stage an escalation leads to; from a recorded concern or comment, the complaint's first stage."""
    if case.stage == RECORDED_STAGE:
        return policy.stage(complaint_start(policy))
    return policy.next_stage(case.stage)


def complaint_start(policy: Policy) -> str:
    try:
        return policy.kind("complaint").starts_at or policy.stages[0].name
    except KeyError:
        return policy.stages[0].name


def escalate(
    session: Session, case: Case, policy: Policy, at: datetime, acknowledged: datetime | None = None
) -> StageRecord | None:
    """Move to the next stage; None when the case is already at the policy's last stage."""
    following = next_stage(case, policy)
    if following is None:
        return None
    if case.stage == RECORDED_STAGE:
        case.kind = "complaint"
    return start_stage(session, case, policy, following.name, at, acknowledged)


@dataclass(frozen=True)
class Extension:
    new_date: date
    reason: str
    agreed: bool


def extend(case: Case, policy: Policy, count: int, reason: str, agreed: bool) -> Extension:
    """Extend the current stage's response date by ``count`` of the policy's extension unit."""
    record, stage = _open_stage(case, policy)
    rule = stage.respond.extension
    if rule is None or record.respond_due is None:
        raise StageError(f"{policy.title}: {stage.label} allows no extension")
    unit = rule.limit.unit if rule.limit else "working"
    base = record.extended_to or record.respond_due
    new_date = _after(Period(count, unit), policy, base)
    latest = rule.limit.after(policy.calendar, record.respond_due, receipt=False) if rule.limit else None
    if latest is not None and new_date > latest:
        raise StageError(
            f"{policy.title}: {stage.label} may be extended by at most {rule.limit} "
            f"(to {latest:%d %B %Y}); {count} {unit} day(s) would reach {new_date:%d %B %Y}"
        )
    record.extended_to, record.extension_reason, record.extension_agreed = new_date, reason, agreed
    case.response_due = new_date
    return Extension(new_date, reason, agreed)


def _after(period: Period, policy: Policy, base: date) -> date:
    if period.unit == "working":
        return policy.calendar.working_days_after(base, period.count)
    return period.after(policy.calendar, base, receipt=False)


def _open_stage(case: Case, policy: Policy) -> tuple[StageRecord, Stage]:
    record = current(case)
    if record is None or case.stage == RECORDED_STAGE:
        raise StageError(f"{case.ref} is a recorded {case.kind}, not a case under a complaints stage")
    if record.responded_at is not None:
        raise StageError(f"{case.ref}: {policy.stage(case.stage).label} has already been responded to")
    return record, policy.stage(case.stage)


def record_outcome(case: Case, policy: Policy, outcome: str, at: datetime) -> Stage | None:
    """Record the stage's outcome; returns the stage the complainant may escalate to (None at the last)."""
    if outcome not in OUTCOMES:
        raise StageError(f"unknown outcome {outcome!r} (accepted: {', '.join(OUTCOMES)})")
    record, _stage = _open_stage(case, policy)
    record.outcome, record.responded_at = outcome, at
    case.outcome, case.status = outcome, "responded"
    following = policy.next_stage(case.stage)
    if following is None:
        close(case, at)
    return following


def close(case: Case, at: datetime) -> None:
    case.status, case.closed_at = CaseStatus.CLOSED, at
