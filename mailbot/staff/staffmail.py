"""Staff working from their own mail client: a reply to a notification is relayed to the complainant from the
shared address; a direct reply with the shared mailbox in Cc is recorded, not sent again; ``#`` lines run
commands. Only mail our receiving server vouches for counts as staff mail (see ``trust.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from mailbot.app import App
from mailbot.cases import records
from mailbot.config.staff import Person
from mailbot.db.installation import message_id_key
from mailbot.db.models import Case, Correspondence, InboundMessage
from mailbot.intake.parse import ParsedMail
from mailbot.intake.quotes import TEXT_LIMIT, new_text
from mailbot.outgoing import alerts
from mailbot.outgoing.notices import LetterRequest, LetterStatus, reply_thread, send_letter
from mailbot.outgoing.outbox import Recipient, Threading, compose, outgoing_message_id, queue
from mailbot.staff import commands, reply_text
from mailbot.staff.trust import Verdict, is_trusted_staff
from mailbot.vocabulary import Kind


@dataclass(frozen=True)
class StaffCheck:
    """Whether the From is in the staff directory, and whether our server vouches for it."""

    person: Person | None  # set only when both hold
    claimed: bool  # the From is a staff address
    verdict: Verdict | None


def check_sender(app: App, mail: ParsedMail) -> StaffCheck:
    staff = app.config.staff
    address = mail.sender.email if mail.sender else ""
    if staff is None or not staff.is_staff_address(address):
        return StaffCheck(None, False, None)
    person, verdict = is_trusted_staff(mail, staff)
    return StaffCheck(person, True, verdict)


@dataclass(frozen=True)
class Received:
    session: Session
    app: App
    inbound: InboundMessage
    mail: ParsedMail
    person: Person
    case: Case

    @property
    def now(self) -> datetime:
        return self.app.clock()


def handle(x: Received) -> str:
    x.inbound.kind = Kind.STAFF_REPLY
    x.inbound.case_id = x.case.id
    if x.case.complainant_address in {a.email for a in (*x.mail.to, *x.mail.cc)}:
        return _record_copy(x)
    text = new_text(x.mail)
    names_a_case = x.case.ref.lower() in x.mail.subject.lower()
    words = reply_text.own_words(x.mail.text[:TEXT_LIMIT], text, _ours(x), names_a_case)
    _record(x, text if words.held else words.text)
    if words.held:
        return _hold(x, words.held)
    found, unknown, body = commands.split_commands(words.text)
    if found or unknown:
        return _run_commands(x, found, unknown, body)
    return relay(x, body)


def _ours(x: Received) -> reply_text.Ours:
    org = x.app.config.organisation
    return reply_text.ours_on(x.session, x.case, org.from_address, org.from_name)


def _hold(x: Received, reason: str) -> str:
    """Not sure the complainant would receive only the coordinator's words: nothing is sent or run, and the
    coordinator is told why and what to do."""
    records.log_event(x.session, x.case, x.person.primary, "relay held", x.now, reason, x.inbound)
    _answer(x, "relay_held", {"reason": reason})
    return f"reply from {x.person.name} on {x.case.ref} held, nothing sent or run ({reason}); they were told"


def _record(x: Received, text: str) -> None:
    records.record_inbound(
        x.session, x.case, x.mail, x.inbound, Kind.STAFF_REPLY, text, x.app.config.storage_dir
    )


def _record_copy(x: Received) -> str:
    """The coordinator wrote to the complainant directly: the case records it; nothing is sent again."""
    entry = Correspondence(
        case_id=x.case.id, direction="out", kind=Kind.STAFF_REPLY, from_address=x.person.primary,
        to_addresses=[a.email for a in (*x.mail.to, *x.mail.cc)], subject=x.mail.subject,
        date=x.mail.date or x.inbound.received_at, new_text=new_text(x.mail), message_id=x.mail.message_id,
        in_reply_to=x.mail.in_reply_to[0] if x.mail.in_reply_to else None, references=list(x.mail.references),
        inbound_id=x.inbound.id,
    )  # fmt: skip
    x.session.add(entry)
    records.log_event(
        x.session, x.case, x.person.primary, "replied directly", x.now, "copy recorded", x.inbound
    )
    return f"copy of {x.person.name}'s direct reply recorded on {x.case.ref}; not sent again"


def relay(x: Received, body: str) -> str:
    """Send the coordinator's words to the complainant from the shared address, under the case reference."""
    if not body.strip():
        return f"empty reply from {x.person.name} on {x.case.ref}; nothing relayed"
    signature = {"staff_name": x.person.name, "staff_address": _shown_address(x)}
    request = LetterRequest(
        "relay", x.now, key=x.mail.message_id or x.inbound.sha256, thread=reply_thread(x.session, x.case),
        automatic=False, auto_submitted=None, details={"text": body, **signature}, actor=x.person.primary,
    )  # fmt: skip
    result = send_letter(x.session, x.app, x.case, request)
    if result.status is LetterStatus.ALREADY_QUEUED:
        return f"reply from {x.person.name} not relayed (already relayed)"
    if result.status is LetterStatus.BLOCKED:
        return f"reply from {x.person.name} not relayed ({result.reason})"
    return f"reply from {x.person.name} relayed to {x.case.complainant_address} on {x.case.ref}"


def _shown_address(x: Received) -> str | None:
    """The complainant sees only the shared address unless the organisation chooses otherwise."""
    return x.person.primary if x.app.config.organisation.show_staff_addresses else None


def _run_commands(x: Received, found: list[commands.Command], unknown: list[str], body: str) -> str:
    accepted = "; ".join(commands.USAGE.values())
    problems = [f"{line}: not a command (accepted: {accepted})" for line in unknown]
    problems += commands.check(x.app, x.case, found)
    if not problems:
        try:
            done = commands.run(
                x.session, x.app, x.case, found, commands.StaffMail(x.person, x.now, body, x.inbound)
            )
        except commands.CommandError as exc:
            problems = [str(exc)]
    if problems:
        _answer(x, "command_refused", {"problems": problems})
        return f"commands from {x.person.name} refused; nothing changed: {' | '.join(problems)}"
    _answer(x, "command_done", {"done": done})
    return f"commands from {x.person.name} on {x.case.ref}: {'; '.join(done)}"


def _answer(x: Received, letter: str, details: dict[str, object]) -> None:
    request = LetterRequest(
        letter, x.now, key=x.mail.message_id or x.inbound.sha256,
        to=Recipient(x.person.name, x.person.primary),
        thread=Threading(x.mail.message_id, x.mail.references), automatic=False, details=details,
        actor="mailbot",
    )  # fmt: skip
    send_letter(x.session, x.app, x.case, request)  # not read: the outcome says what the commands did


def warn_unvouched(
    session: Session, app: App, case: Case, mail: ParsedMail, check: StaffCheck, key: str, text: str
) -> None:
    """A staff address our server does not vouch for: no command runs, and the coordinator is told."""
    claimed = mail.sender.email if mail.sender else ""
    reason = check.verdict.reason if check.verdict else "not checked"
    records.log_event(session, case, claimed, "unverified staff mail", app.clock(), reason)
    details = {"claimed": claimed, "reason": reason, "original_text": text[:4000]}
    people = alerts.coordinator_of(app, case)
    alerts.alert(session, app, case, "alert_unverified_staff", people, app.clock(), key, details)


def has_commands(text: str) -> bool:
    """Whether the mail's new text (without quoted history) holds a ``#`` command, known or not."""
    found, unknown, _body = commands.split_commands(text)
    return bool(found or unknown)


def no_case_for_commands(
    session: Session, app: App, inbound: InboundMessage, mail: ParsedMail, person: Person
) -> str:
    """Commands that name no case change nothing; the sender is asked to keep the reference."""
    inbound.kind = Kind.STAFF_REPLY
    thread = Threading(mail.message_id, mail.references)
    letter = app.letters.render(
        "command_no_case", {"organisation": app.config.organisation, "subject": mail.subject}
    )
    domain = app.config.organisation.domain
    key, cause = message_id_key(session), mail.message_id or inbound.sha256
    message_id = outgoing_message_id(key, "command_no_case", "none", cause, domain)
    message = compose(
        app.config, Recipient(person.name, person.primary), letter, message_id, thread, app.clock()
    )
    queue(session, app.config, purpose="command_no_case", mailbox=inbound.mailbox, message=message,
          recipients=[person.primary], now=app.clock(), case_id=None, automatic=False)  # fmt: skip
    return f"commands from {person.name} name no case; nothing changed, sender asked for the reference"
