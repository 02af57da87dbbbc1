"""Mail on an existing case: recorded on it; a complainant's request for the next stage begins that stage."""

from __future__ import annotations

from mailbot.cases import records, stages
from mailbot.routing import safeguarding
from mailbot.routing.answer import acknowledge, answer
from mailbot.routing.context import Routing
from mailbot.routing.new_case import notify_coordinator


def add_to_case(r: Routing) -> str:
    case = r.on_case
    records.record_inbound(r.session, case, r.mail, r.inbound, r.kind, r.text, r.app.config.storage_dir)
    r.inbound.case_id = case.id
    by = r.lookup.match.matched_by if r.lookup.match else "reference"
    records.log_event(r.session, case, r.actor, f"{r.kind} received", r.now, f"threaded by {by}", r.inbound)
    outcome = f"added to {case.ref} as {r.kind} (threaded by {by})"
    if safeguarding.is_disclosure(r):  # a new disclosure on a case alerts again: the lead judges each one
        outcome += "; " + safeguarding.alert_lead(r, case, r.app.policies[case.policy], on_existing_case=True)
    # The coordinator sees every later message too, and answers it by replying to this notice.
    return outcome + notify_coordinator(r, case, r.text, new_case=False)


def escalate(r: Routing) -> str:
    """The complainant asks for the next stage: no reasons needed; that stage begins and is acknowledged."""
    outcome, case = add_to_case(r), r.on_case
    policy = r.app.policies[case.policy]
    # As for a new case, the stage's acknowledgement is written now: its dates count from now.
    record = stages.escalate(r.session, case, policy, r.inbound.received_at, acknowledged=r.now)
    if record is None:
        sent = answer(r, case, "signpost", automatic=True)
        return f"{outcome}; already at the last stage, signposted ({sent})"
    records.log_event(r.session, case, r.actor, "escalated", r.now, f"to {record.stage}", r.inbound)
    return f"{outcome}; escalated to {record.stage}; {acknowledge(r, case, policy)}"
