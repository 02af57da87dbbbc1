"""Routing: what each kind of mail leads to — a new case and its acknowledgement, an addition to a case,
an escalation to the next stage, or nothing at all for machines. Returns the outcome stored on the message."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from mailbot import cases, stages
from mailbot.app import App
from mailbot.classify import Classification
from mailbot.db.models import Case, InboundMessage
from mailbot.notices import LetterRequest, send_letter
from mailbot.outbox import Recipient, Threading
from mailbot.parse import ParsedMail
from mailbot.policy import FeedbackKind, Policy
from mailbot.quotes import new_text
from mailbot.reference import issue_reference
from mailbot.stages import RECORDED

NEW_FEEDBACK = ("complaint", "concern", "compliment", "comment")
ON_A_CASE = ("reply", "escalation", "staff_reply")
MACHINES = ("auto_reply", "bounce", "bulk")


@dataclass(frozen=True)
class Routing:
    session: Session
    app: App
    inbound: InboundMessage
    mail: ParsedMail
    verdict: Classification
    lookup: cases.ThreadLookup
    case: Case | None

    @property
    def now(self) -> datetime:
        return self.app.clock()

    @property
    def actor(self) -> str:
        return self.mail.sender.email if self.mail.sender else "unknown sender"

    @property
    def thread(self) -> Threading:
        """Our letters answer this mail."""
        return Threading(self.mail.message_id, self.mail.references)

    @property
    def key(self) -> str:
        return self.mail.message_id or self.inbound.sha256


def route(r: Routing) -> str:
    kind = r.verdict.kind
    if kind in MACHINES:
        return f"left alone: {kind}"
    if kind == "escalation" and r.case is not None:
        return escalate(r, r.case)
    if kind in ON_A_CASE and r.case is not None:
        return add_to_case(r, r.case)
    if kind in NEW_FEEDBACK or kind in ON_A_CASE:
        return open_new_case(r, kind if kind in NEW_FEEDBACK else "complaint")
    return f"left for a person: {kind}"


def add_to_case(r: Routing, case: Case) -> str:
    text = new_text(r.mail)
    cases.record_inbound(r.session, case, r.mail, r.inbound, r.verdict.kind, text, r.app.config.storage_dir)
    r.inbound.case_id = case.id
    by = r.lookup.match.matched_by if r.lookup.match else "reference"
    cases.log_event(
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
    cases.log_event(r.session, case, r.actor, "escalated", r.now, f"to {record.stage}", r.inbound)
    return f"{outcome}; escalated to {record.stage}; {acknowledge(r, case, policy)}"


def open_new_case(r: Routing, kind: str) -> str:
    policy = r.app.policy_for(r.inbound.mailbox)
    case = cases.open_case(r.session, _new_case(r, policy, kind), r.mail)
    stage = opening_stage(policy, kind)
    if stage != RECORDED:
        # The acknowledgement is written now, so a response counted from it runs from now: the date the letter
        # promises is the date the case holds.
        acknowledged = r.now if r.inbound.send_allowed else None
        stages.start_stage(r.session, case, policy, stage, r.inbound.received_at, acknowledged)
    text = new_text(r.mail)
    cases.record_inbound(r.session, case, r.mail, r.inbound, kind, text, r.app.config.storage_dir)
    r.inbound.case_id = case.id
    cases.log_event(
        r.session, case, r.actor, "opened", r.now, f"{kind} under policy {policy.name}", r.inbound
    )
    if r.lookup.refused:
        cases.log_event(r.session, case, "mailbot", "reference refused", r.now, r.lookup.refused, r.inbound)
    return f"opened {case.ref} ({kind}); {acknowledge(r, case, policy)}"


def _new_case(r: Routing, policy: Policy, kind: str) -> cases.NewCase:
    received = r.inbound.received_at
    ref = issue_reference(r.session, r.app.references, received.astimezone(policy.calendar.zone).year)
    return cases.NewCase(
        ref=ref,
        kind=kind,
        policy=policy.name,
        mailbox=r.inbound.mailbox,
        received_at=received,
        flags=r.verdict.flags,
    )


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


def acknowledge(r: Routing, case: Case, policy: Policy) -> str:
    """Queue the acknowledgement (or thank-you) unless this mail must not be answered automatically."""
    if not r.inbound.send_allowed:
        cases.log_event(r.session, case, "mailbot", "not acknowledged", r.now, "imported: nothing is sent")
        return "imported without acknowledgement"
    if not r.verdict.may_auto_reply:
        reason = "the mail must not be answered automatically"
        cases.log_event(r.session, case, "mailbot", "not acknowledged", r.now, reason, r.inbound)
        return f"no acknowledgement ({reason})"
    letter = "acknowledgement" if case.stage != RECORDED else reply_letter(policy, case.kind)
    if letter == "none":
        return "no reply: the policy sends none for this kind"
    return _letter(r, case, letter, automatic=True)


def _letter(r: Routing, case: Case, letter: str, automatic: bool) -> str:
    to = _reply_address(r.mail)
    request = LetterRequest(letter, r.now, key=r.key, to=to, thread=r.thread, automatic=automatic)
    row = send_letter(r.session, r.app, case, request)
    if row is None:
        return f"{letter} already sent"
    if row.state == "suppressed":
        return f"no {letter} ({row.last_error})"
    return f"{letter} queued to {to.address} as outbox {row.id}"


def _reply_address(mail: ParsedMail) -> Recipient:
    chosen = mail.reply_to[0] if mail.reply_to and mail.reply_to[0].email else mail.sender
    return Recipient(chosen.name, chosen.email) if chosen else Recipient("", "")
