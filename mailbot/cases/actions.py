"""What staff do to a case — escalate, extend, record the outcome, close — from the CLI today and by mail
later. Each changes the case, queues its letter and records who did it, in the caller's transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from mailbot.app import App
from mailbot.cases import records, requests, stages
from mailbot.cases.guards import Action, ActionRefused, refuse_if_senseless
from mailbot.db.models import Case, InboundMessage
from mailbot.outgoing.notices import LetterRequest, LetterStatus, send_letter
from mailbot.vocabulary import CaseStatus


def letter(
    session: Session, app: App, case: Case, name: str, at: datetime, actor: str, **details: object
) -> str:
    """Queue a letter staff decided to send (not an automatic reply: no cap, no Auto-Submitted)."""
    request = LetterRequest(
        name, at, key=at.isoformat(), automatic=False, auto_submitted=None, details=details, actor=actor
    )
    result = send_letter(session, app, case, request)
    if result.status is LetterStatus.ALREADY_QUEUED:
        return f"{name} not sent (already queued)"
    if result.status is LetterStatus.BLOCKED:
        return f"{name} not sent ({result.reason})"
    return f"{name} letter queued to {', '.join(result.recipients)}"


def escalate_case(
    session: Session, app: App, case: Case, actor: str, at: datetime, inbound: InboundMessage | None = None
) -> str:
    refuse_if_senseless(case, Action.ESCALATE)
    policy = app.policies[case.policy]
    record = stages.escalate(session, case, policy, at, acknowledged=at)
    if record is None:
        raise stages.StageError(
            f"{case.ref} is already at {policy.stage(case.stage).label}, the last stage of {policy.title}; "
            "record its outcome instead (`mailbot cases outcome`)"
        )
    records.log_event(session, case, actor, "escalated", at, f"to {record.stage}", inbound)
    return f"{case.ref} escalated to {record.stage}; " + letter(
        session, app, case, "acknowledgement", at, actor
    )


def extend_case(
    session: Session, app: App, case: Case, count: int | None, reason: str, agreed: bool, actor: str,
    at: datetime, inbound: InboundMessage | None = None,
) -> str:  # fmt: skip
    """Extend the current stage's response date by ``count`` of the policy's units; on a subject access
    request, its statutory date (``count`` calendar days, or None for as far as the law allows)."""
    if case.status == CaseStatus.REQUEST:
        return requests.extend_request(session, app, case, count, reason, actor, at, inbound)
    refuse_if_senseless(case, Action.EXTEND)
    if count is None:
        raise ActionRefused(f"give the number of days to extend {case.ref} by")
    extension = stages.extend(case, app.policies[case.policy], count, reason, agreed)
    detail = f"to {extension.new_date}: {reason}" + (" (agreed with the complainant)" if agreed else "")
    records.log_event(session, case, actor, "extended", at, detail, inbound)
    sent = letter(session, app, case, "extension", at, actor, extension=extension)
    return f"{case.ref} response now due {extension.new_date}; {sent}"


def record_case_outcome(
    session: Session,
    app: App,
    case: Case,
    decision: str,
    at: datetime,
    actor: str,
    reasons: str = "",
    remedy: str = "",
    actions: str = "",
    inbound: InboundMessage | None = None,
) -> str:
    refuse_if_senseless(case, Action.OUTCOME)
    policy = app.policies[case.policy]
    stage_label = policy.stage(case.stage).label
    following = stages.record_outcome(case, policy, decision, at)
    records.log_event(session, case, actor, "outcome", at, f"{stage_label}: {decision}", inbound)
    details = {"decision": decision, "reasons": reasons, "remedy": remedy, "actions": actions}
    sent = letter(session, app, case, "outcome", at, actor, **details)
    then = f"may escalate to {following.label}" if following else "closed (last stage)"
    return f"{case.ref} {stage_label} {decision}; {then}; {sent}"


def close_case(
    session: Session, case: Case, actor: str, at: datetime, inbound: InboundMessage | None = None
) -> str:
    refuse_if_senseless(case, Action.CLOSE)
    stages.close(case, at)
    records.log_event(session, case, actor, "closed", at, "", inbound)
    return f"{case.ref} closed"
