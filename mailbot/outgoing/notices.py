"""Letters about a case: rendered from the organisation's templates, queued in the outbox and recorded on the
case in the caller's transaction. The same letter for the same cause is queued once only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot import checked
from mailbot.app import App
from mailbot.cases import parties, records, stages
from mailbot.db.installation import message_id_key
from mailbot.db.models import Case, Correspondence, Outbox
from mailbot.outgoing.letters import COMPLAINANT_LETTERS
from mailbot.outgoing.outbox import (
    Recipient,
    Threading,
    automatic_block_reason,
    compose,
    outgoing_message_id,
    queue,
    queued_here,
    refusal_reason,
)
from mailbot.policy import Policy
from mailbot.vocabulary import RECORDED_STAGE

WELSH_FLAG = "lang:cy"  # set by the classification rules (rules/classify.toml)

# Which of the stage's "must tell" lists applies to each letter.
MUST_TELL = {
    "acknowledgement": lambda stage: stage.acknowledge.must_tell if stage.acknowledge else (),
    "outcome": lambda stage: stage.respond.must_tell,
    "extension": lambda stage: stage.respond.extension.must_tell if stage.respond.extension else (),
}


@dataclass(frozen=True)
class LetterRequest:
    letter: str
    at: datetime
    key: str = ""  # what makes this letter distinct from another of its kind on the same case and stage
    to: Recipient | None = None
    thread: Threading | None = None
    automatic: bool = True  # an automatic reply: capped per address per day
    auto_submitted: str | None = "auto-replied"  # "auto-generated" for alerts; None for letters staff wrote
    details: dict[str, Any] = field(default_factory=dict)
    actor: str = "mailbot"


class LetterStatus(StrEnum):
    QUEUED = "queued"  # in the outbox, waiting for delivery
    ALREADY_QUEUED = "already queued"  # this very letter was queued before: nothing new was written
    BLOCKED = "blocked"  # kept in the outbox as suppressed, with the reason; never sent


@dataclass(frozen=True)
class LetterResult:
    """What became of a letter: every caller reads this one answer rather than the outbox row's state."""

    status: LetterStatus
    row: Outbox | None = None  # the outbox row this call wrote (queued or suppressed); None if already queued
    reason: str | None = None  # why a blocked letter may not go

    @property
    def queued(self) -> bool:
        return self.status is LetterStatus.QUEUED

    @property
    def outbox_id(self) -> int | None:
        return self.row.id if self.row else None

    @property
    def recipients(self) -> list[str]:
        return list(self.row.recipients) if self.row else []


def send_letter(session: Session, app: App, case: Case, request: LetterRequest) -> LetterResult:
    """Queue the letter, unless this very letter was queued before or its address may not receive it."""
    domain = app.config.organisation.domain
    cause = f"{case.stage}\0{request.key}"
    message_id = outgoing_message_id(message_id_key(session), request.letter, case.ref, cause, domain)
    if _queued_before(session, case, message_id):
        return LetterResult(LetterStatus.ALREADY_QUEUED)
    policy = app.policies[case.policy]
    to = request.to or Recipient(case.complainant_name, case.complainant_address)
    thread = within_case(session, case, request.thread or reply_thread(session, case))
    context = letter_context(app, case, policy, request)
    language = letter_language(case, request.letter)
    letter = app.letters.render(
        request.letter, context, policy=policy.name, stage=case.stage, language=language
    )
    message = compose(app.config, to, letter, message_id, thread, request.at, request.auto_submitted)
    blocked = _block_reason(session, app, to.address, request) or _not_for(session, app, case, to.address)
    row = queue(
        session,
        app.config,
        purpose=request.letter,
        mailbox=case.mailbox,
        message=message,
        recipients=[to.address],
        now=request.at,
        case_id=case.id,
        automatic=request.automatic,
        blocked=blocked,
    )
    _record(session, case, row, letter.subject, letter.text, request, thread, blocked)
    if blocked:
        return LetterResult(LetterStatus.BLOCKED, row, blocked)
    return LetterResult(LetterStatus.QUEUED, row)


def _queued_before(session: Session, case: Case, message_id: str) -> bool:
    """This very letter is in the outbox already. A case opened in this transaction has no letter but those
    queued in it, so the database is not asked."""
    if records.opened_here(session, case):
        return message_id in queued_here(session)
    return session.scalar(select(Outbox.id).where(Outbox.message_id == message_id)) is not None


def letter_language(case: Case, letter: str) -> str:
    """Welsh correspondence is answered in Welsh (Welsh Language Standards): Welsh first, then English, so a
    writer wrongly taken for Welsh still reads their letter. A relay carries staff's words once, in Welsh
    framing; letters to staff stay in English."""
    if WELSH_FLAG not in case.flags or letter not in COMPLAINANT_LETTERS:
        return "en"
    return "cy" if letter == "relay" else "cy+en"


def _block_reason(session: Session, app: App, address: str, request: LetterRequest) -> str | None:
    if request.automatic:
        return automatic_block_reason(session, app.config, address, request.at)
    return refusal_reason(app.config, address)


def _not_for(session: Session, app: App, case: Case, address: str) -> str | None:
    """A letter about a case goes to a party of it (the complainant, or someone a coordinator added) or to
    staff (alerts, notices, forwarded matters); to nobody else, whatever a mail or a caller asked."""
    staff = app.config.staff
    if parties.is_party(session, case, address) or (staff is not None and staff.is_staff_address(address)):
        return None
    if address.strip().lower() in {case.coordinator, *app.config.forwarding.values()}:
        return None
    return f"{address} is not a party to {case.ref}"


def _record(
    session: Session,
    case: Case,
    row: Outbox,
    subject: str,
    text: str,
    request: LetterRequest,
    thread: Threading,
    blocked: str | None,
) -> None:
    if blocked:
        records.log_event(session, case, request.actor, f"{request.letter} not sent", request.at, blocked)
        return
    records.record_outbound(session, case, row, subject, text, request.letter, thread.in_reply_to)
    to = ", ".join(row.recipients)
    records.log_event(session, case, request.actor, f"{request.letter} queued", request.at, f"to {to}")


def within_case(session: Session, case: Case, thread: Threading) -> Threading:
    """References name only mails of this case: ids a writer put there (copied from another case, or guessed)
    are never echoed back to anyone. In-Reply-To stays: it is the mail we answer."""
    if not thread.references:
        return thread
    on_case = session.scalars(
        select(Correspondence.message_id).where(
            Correspondence.case_id == case.id, Correspondence.message_id.in_(thread.references)
        )
    )
    known = set(on_case)
    return Threading(thread.in_reply_to, tuple(m for m in thread.references if m in known))


def reply_thread(session: Session, case: Case) -> Threading:
    """Thread a letter to the complainant's latest mail on the case."""
    last = records.last_inbound(session, case)
    if last is None:
        return Threading()
    return Threading(last.message_id, tuple(last.references))


def letter_context(app: App, case: Case, policy: Policy, request: LetterRequest) -> dict[str, Any]:
    stage = policy.stage(case.stage) if case.stage != RECORDED_STAGE else None
    tell = MUST_TELL.get(request.letter, lambda _s: ())(stage) if stage else ()
    following = stages.next_stage(case, policy) if stage else None
    return {
        "organisation": app.config.organisation,
        "case": case,
        # A greeting carries a name and nothing else, whatever was stored before names were checked.
        "complainant": {
            "name": checked.display_name(case.complainant_name),
            "address": case.complainant_address,
        },
        "policy": policy,
        "stage": stage,
        "record": stages.current(case),
        "handler": policy.role_label(stage.handler) if stage else None,
        "next_stage": following,
        "signposts": policy.after_final_stage,
        "tell": set(tell),
        "investigator": None,
        **request.details,
    }
