"""Writing a new case: its reference, its complainant (the writer of a complaint staff forward), its flags,
its coordinator and the staff it names, with the mail recorded as its first correspondence."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import bindparam, func, select

from mailbot import checked
from mailbot.cases import records, stages
from mailbot.cases.reference import issue_reference
from mailbot.classify.result import OWN_ADDRESS_FLAG
from mailbot.db.models import Case
from mailbot.intake import forwarded
from mailbot.intake.headers import Address
from mailbot.policy import Policy
from mailbot.routing.context import Routing
from mailbot.staff.trust import sender_is_vouched
from mailbot.vocabulary import NO_REPLY_FLAG, RECORDED_STAGE


def open_case(
    r: Routing, policy: Policy, kind: str, complainant: Address | None, stage: str = RECORDED_STAGE
) -> Case:
    """The case written with its first ``stage`` begun (a recorded case has none) in one INSERT."""
    received = r.inbound.received_at
    ref = issue_reference(r.session, r.app.references, received.astimezone(policy.calendar.zone).year)
    flags = (*r.verdict.flags, *(["persistent"] if _persistent(r, complainant) else []))
    new = records.NewCase(
        ref=ref, kind=kind, policy=policy.name, mailbox=r.inbound.mailbox, received_at=received,
        flags=tuple(sorted(set(flags))), complainant=complainant, coordinator=_choose_coordinator(r, kind),
    )  # fmt: skip
    case = records.new_case(new, r.mail)
    case.people_named = _staff_named(r)
    first_stage = None
    if stage != RECORDED_STAGE:
        # The acknowledgement is written now, so a response counted from it runs from now: the date the letter
        # promises is the date the case holds.
        acknowledged = r.now if r.inbound.send_allowed else None
        first_stage = stages.begin_stage(case, policy, stage, received, acknowledged)
    records.write_new_case(r.session, case, first_stage)  # the case's id, for the rows that follow
    records.record_inbound(r.session, case, r.mail, r.inbound, kind, r.text, r.app.config.storage_dir)
    r.inbound.case_id = case.id
    records.log_event(
        r.session, case, r.actor, "opened", r.now, f"{kind} under policy {policy.name}", r.inbound
    )
    if r.lookup.refused:
        records.log_event(r.session, case, "mailbot", "reference refused", r.now, r.lookup.refused, r.inbound)
    return case


def complainant(r: Routing) -> Address | None:
    """The sender; when a member of staff vouched for by our server forwards a complaint, its writer; when a
    web form or relay the configuration names (and our server vouches for) sends it, its Reply-To."""
    if (
        r.staff.person is not None
    ):  # the pipeline's check of the sender: a staff address our server vouches for
        return forwarded.original_sender(r.mail) or r.mail.sender
    return _trusted_reply_to(r) or r.mail.sender


def may_answer(r: Routing) -> bool:
    """Whether the writer may be written to automatically: as the verdict says, except that a trusted web
    form's ``own_address`` and ``no_reply_address`` are the form's, not its writer's (it sends from an address
    of ours, often a no-reply one, for the person its Reply-To names, and our server vouches for it), so
    they do not silence the letter."""
    if r.verdict.may_auto_reply:
        return True
    return r.verdict.may_auto_reply_but_for(FORMS_OWN_FLAGS) and _trusted_reply_to(r) is not None


FORMS_OWN_FLAGS = frozenset({OWN_ADDRESS_FLAG, NO_REPLY_FLAG})  # about a trusted form's From, not its writer


def _trusted_reply_to(r: Routing) -> Address | None:
    """The Reply-To of a sender named in [intake] reply_to_trusted_senders; anyone else's is not followed, so
    nobody can have us write to a third party by naming them in a Reply-To."""
    trusted = {checked.same_mailbox(s) for s in r.app.config.intake.reply_to_trusted_senders}
    staff = r.app.config.staff
    if not trusted or staff is None or checked.same_mailbox(r.sender_address) not in trusted:
        return None
    if not sender_is_vouched(r.mail, staff.trusted_authserv_ids).vouched:
        return None
    return next((a for a in r.mail.reply_to if checked.address(a.email)), None)


def _persistent(r: Routing, complainant: Address | None) -> bool:
    """The same address opening item after item: flagged for the persistent-complaints part of the policy."""
    if complainant is None or not complainant.email:
        return False
    settings = r.app.config.cases
    since = r.inbound.received_at - timedelta(days=settings.persistent_within_days)
    # On the connection, without a flush: cases are written as they are opened, so nothing pending counts.
    asked = {"address": complainant.email, "since": since}
    earlier = r.session.connection().execute(_OPENED_SINCE, asked).scalar()
    return (earlier or 0) + 1 >= settings.persistent_after


# Built once, on the table (a plain statement, not the ORM's): every new case asks it.
_cases = Case.__table__
_OPENED_SINCE = select(func.count(_cases.c.id)).where(
    _cases.c.complainant_address == bindparam("address"), _cases.c.received_at >= bindparam("since")
)


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
