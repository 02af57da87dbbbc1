"""The letter that answers the writer of a mail — acknowledgement, thank-you or signpost — queued to the right
address on the right thread, unless the mail must not be answered automatically."""

from __future__ import annotations

from mailbot.cases import records
from mailbot.db.models import Case
from mailbot.intake.headers import Address
from mailbot.intake.parse import ParsedMail
from mailbot.outgoing.notices import LetterRequest, LetterStatus, send_letter
from mailbot.outgoing.outbox import Recipient, Threading
from mailbot.policy import Policy
from mailbot.routing.context import Routing
from mailbot.routing.kinds import reply_letter
from mailbot.vocabulary import RECORDED_STAGE


def acknowledge(r: Routing, case: Case, policy: Policy, to: Recipient | None = None) -> str:
    """Queue the acknowledgement (or thank-you) unless this mail must not be answered automatically."""
    if not r.inbound.send_allowed:
        # Flagged so that the deadline watch does not chase an acknowledgement that was never to be sent.
        case.flags = sorted({*case.flags, "imported"})
        records.log_event(r.session, case, "mailbot", "not acknowledged", r.now, "imported: nothing is sent")
        return "imported without acknowledgement"
    if not r.verdict.may_auto_reply:
        reason = "the mail must not be answered automatically"
        records.log_event(r.session, case, "mailbot", "not acknowledged", r.now, reason, r.inbound)
        return f"no acknowledgement ({reason})"
    letter = "acknowledgement" if case.stage != RECORDED_STAGE else reply_letter(policy, case.kind)
    if letter == "none":
        return "no reply: the policy sends none for this kind"
    return answer(r, case, letter, automatic=True, to=to)


def answer(
    r: Routing,
    case: Case,
    letter: str,
    automatic: bool,
    to: Recipient | None = None,
    details: dict[str, object] | None = None,
) -> str:
    """Queue the letter to the writer; the outcome says whether it was queued, blocked or sent before."""
    to = to or reply_address(r)
    thread = r.thread if to.address in _mail_addresses(r.mail) else _original_thread(r.mail)
    request = LetterRequest(
        letter, r.now, key=r.key, to=to, thread=thread, automatic=automatic, details=dict(details or {})
    )
    result = send_letter(r.session, r.app, case, request)
    if result.status is LetterStatus.ALREADY_QUEUED:
        return f"{letter} already sent"
    if result.status is LetterStatus.BLOCKED:
        return f"no {letter} ({result.reason})"
    return f"{letter} queued to {to.address} as outbox {result.outbox_id}"


def reply_address(
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
