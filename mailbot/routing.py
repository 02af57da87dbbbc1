"""Routing: what each kind of mail leads to — a new case and its acknowledgement, an addition to a case, or
nothing at all for machines. Returns the outcome line stored on the message."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from mailbot import cases
from mailbot.app import App
from mailbot.classify import Classification
from mailbot.db.models import Case, InboundMessage
from mailbot.outbox import Recipient, Threading, automatic_block_reason, compose, outgoing_message_id, queue
from mailbot.parse import ParsedMail
from mailbot.policy import FeedbackKind, Policy
from mailbot.quotes import new_text
from mailbot.reference import issue_reference

NEW_FEEDBACK = ("complaint", "concern", "compliment", "comment")
ON_A_CASE = ("reply", "escalation", "staff_reply")
MACHINES = ("auto_reply", "bounce", "bulk")
RECORDED = "recorded"  # the stage of an item the policy records without a complaints procedure


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


def route(r: Routing) -> str:
    kind = r.verdict.kind
    if kind in MACHINES:
        return f"left alone: {kind}"
    if kind in ON_A_CASE and r.case is not None:
        return add_to_case(r)
    if kind in NEW_FEEDBACK or kind in ON_A_CASE:
        return open_new_case(r, kind if kind in NEW_FEEDBACK else "complaint")
    return f"left for a person: {kind}"


def add_to_case(r: Routing) -> str:
    assert r.case is not None
    cases.record_inbound(
        r.session, r.case, r.mail, r.inbound, r.verdict.kind, new_text(r.mail), r.app.config.storage_dir
    )
    r.inbound.case_id = r.case.id
    by = r.lookup.match.matched_by if r.lookup.match else "reference"
    cases.log_event(
        r.session, r.case, r.actor, f"{r.verdict.kind} received", r.now, f"threaded by {by}", r.inbound
    )
    return f"added to {r.case.ref} as {r.verdict.kind} (threaded by {by})"


def open_new_case(r: Routing, kind: str) -> str:
    policy = r.app.policy_for(r.inbound.mailbox)
    case = cases.open_case(r.session, _new_case(r, policy, kind), r.mail)
    cases.record_inbound(r.session, case, r.mail, r.inbound, kind, new_text(r.mail), r.app.config.storage_dir)
    r.inbound.case_id = case.id
    cases.log_event(
        r.session, case, r.actor, "opened", r.now, f"{kind} under policy {policy.name}", r.inbound
    )
    if r.lookup.refused:
        cases.log_event(r.session, case, "mailbot", "reference refused", r.now, r.lookup.refused, r.inbound)
    sent = acknowledge(r, case, policy)
    return f"opened {case.ref} ({kind}); {sent}"


def _new_case(r: Routing, policy: Policy, kind: str) -> cases.NewCase:
    received = r.inbound.received_at
    ref = issue_reference(r.session, r.app.references, received.astimezone(policy.calendar.zone).year)
    stage = opening_stage(policy, kind)
    # The acknowledgement is written now, so a response counted from it is counted from now: the date the
    # letter promises is the date the case holds.
    acknowledged = r.now if r.inbound.send_allowed else None
    timeline = policy.timeline(stage, received, acknowledged=acknowledged) if stage != RECORDED else None
    return cases.NewCase(
        ref=ref,
        kind=kind,
        policy=policy.name,
        stage=stage,
        mailbox=r.inbound.mailbox,
        received_at=received,
        acknowledge_due=timeline.acknowledge_due if timeline else None,
        response_due=timeline.respond_due if timeline else None,
        flags=r.verdict.flags,
        status="open" if timeline else RECORDED,
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
        cases.log_event(
            r.session, case, "mailbot", "not acknowledged", r.now, "imported: nothing is sent", r.inbound
        )
        return "imported without acknowledgement"
    to = _reply_address(r.mail)
    reason = "the mail must not be answered automatically" if not r.verdict.may_auto_reply else None
    reason = reason or automatic_block_reason(r.session, r.app.config, to.address, r.now)
    letter_name = reply_letter(policy, case.kind)
    if letter_name == "none":
        return "no reply: the policy sends none for this kind"
    row = _queue_letter(r, case, policy, letter_name, to, reason)
    if reason:
        cases.log_event(r.session, case, "mailbot", "not acknowledged", r.now, reason, r.inbound)
        return f"no acknowledgement ({reason})"
    cases.log_event(r.session, case, "mailbot", f"{letter_name} queued", r.now, f"to {to.address}", r.inbound)
    return f"{letter_name} queued to {to.address} as outbox {row.id}"


def _reply_address(mail: ParsedMail) -> Recipient:
    chosen = mail.reply_to[0] if mail.reply_to and mail.reply_to[0].email else mail.sender
    return Recipient(chosen.name, chosen.email) if chosen else Recipient("", "")


def _queue_letter(
    r: Routing, case: Case, policy: Policy, letter_name: str, to: Recipient, blocked: str | None
):
    stage = policy.stage(case.stage) if case.stage != RECORDED else None
    context = letter_context(r.app, case, stage, r.mail.subject)
    letter = r.app.letters.render(letter_name, context, policy=policy.name, stage=case.stage)
    key = f"{case.stage}\0{r.mail.message_id or r.inbound.sha256}"
    message_id = outgoing_message_id(letter_name, case.ref, key, r.app.config.organisation.domain)
    thread = Threading(r.mail.message_id, r.mail.references)
    message = compose(r.app.config, to, letter, message_id, thread, r.now)
    row = queue(
        r.session,
        r.app.config,
        purpose=letter_name,
        mailbox=case.mailbox,
        message=message,
        recipients=[to.address],
        now=r.now,
        case_id=case.id,
        blocked=blocked,
    )
    if not blocked:
        cases.record_outbound(
            r.session, case, row, letter.subject, letter.text, letter_name, r.mail.message_id
        )
    return row


def letter_context(app: App, case: Case, stage: object, original_subject: str) -> dict[str, object]:
    return {
        "organisation": app.config.organisation,
        "case": case,
        "complainant": {"name": case.complainant_name, "address": case.complainant_address},
        "stage": stage,
        "original_subject": original_subject,
    }
