"""A safeguarding alert: the lead is told at once, on a new case or on later mail about one, of the category,
the exact words that raised it and where, and what the policy says to do next. Never capped or dropped; the
complainant is acknowledged as usual."""

from __future__ import annotations

from mailbot.cases import records
from mailbot.classify.safeguarding import as_details, categories_found, people_named
from mailbot.db.models import Case
from mailbot.outgoing import alerts
from mailbot.policy import Policy
from mailbot.routing.context import Routing
from mailbot.vocabulary import SAFEGUARDING_ALERT_EVENT

FLAG = "safeguarding"
LEAD_ROLE = "safeguarding_lead"
ALERT_LETTER = "alert_safeguarding"
EVENT = SAFEGUARDING_ALERT_EVENT


def is_disclosure(r: Routing) -> bool:
    return FLAG in r.verdict.flags


def alert_lead(r: Routing, case: Case, policy: Policy, on_existing_case: bool) -> str:
    """Alert whoever the policy names for safeguarding (else the safeguarding lead); record it on the case."""
    note = next((n for n in policy.routing if n.matter == FLAG), None)
    people = alerts.people_for(r.app, (note.to if note and note.to else None) or LEAD_ROLE)
    findings = r.verdict.safeguarding
    categories = categories_found(findings)
    details = {
        "original_text": r.text, "sender": r.actor, "findings": as_details(findings),
        "categories": [f.category_name for f in {f.category: f for f in findings}.values()],
        "procedure": note.procedure if note else "", "policy_title": policy.title,
        "mailbox": r.inbound.mailbox, "on_existing_case": on_existing_case,
        "people_named": people_named(f"{r.mail.subject}\n{r.text}"),
    }  # fmt: skip
    if FLAG not in case.flags:  # usually there from the verdict: the case is then left as it was written
        case.flags = sorted({*case.flags, FLAG})
    sent = alerts.alert(r.session, r.app, case, ALERT_LETTER, people, r.now, r.key, details)
    summary = "; ".join(f.describe() for f in findings) or "flagged by a rule"
    records.log_event(
        r.session, case, "mailbot", EVENT, r.now, f"{', '.join(categories)}: {summary}", r.inbound
    )
    return f"{FLAG} alert to {', '.join(sent) or 'nobody'}"
