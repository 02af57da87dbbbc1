"""Routing: what each kind of mail leads to — a new case and its acknowledgement, an addition to a case,
an escalation to the next stage, or nothing at all for machines. Returns the outcome stored on the message."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailbot.app import App
from mailbot.cases import records, stages
from mailbot.cases.reference import issue_reference
from mailbot.cases.stages import RECORDED
from mailbot.classify import Classification
from mailbot.db.models import Case, InboundMessage
from mailbot.intake import forwarded
from mailbot.intake.parse import Address, ParsedMail
from mailbot.intake.quotes import new_text
from mailbot.outgoing import alerts, outbox
from mailbot.outgoing.notices import LetterRequest, send_letter
from mailbot.outgoing.outbox import Recipient, Threading
from mailbot.policy import FeedbackKind, Policy
from mailbot.staff import commands, staffmail, trust

NEW_FEEDBACK = ("complaint", "concern", "compliment", "comment")
FORWARDED_MATTERS = ("staff_matter", "business_dispute")
USAGE_LINES = tuple(commands.USAGE.values())
ALERTS = (  # flag, alert letter, the staff role it goes to unless the policy names another
    ("safeguarding", "alert_safeguarding", "safeguarding_lead"),
    ("elected_member", "alert_elected_member", "chief_executive"),
)
ON_A_CASE = ("reply", "escalation", "staff_reply")
MACHINES = ("auto_reply", "bounce", "bulk")


@dataclass(frozen=True)
class Routing:
    session: Session
    app: App
    inbound: InboundMessage
    mail: ParsedMail
    verdict: Classification
    lookup: records.ThreadLookup
    case: Case | None
    staff: staffmail.StaffCheck

    @property
    def now(self) -> datetime:
        return self.app.clock()

    @property
    def actor(self) -> str:
        return self.mail.sender.email if self.mail.sender else "unknown sender"

    @cached_property
    def text(self) -> str:
        """The mail's new text without quoted history: worked out once, used by every step."""
        return new_text(self.mail)

    @property
    def thread(self) -> Threading:
        """Our letters answer this mail."""
        return Threading(self.mail.message_id, self.mail.references)

    @property
    def key(self) -> str:
        return self.mail.message_id or self.inbound.sha256


def route(r: Routing) -> str:
    kind = r.verdict.kind
    if kind == "bounce":
        return link_bounce(r)
    if kind in MACHINES:
        return f"left alone: {kind}"
    if r.staff.person is not None and r.case is not None:
        return staffmail.handle(
            staffmail.Received(r.session, r.app, r.inbound, r.mail, r.staff.person, r.case)
        )
    if r.staff.person is not None and staffmail.has_commands(r.mail):
        return staffmail.no_case_for_commands(r.session, r.app, r.inbound, r.mail, r.staff.person)
    if r.staff.claimed and r.case is not None:
        staffmail.warn_unvouched(r.session, r.app, r.case, r.mail, r.staff, r.key)
    if kind == "escalation" and r.case is not None:
        return escalate(r, r.case)
    if kind in ON_A_CASE and r.case is not None:
        return add_to_case(r, r.case)
    if kind in NEW_FEEDBACK or kind in ON_A_CASE:
        matter = outside_procedure(r)
        if matter:
            return record_outside_procedure(r, matter)
        return open_new_case(r, kind if kind in NEW_FEEDBACK else "complaint")
    return f"left for a person: {kind}"


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
    records.record_inbound(r.session, case, r.mail, r.inbound, "bounce", r.text, r.app.config.storage_dir)
    r.inbound.case_id = case.id
    address = ", ".join(row.recipients)
    case.flags = sorted({*case.flags, "undeliverable"})
    records.log_event(r.session, case, "mailbot", "bounced", r.now, f"{row.purpose} to {address}", r.inbound)
    details = {"bounced_to": address, "bounced_letter": row.purpose, "bounce_text": r.text[:2000]}
    told = alerts.alert(r.session, r.app, case, "alert_bounce", alerts.coordinator_of(r.app, case), r.now,
                        r.key, details)  # fmt: skip
    told_whom = ", ".join(told) or "nobody"
    return f"bounce of outbox {row.id} linked to {case.ref}; {address} undeliverable; told {told_whom}"


def outside_procedure(r: Routing) -> str | None:
    """A staff matter or business dispute the policy keeps out of its complaints procedure."""
    policy = r.app.policy_for(r.inbound.mailbox)
    for matter in FORWARDED_MATTERS:
        note = next((n for n in policy.routing if n.matter == matter), None)
        if matter in r.verdict.flags and (note is None or not note.in_scope):
            return matter
    return None


def record_outside_procedure(r: Routing, matter: str) -> str:
    """Recorded and forwarded to whoever handles it; the sender gets no complaint acknowledgement."""
    case = _open(r, r.app.policy_for(r.inbound.mailbox), "out_of_scope", _complainant(r))
    case.status = "out_of_scope"
    forward_to = r.app.config.forwarding.get(matter)
    people = [Recipient("", forward_to)] if forward_to else alerts.people_for(r.app, "lead")
    details = {"matter": matter.replace("_", " "), "original_text": r.text, "sender": r.actor}
    sent = alerts.alert(r.session, r.app, case, "forward_matter", people, r.now, r.key, details)
    to = ", ".join(sent) or "nobody"
    return f"recorded {case.ref} as {matter} outside the complaints procedure; forwarded to {to}"


def add_to_case(r: Routing, case: Case) -> str:
    text = r.text
    records.record_inbound(r.session, case, r.mail, r.inbound, r.verdict.kind, text, r.app.config.storage_dir)
    r.inbound.case_id = case.id
    by = r.lookup.match.matched_by if r.lookup.match else "reference"
    records.log_event(
        r.session, case, r.actor, f"{r.verdict.kind} received", r.now, f"threaded by {by}", r.inbound
    )
    return f"added to {case.ref} as {r.verdict.kind} (threaded by {by})"


def escalate(r: Routing, case: Case) -> str:
    """The complainant asks for the next stage: no reasons needed; that stage begins and is acknowledged."""
    outcome = add_to_case(r, case)
    policy = r.app.policies[case.policy]
    # As for a new case, the stage's acknowledgement is written now: its dates count from now.
    record = stages.escalate(r.session, case, policy, r.inbound.received_at, acknowledged=r.now)
    if record is None:
        sent = _letter(r, case, "signpost", automatic=True)
        return f"{outcome}; already at the last stage, signposted ({sent})"
    records.log_event(r.session, case, r.actor, "escalated", r.now, f"to {record.stage}", r.inbound)
    return f"{outcome}; escalated to {record.stage}; {acknowledge(r, case, policy)}"


def open_new_case(r: Routing, kind: str) -> str:
    policy = r.app.policy_for(r.inbound.mailbox)
    complainant, forwarded_by = _complainant(r), None
    if complainant != r.mail.sender:
        forwarded_by = r.actor
    case = _open(r, policy, kind, complainant)
    stage = opening_stage(policy, kind)
    if stage != RECORDED:
        # The acknowledgement is written now, so a response counted from it runs from now: the date the letter
        # promises is the date the case holds.
        acknowledged = r.now if r.inbound.send_allowed else None
        stages.start_stage(r.session, case, policy, stage, r.inbound.received_at, acknowledged)
    if forwarded_by:
        records.log_event(
            r.session, case, forwarded_by, "forwarded by staff", r.now, f"for {complainant.email}"
        )
    alerted = raise_alerts(r, case, policy)
    sent = acknowledge(r, case, policy, _reply_address(r, complainant, forwarded_by))
    told = notify_coordinator(r, case, r.text, new_case=True) if r.inbound.send_allowed else ""
    return f"opened {case.ref} ({kind}); {sent}" + (f"; {alerted}" if alerted else "") + told


def notify_coordinator(r: Routing, case: Case, text: str, new_case: bool) -> str:
    """The coordinator sees every new case and every new message on it, and can answer from their own mail."""
    if not case.coordinator:
        return ""
    details = {
        "original_text": text, "sender": r.actor, "commands": USAGE_LINES, "new_case": new_case,
        "note": r.lookup.refused if new_case else None,  # a reference it quoted that is not theirs
    }  # fmt: skip
    people = alerts.coordinator_of(r.app, case)
    sent = alerts.alert(r.session, r.app, case, "notify_coordinator", people, r.now, r.key, details)
    return f"; coordinator {', '.join(sent)} told" if sent else ""


def _open(r: Routing, policy: Policy, kind: str, complainant: Address | None) -> Case:
    received = r.inbound.received_at
    ref = issue_reference(r.session, r.app.references, received.astimezone(policy.calendar.zone).year)
    flags = (*r.verdict.flags, *(["persistent"] if _persistent(r, complainant) else []))
    new = records.NewCase(
        ref=ref, kind=kind, policy=policy.name, mailbox=r.inbound.mailbox, received_at=received,
        flags=tuple(sorted(set(flags))), complainant=complainant, coordinator=_choose_coordinator(r, kind),
    )  # fmt: skip
    case = records.open_case(r.session, new, r.mail)
    case.people_named = _staff_named(r)
    records.record_inbound(r.session, case, r.mail, r.inbound, kind, r.text, r.app.config.storage_dir)
    r.inbound.case_id = case.id
    records.log_event(
        r.session, case, r.actor, "opened", r.now, f"{kind} under policy {policy.name}", r.inbound
    )
    if r.lookup.refused:
        records.log_event(r.session, case, "mailbot", "reference refused", r.now, r.lookup.refused, r.inbound)
    return case


def _persistent(r: Routing, complainant: Address | None) -> bool:
    """The same address opening item after item: flagged for the persistent-complaints part of the policy."""
    if complainant is None or not complainant.email:
        return False
    settings = r.app.config.cases
    since = r.inbound.received_at - timedelta(days=settings.persistent_within_days)
    earlier = r.session.scalar(
        select(func.count(Case.id)).where(
            Case.complainant_address == complainant.email, Case.received_at >= since
        )
    )
    return (earlier or 0) + 1 >= settings.persistent_after


def _staff_named(r: Routing) -> list[str]:
    """Staff the complaint names by full name: none of them may investigate it (impartiality)."""
    staff, text = r.app.config.staff, f"{r.mail.subject}\n{r.text}".lower()
    return [p.name for p in staff.people if p.name.lower() in text] if staff else []


def _choose_coordinator(r: Routing, kind: str) -> str | None:
    staff = r.app.config.staff
    if staff is None:
        return None
    taken = r.session.scalar(select(func.count(Case.id)).where(Case.coordinator.is_not(None))) or 0
    person = staff.choose_coordinator(kind, None, taken)
    return person.primary if person else None


def _complainant(r: Routing) -> Address | None:
    """The sender; or, when a member of staff vouched for by our server forwards a complaint, its writer."""
    staff = r.app.config.staff
    if staff is None or r.mail.sender is None or not staff.is_staff_address(r.mail.sender.email):
        return r.mail.sender
    person, _verdict = trust.is_trusted_staff(r.mail, staff)
    original = forwarded.original_sender(r.mail) if person else None
    return original or r.mail.sender


def raise_alerts(r: Routing, case: Case, policy: Policy) -> str:
    """Safeguarding to the safeguarding lead, elected members to whoever the policy names; at once."""
    told = []
    for flag, letter, role in ALERTS:
        if flag in r.verdict.flags:
            note = next((n for n in policy.routing if n.matter == flag), None)
            people = alerts.people_for(r.app, (note.to if note and note.to else None) or role)
            details = {"original_text": r.text, "sender": r.actor}
            sent = alerts.alert(r.session, r.app, case, letter, people, r.now, r.key, details)
            told.append(f"{flag} alert to {', '.join(sent) or 'nobody'}")
    return "; ".join(told)


def _feedback_kind(policy: Policy, kind: str) -> FeedbackKind | None:
    try:
        return policy.kind(kind)
    except KeyError:
        return None  # a kind the policy does not name is handled as a complaint: the protective choice


def opening_stage(policy: Policy, kind: str) -> str:
    """The stage a new item starts at, or ``recorded`` for kinds the policy only records (compliments)."""
    rules = _feedback_kind(policy, kind)
    if rules is not None and rules.handling == "record":
        return RECORDED
    return (rules.starts_at if rules else None) or policy.stages[0].name


def reply_letter(policy: Policy, kind: str) -> str:
    rules = _feedback_kind(policy, kind)
    return rules.reply if rules else "acknowledgement"


def acknowledge(r: Routing, case: Case, policy: Policy, to: Recipient | None = None) -> str:
    """Queue the acknowledgement (or thank-you) unless this mail must not be answered automatically."""
    if not r.inbound.send_allowed:
        case.flags = sorted(
            {*case.flags, "imported"}
        )  # the deadline watch does not chase its acknowledgement
        records.log_event(r.session, case, "mailbot", "not acknowledged", r.now, "imported: nothing is sent")
        return "imported without acknowledgement"
    if not r.verdict.may_auto_reply:
        reason = "the mail must not be answered automatically"
        records.log_event(r.session, case, "mailbot", "not acknowledged", r.now, reason, r.inbound)
        return f"no acknowledgement ({reason})"
    letter = "acknowledgement" if case.stage != RECORDED else reply_letter(policy, case.kind)
    if letter == "none":
        return "no reply: the policy sends none for this kind"
    return _letter(r, case, letter, automatic=True, to=to)


def _letter(r: Routing, case: Case, letter: str, automatic: bool, to: Recipient | None = None) -> str:
    to = to or _reply_address(r)
    thread = r.thread if to.address in _mail_addresses(r.mail) else _original_thread(r.mail)
    request = LetterRequest(letter, r.now, key=r.key, to=to, thread=thread, automatic=automatic)
    row = send_letter(r.session, r.app, case, request)
    if row is None:
        return f"{letter} already sent"
    if row.state == "suppressed":
        return f"no {letter} ({row.last_error})"
    return f"{letter} queued to {to.address} as outbox {row.id}"


def _reply_address(
    r: Routing, complainant: Address | None = None, forwarded_by: str | None = None
) -> Recipient:
    """Reply-To or From; for a forwarded complaint, its original writer."""
    mail = r.mail
    chosen = mail.reply_to[0] if mail.reply_to and mail.reply_to[0].email else mail.sender
    if forwarded_by and complainant:
        chosen = complainant
    return Recipient(chosen.name, chosen.email) if chosen else Recipient("", "")


def _mail_addresses(mail: ParsedMail) -> set[str]:
    return {a.email for a in (*mail.reply_to, *([mail.sender] if mail.sender else []))}


def _original_thread(mail: ParsedMail) -> Threading:
    """A letter to the writer of a forwarded mail answers their original message, not the forward."""
    enclosed = next((m for m in mail.forwarded if m.message_id), None)
    return Threading(enclosed.message_id, enclosed.references) if enclosed else Threading()
