"""``#kind`` across the line between complaints and requests with their own law.

A case re-classed as a subject access or freedom of information request leaves the complaints stages for the
law's clock, counted from the day the mail was received (cases/statutory.py), and its officer is sent it as
if it had been recognised on arrival. A request re-classed as feedback goes back onto the complaints stages
(its dates worked out again from receipt) or is recorded, as the policy says for that kind. Every move is
logged on the case with the dates it now runs to.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.app import App
from mailbot.cases import records, stages
from mailbot.cases.requests import request_name
from mailbot.cases.statutory import RequestClock, foi_clock, subject_access_clock
from mailbot.db.models import Case, InboundMessage, InformationRequest
from mailbot.outgoing import alerts
from mailbot.outgoing.outbox import Recipient
from mailbot.policy import Policy
from mailbot.vocabulary import RECORDED_STAGE, REQUEST_KINDS, CaseStatus, Kind

FORWARD_LETTER = "forward_request"


def move_clock(
    session: Session, app: App, case: Case, kind: str, at: datetime, actor: str,
    inbound: InboundMessage | None,
) -> str:  # fmt: skip
    """Put the case on the clock its new kind runs on; what changed, in words ("" when the clock stays)."""
    if case.status == CaseStatus.CLOSED:
        return ""  # a closed case keeps its history; only its kind's name changes
    policy = app.policies[case.policy]
    if kind in REQUEST_KINDS:
        return onto_statutory_clock(session, app, case, policy, kind, at, actor, inbound)
    if case.status == CaseStatus.REQUEST:
        return onto_complaints_stages(session, case, policy, kind, at, actor, inbound)
    return ""


def onto_statutory_clock(
    session: Session, app: App, case: Case, policy: Policy, kind: str, at: datetime, actor: str,
    inbound: InboundMessage | None,
) -> str:  # fmt: skip
    received = policy.calendar.local_date(case.received_at)
    law = subject_access_clock if kind == Kind.SUBJECT_ACCESS else foi_clock
    clock = law(received, policy.calendar.nation)
    officer = app.config.forwarding.get(kind)
    row = _request_row(session, case) or InformationRequest(case_id=case.id, received_on=received)
    row.law, row.received_on, row.due, row.latest_due = clock.law, received, clock.due, clock.latest_due
    row.forwarded_to = officer
    session.add(row)
    # Off the complaints stages: their records stay as history, their dates no longer run.
    case.status, case.stage = CaseStatus.REQUEST, RECORDED_STAGE
    case.acknowledge_due, case.response_due = None, None
    dates = _dates(clock)
    records.log_event(session, case, actor, "statutory clock", at, f"{clock.law}: {dates}", inbound)
    sent = _forward(session, app, case, kind, clock, officer, at)
    return f"; off the complaints stages, {dates} ({clock.law}); sent to {sent}"


def onto_complaints_stages(
    session: Session, case: Case, policy: Policy, kind: str, at: datetime, actor: str,
    inbound: InboundMessage | None,
) -> str:  # fmt: skip
    row = _request_row(session, case)
    if row is not None:
        session.delete(row)
    # Imported here: importing the routing package runs its table, which imports staff.commands (this
    # module's caller); routing/kinds.py itself needs nothing from staff, so there is no cycle of modules.
    from mailbot.routing.kinds import opening_stage

    stage = opening_stage(policy, kind)
    if stage == RECORDED_STAGE:
        case.status, case.stage = CaseStatus.RECORDED, RECORDED_STAGE
        records.log_event(session, case, actor, "complaints clock", at, "recorded; no stage runs", inbound)
        return "; off the statutory clock, recorded"
    _resume_or_start(session, case, policy, stage)
    label = policy.stage(stage).label
    dates = f"acknowledgement due {case.acknowledge_due or '-'}, response due {case.response_due or '-'}"
    records.log_event(session, case, actor, "complaints clock", at, f"{label}: {dates}", inbound)
    return f"; off the statutory clock, back on {label}: {dates}"


def _resume_or_start(session: Session, case: Case, policy: Policy, stage: str) -> None:
    """Counted from receipt, as if it had been taken for this kind on arrival; a stage the case was at before
    it was re-classed carries on with the dates it had (the database keeps one record per stage)."""
    held = [record for record in case.stages if record.stage == stage]
    if not held:
        stages.start_stage(session, case, policy, stage, case.received_at)
        return
    record = held[-1]
    case.stage, case.status, case.outcome = stage, CaseStatus.OPEN, None
    case.acknowledge_due, case.acknowledged_at = record.acknowledge_due, record.acknowledged_at
    case.response_due = record.respond_due


def _request_row(session: Session, case: Case) -> InformationRequest | None:
    return session.scalar(select(InformationRequest).where(InformationRequest.case_id == case.id))


def _dates(clock: RequestClock) -> str:
    return f"due {clock.due}" + (f" (extendable to {clock.latest_due})" if clock.latest_due else "")


def _forward(
    session: Session, app: App, case: Case, kind: str, clock: RequestClock, officer: str | None, at: datetime
) -> str:
    people = [Recipient("", officer)] if officer else alerts.people_for(app, "lead")
    details = {
        "request": request_name(kind), "kind": kind, "law": clock.law, "due": clock.due,
        "latest_due": clock.latest_due, "original_text": "", "sender": case.complainant_address,
        "acknowledged": False,
    }  # fmt: skip
    key = f"reclassed:{case.ref}:{kind}:{clock.due.isoformat()}"
    sent = alerts.alert(session, app, case, FORWARD_LETTER, people, at, key, details)
    return ", ".join(sent) or "nobody (set [forwarding] " + kind + ")"
