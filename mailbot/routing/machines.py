"""Mail written by machines: a bounce of one of our letters is linked to its case and the coordinator told;
out-of-office replies and bulk mail are left alone (answering them would start a mail loop)."""

from __future__ import annotations

from mailbot.cases import records
from mailbot.db.models import Case
from mailbot.outgoing import alerts, outbox
from mailbot.routing.context import Routing
from mailbot.vocabulary import Kind


def link_bounce(r: Routing) -> str:
    """A bounce of our mail: linked to its case, the address marked undeliverable, the coordinator told."""
    quoted = (
        *(m.message_id for m in r.mail.forwarded if m.message_id),
        *r.mail.in_reply_to,
        *r.mail.references,
    )
    row = outbox.sent_with_message_id(r.session, quoted)
    case = r.session.get(Case, row.case_id) if row and row.case_id else None
    if case is None:
        return "left alone: bounce (not of a message on any case)"
    records.record_inbound(r.session, case, r.mail, r.inbound, Kind.BOUNCE, r.text, r.app.config.storage_dir)
    r.inbound.case_id = case.id
    address = ", ".join(row.recipients)
    case.flags = sorted({*case.flags, "undeliverable"})
    records.log_event(r.session, case, "mailbot", "bounced", r.now, f"{row.purpose} to {address}", r.inbound)
    details = {"bounced_to": address, "bounced_letter": row.purpose, "bounce_text": r.text[:2000]}
    told = alerts.alert(r.session, r.app, case, "alert_bounce", alerts.coordinator_of(r.app, case), r.now,
                        r.key, details)  # fmt: skip
    told_whom = ", ".join(told) or "nobody"
    return f"bounce of outbox {row.id} linked to {case.ref}; {address} undeliverable; told {told_whom}"


def leave_alone(r: Routing) -> str:
    return f"left alone: {r.kind}"
