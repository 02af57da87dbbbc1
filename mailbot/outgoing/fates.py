"""What follows from a letter's fate, beyond the outbox row: an acknowledgement sent sets its case's
acknowledged date; a letter to a complainant refused for good (a 550 at RCPT) or given up on is put on the
case and told at once to its coordinator, or to the leads when it has none, because the complainant has not
heard and nobody else would know.
"""

from __future__ import annotations

from sqlalchemy.orm import Session, joinedload

from mailbot.app import App
from mailbot.cases import records, stages
from mailbot.db.models import Case, Outbox
from mailbot.outgoing import alerts
from mailbot.outgoing.outbox import Recipient
from mailbot.outgoing.smtp import DeliveryHooks

ACKNOWLEDGING = ("acknowledgement", "thank_you")
UNDELIVERABLE = "undeliverable"  # the case flag a bounce sets too


def delivery_hooks(app: App) -> DeliveryHooks:
    return DeliveryHooks(
        on_sent=lambda session, row: acknowledgement_sent(app, session, row),
        on_failed=lambda session, row: letter_failed(app, session, row),
    )


def acknowledgement_sent(app: App, session: Session, row: Outbox) -> None:
    if row.purpose not in ACKNOWLEDGING or row.case_id is None or row.sent_at is None:
        return
    # The case and its stages in one statement: marking it acknowledged reads the current stage.
    case = session.get(Case, row.case_id, options=[joinedload(Case.stages)])
    if case is None or case.acknowledged_at is not None:
        return
    due = stages.mark_acknowledged(case, app.policies[case.policy], row.sent_at)
    records.log_event(
        session, case, "mailbot", "acknowledged", row.sent_at, f"response due {due}" if due else ""
    )


def letter_failed(app: App, session: Session, row: Outbox) -> None:
    """A letter to the complainant will not arrive: flag the case, record why, tell a person."""
    case = session.get(Case, row.case_id) if row.case_id is not None else None
    if case is None or case.complainant_address.lower() not in {r.lower() for r in row.recipients}:
        return  # letters to staff: a failed alert about a failed alert would only loop
    now, address, said = app.clock(), case.complainant_address, row.last_error or ""
    case.flags = sorted({*(case.flags or []), UNDELIVERABLE})
    records.log_event(session, case, "mailbot", f"{row.purpose} not delivered", now, f"to {address}: {said}")
    why = "the mail server refused it" if said[:1] == "5" else "it could not be sent before we gave up trying"
    details = {
        "letter": row.purpose,
        "address": address,
        "server_said": said,
        "why": why,
        "outbox_id": row.id,
    }
    key = f"undelivered:{row.id}"
    alerts.alert(session, app, case, "alert_undelivered", who_to_tell(app, case), now, key, details)


def who_to_tell(app: App, case: Case) -> list[Recipient]:
    """The case's coordinator; without one, the leads (or whoever the staff directory falls back to)."""
    if case.coordinator:
        return alerts.coordinator_of(app, case)
    return alerts.people_for(app, "lead")
