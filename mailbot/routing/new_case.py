"""New feedback opens a case: its opening stage begins, staff are alerted to safeguarding and elected members,
the writer is acknowledged and the coordinator sees the mail."""

from __future__ import annotations

from mailbot.cases import records
from mailbot.db.models import Case
from mailbot.outgoing import alerts
from mailbot.policy import Policy
from mailbot.routing import safeguarding
from mailbot.routing.answer import acknowledge
from mailbot.routing.context import Routing
from mailbot.routing.kinds import opening_stage
from mailbot.routing.opening import complainant, may_answer, open_case
from mailbot.staff import commands
from mailbot.staff.reply_text import MARKERS
from mailbot.vocabulary import FEEDBACK_KINDS, Kind

USAGE_LINES = tuple(commands.USAGE.values())
ALERTS = (  # flag, alert letter, the staff role it goes to unless the policy names another
    ("elected_member", "alert_elected_member", "chief_executive"),
)


def open_new_case(r: Routing) -> str:
    # A reply or escalation that threads into no case is taken as a new complaint: the protective choice;
    # so is feedback whose kind is unsure, where the configuration says so (the coordinator confirms it).
    kind = r.kind if r.kind in FEEDBACK_KINDS else Kind.COMPLAINT
    if r.verdict.unsure and r.app.config.cases.when_unsure == "complaint":
        kind = Kind.COMPLAINT
    policy = r.app.policy_for(r.inbound.mailbox)
    writer = complainant(r)
    with records.events_together(r.session):  # opening, alerts, the acknowledgement: one INSERT for them all
        case = open_case(r, policy, kind, writer, opening_stage(policy, kind))
        if writer is not None and writer != r.mail.sender:
            how = "forwarded by staff" if r.staff.person else "sent on by a trusted sender"
            records.log_event(r.session, case, r.actor, how, r.now, f"for {writer.email}")
        alerted = raise_alerts(r, case, policy)
        sent = acknowledge(r, case, policy)
        told = notify_coordinator(r, case, r.text, new_case=True) if r.inbound.send_allowed else ""
    return f"opened {case.ref} ({kind}); {sent}" + (f"; {alerted}" if alerted else "") + told


def raise_alerts(r: Routing, case: Case, policy: Policy) -> str:
    """Safeguarding to the safeguarding lead, elected members to whoever the policy names; at once."""
    told = (
        [safeguarding.alert_lead(r, case, policy, on_existing_case=False)]
        if safeguarding.is_disclosure(r)
        else []
    )
    for flag, letter, role in ALERTS:
        if flag in r.verdict.flags:
            note = next((n for n in policy.routing if n.matter == flag), None)
            people = alerts.people_for(r.app, (note.to if note and note.to else None) or role)
            details = {"original_text": r.text, "sender": r.actor, "attachments": r.attachments}
            sent = alerts.alert(r.session, r.app, case, letter, people, r.now, r.key, details)
            told.append(f"{flag} alert to {', '.join(sent) or 'nobody'}")
    return "; ".join(told)


def notify_coordinator(r: Routing, case: Case, text: str, new_case: bool) -> str:
    """The coordinator sees every new case and every new message on it, and can answer from their own mail."""
    if not case.coordinator:
        return ""
    details = {
        "original_text": text, "sender": r.actor, "commands": USAGE_LINES, "new_case": new_case,
        "notes": coordinator_notes(r, new_case),
        "unsure": new_case and r.verdict.unsure, "confidence": r.verdict.confidence,
        "guessed": r.verdict.kind, "no_reply": new_case and not may_answer(r),
        "attachments": r.attachments, "markers": MARKERS,
    }  # fmt: skip
    people = alerts.coordinator_of(r.app, case)
    sent = alerts.alert(r.session, r.app, case, "notify_coordinator", people, r.now, r.key, details)
    return f"; coordinator {', '.join(sent)} told" if sent else ""


def coordinator_notes(r: Routing, new_case: bool) -> list[str]:
    """What the coordinator should know about how this mail was handled: a case it named that is not its
    sender's, a Message-ID another mail used before."""
    notes = []
    if new_case and r.lookup.refused:
        notes.append(
            f"{r.lookup.refused}; opened as a new case, and nothing of that case was shown to the sender"
        )
    if r.note:
        notes.append(r.note)
    return notes
