"""Mail on an existing case: recorded on it; a complainant's request for the next stage begins that stage."""

from __future__ import annotations

from dataclasses import replace

from mailbot.cases import records, stages
from mailbot.routing import safeguarding
from mailbot.routing.answer import acknowledge, answer
from mailbot.routing.context import Routing
from mailbot.routing.new_case import notify_coordinator
from mailbot.staff.trust import forgery_reported


def add_to_case(r: Routing) -> str:
    if forged := forgery_reported(r.mail, r.app.config.spam.trusted_servers):
        r = replace(
            r, note=_noted(f"our receiving server says this mail's From is forged ({forged})", r.note)
        )
    case = r.on_case
    records.record_inbound(r.session, case, r.mail, r.inbound, r.kind, r.text, r.app.config.storage_dir)
    r.inbound.case_id = case.id
    by = r.lookup.match.matched_by if r.lookup.match else "reference"
    records.log_event(r.session, case, r.actor, f"{r.kind} received", r.now, f"threaded by {by}", r.inbound)
    outcome = f"added to {case.ref} as {r.kind} (threaded by {by})"
    if safeguarding.is_disclosure(r):  # a new disclosure on a case alerts again: the lead judges each one
        outcome += "; " + safeguarding.alert_lead(r, case, r.app.policies[case.policy], on_existing_case=True)
    # The coordinator sees every later message too, and answers it by replying to this notice; mail that
    # claims a staff address our server did not vouch for has its own alert instead (routing/by_staff.py).
    return outcome + ("" if r.staff.claimed else notify_coordinator(r, case, r.text, new_case=False))


def escalate(r: Routing) -> str:
    """The complainant asks for the next stage: no reasons needed; that stage begins and is acknowledged.
    Unless our own receiving server says the From is forged: then the request is only recorded, and the
    coordinator is asked to confirm it with the complainant before moving the case (``#stage``)."""
    if forged := forgery_reported(r.mail, r.app.config.spam.trusted_servers):
        note = "it asks for the next stage: not escalated; confirm with the complainant, then #stage"
        records.log_event(r.session, r.on_case, r.actor, "escalation not acted on", r.now, forged, r.inbound)
        return add_to_case(replace(r, note=_noted(r.note, note))) + "; not escalated: our server says forged"
    outcome, case = add_to_case(r), r.on_case
    policy = r.app.policies[case.policy]
    # As for a new case, the stage's acknowledgement is written now: its dates count from now.
    record = stages.escalate(r.session, case, policy, r.inbound.received_at, acknowledged=r.now)
    if record is None:
        sent = answer(r, case, "signpost", automatic=True)
        return f"{outcome}; already at the last stage, signposted ({sent})"
    records.log_event(r.session, case, r.actor, "escalated", r.now, f"to {record.stage}", r.inbound)
    return f"{outcome}; escalated to {record.stage}; {acknowledge(r, case, policy)}"


def _noted(*notes: str | None) -> str:
    return "; ".join(n for n in notes if n)
