"""Matters a policy keeps outside its complaints procedure (a staff matter, a business dispute): recorded and
forwarded to whoever handles them; the sender gets no complaint acknowledgement."""

from __future__ import annotations

from mailbot.outgoing import alerts
from mailbot.outgoing.outbox import Recipient
from mailbot.routing.context import Routing
from mailbot.routing.opening import complainant, open_case
from mailbot.vocabulary import FORWARDED_MATTERS, CaseStatus, ForwardedMatter, Kind


def outside_procedure(r: Routing) -> ForwardedMatter | None:
    """The first matter flagged on the mail that the policy does not take into its complaints procedure."""
    policy = r.app.policy_for(r.inbound.mailbox)
    for matter in FORWARDED_MATTERS:
        note = next((n for n in policy.routing if n.matter == matter), None)
        if matter in r.verdict.flags and (note is None or not note.in_scope):
            return matter
    return None


def record_outside_procedure(r: Routing) -> str:
    matter = outside_procedure(r)
    if matter is None:  # the table sends only mail with such a matter here
        raise LookupError(f"message {r.key} names no matter outside the complaints procedure")
    case = open_case(r, r.app.policy_for(r.inbound.mailbox), Kind.OUT_OF_SCOPE, complainant(r))
    case.status = CaseStatus.OUT_OF_SCOPE
    forward_to = r.app.config.forwarding.get(matter)
    people = [Recipient("", forward_to)] if forward_to else alerts.people_for(r.app, "lead")
    details = {"matter": matter.replace("_", " "), "original_text": r.text, "sender": r.actor,
               "attachments": r.attachments}  # fmt: skip
    sent = alerts.alert(r.session, r.app, case, "forward_matter", people, r.now, r.key, details)
    to = ", ".join(sent) or "nobody"
    return f"recorded {case.ref} as {matter} outside the complaints procedure; forwarded to {to}"
