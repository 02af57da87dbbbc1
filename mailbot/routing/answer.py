"""The letter that answers the writer of a mail — acknowledgement, thank-you or signpost — queued to the
writer as a party of the case records them, on the right thread, unless the mail must not be answered
automatically.

No address that only the current mail names (its From, its Reply-To) ever receives a letter: a From can be
forged, and a Reply-To can point anywhere.
"""

from __future__ import annotations

from mailbot.cases import parties, records
from mailbot.db.models import Case
from mailbot.intake.parse import ParsedMail
from mailbot.outgoing.notices import LetterRequest, LetterStatus, send_letter
from mailbot.outgoing.outbox import Recipient, Threading
from mailbot.policy import Policy
from mailbot.routing.context import Routing
from mailbot.routing.kinds import reply_letter
from mailbot.routing.opening import may_answer
from mailbot.vocabulary import RECORDED_STAGE


def acknowledge(r: Routing, case: Case, policy: Policy) -> str:
    """Queue the acknowledgement (or thank-you) unless this mail must not be answered automatically."""
    if not r.inbound.send_allowed:
        # Flagged so that the deadline watch does not chase an acknowledgement that was never to be sent.
        case.flags = sorted({*case.flags, "imported"})
        records.log_event(r.session, case, "mailbot", "not acknowledged", r.now, "imported: nothing is sent")
        return "imported without acknowledgement"
    if not may_answer(r):
        reason = "the mail must not be answered automatically"
        records.log_event(r.session, case, "mailbot", "not acknowledged", r.now, reason, r.inbound)
        return f"no acknowledgement ({reason})"
    letter = "acknowledgement" if case.stage != RECORDED_STAGE else reply_letter(policy, case.kind)
    if letter == "none":
        return "no reply: the policy sends none for this kind"
    return answer(r, case, letter, automatic=True)


def answer(
    r: Routing,
    case: Case,
    letter: str,
    automatic: bool,
    details: dict[str, object] | None = None,
) -> str:
    """Queue the letter to the writer as the case records them (never to an address the mail alone names);
    the outcome says whether it was queued, blocked or sent before."""
    to = writer_as_recorded(r, case)
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


def writer_as_recorded(r: Routing, case: Case) -> Recipient:
    """The party who wrote, at the address the case records; the complainant when the writer is not a party
    themselves (a member of staff forwarding a complaint, a web form whose Reply-To named the writer)."""
    party = parties.party_for(r.session, case, r.sender_address) or parties.complainant(case)
    return Recipient(party.name, party.address)


def _mail_addresses(mail: ParsedMail) -> set[str]:
    return {a.email for a in (*mail.reply_to, *([mail.sender] if mail.sender else []))}


def _original_thread(mail: ParsedMail) -> Threading:
    """A letter to the writer of a forwarded mail answers their original message, not the forward."""
    enclosed = next((m for m in mail.forwarded if m.message_id), None)
    return Threading(enclosed.message_id, enclosed.references) if enclosed else Threading()
