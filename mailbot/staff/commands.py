"""Commands by mail: ``#`` lines at the top of a staff member's mail on a case.

All lines are checked before any runs, and they run together or not at all: a typo changes nothing and the
sender is told which line was not understood and what would be accepted.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from sqlalchemy.orm import Session

from mailbot import checked
from mailbot.app import App
from mailbot.cases import actions, parties, records, stages
from mailbot.cases.guards import Action, refuse_if_senseless
from mailbot.classify.chain import mail_context, model_text
from mailbot.classify.learning import add_example
from mailbot.config.staff import Person
from mailbot.db.models import Case, InboundMessage
from mailbot.errors import MailbotError
from mailbot.intake.parse import UnparseableMail, parse_mail
from mailbot.outgoing import alerts
from mailbot.privacy import hold
from mailbot.staff.kind_change import move_clock
from mailbot.vocabulary import (
    FEEDBACK_KINDS,
    OUTCOMES,
    RECORDED_STAGE,
    REQUEST_KINDS,
    UNSURE_KIND_FLAG,
    CaseStatus,
)

_LINE = re.compile(r"^#(?P<name>[A-Za-z_-]+)\b[ \t]*(?P<rest>.*)$")
USAGE = {
    "assign": "#assign NAME (a member of staff)",
    "investigator": "#investigator NAME",
    "kind": "#kind complaint|concern|compliment|comment|subject_access|foi",
    "stage": "#stage N or #stage NAME (a stage of the case's policy)",
    "extend": "#extend DAYS REASON (add 'agreed' before the reason if the complainant agreed; on a subject "
    "access request DAYS may be left out)",
    "outcome": "#outcome upheld|partly upheld|not upheld (the text below becomes the reasons)",
    "close": "#close",
    "note": "#note TEXT (internal; never sent to the complainant)",
    "followup": "#followup N months|weeks|days",
    "safeguarding": "#safeguarding",
    "persistent": "#persistent",
    "party": "#party ADDRESS [NAME] (may write on the case and receive its letters, e.g. an advocate)",
    "hold": "#hold REASON (a legal hold: the case is kept from retention purges and erasure)",
}


class CommandError(MailbotError):
    """A command line that cannot be run as written; says what would be accepted."""


@dataclass(frozen=True)
class Command:
    name: str
    argument: str
    line: str


@dataclass(frozen=True)
class StaffMail:
    """What a command needs to know: who sent it, when, and the text below the command lines."""

    person: Person
    at: datetime
    body: str
    inbound: InboundMessage | None = None  # the mail the commands came in, for the audit trail


def split_commands(text: str) -> tuple[list[Command], list[str], str]:
    """The commands at the top, the ``#`` lines that are not commands of ours, and the rest of the text."""
    lines = text.splitlines()
    commands, unknown, index = [], [], 0
    for index, line in enumerate(lines):  # noqa: B007 - the index after the loop is where the body starts
        stripped = line.strip()
        if not stripped:
            continue
        match = _LINE.match(stripped)
        if match is None:
            break
        name = match["name"].lower().replace("-", "").replace("_", "")
        (commands if name in USAGE else unknown).append(Command(name, match["rest"].strip(), stripped))
    else:
        index = len(lines)
    return commands, [c.line for c in unknown], "\n".join(lines[index:]).strip()


def check(app: App, case: Case, commands: list[Command]) -> list[str]:
    """Every problem found before anything runs, one line each."""
    problems = []
    for command in commands:
        try:
            CHECKS.get(command.name, _no_check)(app, case, command)
        except CommandError as exc:
            problems.append(f"{command.line}: {exc} (accepted: {USAGE[command.name]})")
    return problems


def run(session: Session, app: App, case: Case, commands: list[Command], mail: StaffMail) -> list[str]:
    """Run the commands in order in one savepoint; any failure undoes them all and raises CommandError."""
    done = []
    savepoint = session.begin_nested()
    try:
        for command in commands:
            done.append(RUNNERS[command.name](session, app, case, command, mail))
    except (CommandError, stages.StageError) as exc:
        savepoint.rollback()
        raise CommandError(f"{command.line}: {exc}") from None
    savepoint.commit()
    return done


# --- checks (no changes) ------------------------------------------------------------------------------------


def _no_check(app: App, case: Case, command: Command) -> None:
    return None


def _staff_person(app: App, name: str) -> Person:
    staff = app.config.staff
    if not name or staff is None:
        raise CommandError("name a member of staff")
    person = staff.by_name(name) or staff.person_for(name)
    if person is None:
        candidates = staff.matches(name)
        known = (
            ", ".join(p.name for p in candidates) if candidates else "nobody of that name in the directory"
        )
        raise CommandError(f"{name!r} is ambiguous or unknown ({known})")
    return person


def _check_kind(app: App, case: Case, command: Command) -> None:
    if command.argument.lower() not in (*FEEDBACK_KINDS, *REQUEST_KINDS):
        raise CommandError(f"unknown kind {command.argument!r}")


def _check_outcome(app: App, case: Case, command: Command) -> None:
    if command.argument.lower() not in OUTCOMES:
        raise CommandError(f"unknown outcome {command.argument!r}")


def _check_stage(app: App, case: Case, command: Command) -> None:
    _target_stage(app, case, command.argument)


def _target_stage(app: App, case: Case, argument: str) -> str:
    policy = app.policies[case.policy]
    names = [s.name for s in policy.stages]
    if argument.isdecimal() and 1 <= int(argument) <= len(names):  # isdigit() takes '²', which int() refuses
        return names[int(argument) - 1]
    if argument in names:
        return argument
    raise CommandError(
        f"no stage {argument!r} in policy {policy.name} (stages 1-{len(names)}: {', '.join(names)})"
    )


def _extension_parts(argument: str, on_request: bool = False) -> tuple[int | None, bool, str]:
    """DAYS [agreed] REASON; on a subject access request DAYS may be left out (as far as the law allows)."""
    match = re.match(r"^(\d+)\s+(agreed\b[:\s]*)?(.+)$", argument, re.IGNORECASE)
    if match is not None:
        return int(match[1]), bool(match[2]), match[3].strip()
    if on_request and argument.strip():
        return None, False, argument.strip()
    raise CommandError("give the number of days and a reason")


def _follow_up_date(argument: str, today: date) -> date:
    match = re.match(r"^(\d+)\s*(month|week|day)s?$", argument.strip(), re.IGNORECASE)
    if match is None:
        raise CommandError(f"cannot read {argument!r} as a period")
    count, unit = int(match[1]), match[2].lower()
    return today + relativedelta(**{f"{unit}s": count})


def _party_parts(argument: str) -> tuple[str, str]:
    address, _, name = argument.strip().partition(" ")
    if checked.address(address) is None:
        raise CommandError(f"{address or 'nothing'!r} is not an email address")
    return address, name.strip()


CHECKS: dict[str, Callable[[App, Case, Command], None]] = {
    "assign": lambda app, case, c: _staff_person(app, c.argument) and None,
    "investigator": lambda app, case, c: _staff_person(app, c.argument) and None,
    "kind": _check_kind,
    "stage": _check_stage,
    "extend": lambda app, case, c: _extension_parts(c.argument, case.status == CaseStatus.REQUEST) and None,
    "outcome": _check_outcome,
    "followup": lambda app, case, c: _follow_up_date(c.argument, app.clock().date()) and None,
    "party": lambda app, case, c: _party_parts(c.argument) and None,
    "hold": lambda app, case, c: None if c.argument.strip() else _refuse("give the reason for the hold"),
}


def _refuse(reason: str) -> None:
    raise CommandError(reason)


# --- runners (one change each, recorded in the audit trail) ----------------------------------------------


def _assign(session: Session, app: App, case: Case, command: Command, mail: StaffMail) -> str:
    person = _staff_person(app, command.argument)
    case.coordinator = person.primary
    records.log_event(
        session, case, mail.person.primary, "assigned", mail.at, f"coordinator {person.name}", mail.inbound
    )
    return f"{case.ref} assigned to {person.name}"


def _investigator(session: Session, app: App, case: Case, command: Command, mail: StaffMail) -> str:
    person = _staff_person(app, command.argument)
    refuse_if_not_impartial(app, case, person)
    record = stages.current(case)
    if record is not None:
        record.handler = person.primary
    records.log_event(session, case, mail.person.primary, "investigator", mail.at, person.name, mail.inbound)
    return f"{person.name} is investigating {case.ref}"


def refuse_if_not_impartial(app: App, case: Case, person: Person) -> None:
    """The policy's impartiality rules: nobody investigates their own practice or reviews their own stage."""
    if person.primary in case.people_named or person.name in case.people_named:
        raise CommandError(
            f"{person.name} is named in the complaint; no member of staff may investigate their own practice"
        )
    policy = app.policies[case.policy]
    if case.stage == RECORDED_STAGE or not policy.stage(case.stage).different_handler_from_previous:
        return
    earlier = [r.handler for r in case.stages if r.stage != case.stage]
    if person.primary in earlier:
        label = policy.stage(case.stage).label
        raise CommandError(f"{person.name} handled an earlier stage; {label} must be handled by someone else")


def _kind(session: Session, app: App, case: Case, command: Command, mail: StaffMail) -> str:
    kind = command.argument.lower()
    case.kind = kind
    case.flags = sorted(set(case.flags) - {UNSURE_KIND_FLAG})  # a person has confirmed it
    records.log_event(session, case, mail.person.primary, "kind", mail.at, kind, mail.inbound)
    # A request with its own law runs on the law's clock; feedback on the complaints stages.
    moved = move_clock(session, app, case, kind, mail.at, mail.person.primary, mail.inbound)
    # The correction teaches the kind model: the next mail like this one is classified with it.
    text = first_mail_text(session, app, case)
    if text and add_example(session, text, kind, f"#kind by {mail.person.primary}", mail.at, case.id):
        return f"{case.ref} is now a {kind}{moved}; learnt for next time"
    return f"{case.ref} is now a {kind}{moved}"


def first_mail_text(session: Session, app: App, case: Case) -> str:
    """What the kind model read of the mail that opened the case."""
    first = next((c for c in case.correspondence if c.direction == "in" and c.inbound_id), None)
    inbound = session.get(InboundMessage, first.inbound_id) if first and first.inbound_id else None
    if inbound is None:
        return ""
    try:
        mail = parse_mail(inbound.raw)
    except UnparseableMail:
        return ""
    return model_text(mail_context(mail, None, app.config.own_addresses))


def _stage(session: Session, app: App, case: Case, command: Command, mail: StaffMail) -> str:
    refuse_if_senseless(case, Action.MOVE_STAGE)  # the same rule as `mailbot cases escalate`
    target = _target_stage(app, case, command.argument)
    if target == case.stage:
        return f"{case.ref} is already at {target}"
    policy = app.policies[case.policy]
    stages.start_stage(session, case, policy, target, mail.at, acknowledged=mail.at)
    records.log_event(
        session, case, mail.person.primary, "stage", mail.at, f"moved to {target}", mail.inbound
    )
    return f"{case.ref} moved to {target}; " + actions.letter(session, app, case, "acknowledgement", mail.at,
                                                              mail.person.primary)  # fmt: skip


def _extend(session: Session, app: App, case: Case, command: Command, mail: StaffMail) -> str:
    days, agreed, reason = _extension_parts(command.argument, case.status == CaseStatus.REQUEST)
    return actions.extend_case(
        session, app, case, days, reason, agreed, mail.person.primary, mail.at, mail.inbound
    )


def _outcome(session: Session, app: App, case: Case, command: Command, mail: StaffMail) -> str:
    decision = command.argument.lower()
    return actions.record_case_outcome(
        session, app, case, decision, mail.at, mail.person.primary, mail.body, inbound=mail.inbound
    )


def _close(session: Session, app: App, case: Case, command: Command, mail: StaffMail) -> str:
    return actions.close_case(session, case, mail.person.primary, mail.at, mail.inbound)


def _note(session: Session, app: App, case: Case, command: Command, mail: StaffMail) -> str:
    note = "\n".join(part for part in (command.argument, mail.body) if part)
    records.log_event(session, case, mail.person.primary, "note", mail.at, note, mail.inbound)
    return f"note added to {case.ref}"


def _followup(session: Session, app: App, case: Case, command: Command, mail: StaffMail) -> str:
    # The organisation's date, not UTC's: a command sent at 00:30 on a summer night is sent on that day.
    today = mail.at.astimezone(ZoneInfo(app.config.timezone)).date()
    case.follow_up_due = _follow_up_date(command.argument, today)
    records.log_event(
        session, case, mail.person.primary, "follow-up", mail.at, f"due {case.follow_up_due}", mail.inbound
    )
    return f"{case.ref} follow-up due {case.follow_up_due}"


def _party(session: Session, app: App, case: Case, command: Command, mail: StaffMail) -> str:
    address, name = _party_parts(command.argument)
    return parties.add_party(session, case, address, name, mail.person.primary, mail.at, mail.inbound)


def _flag(flag: str) -> Callable[[Session, App, Case, Command, StaffMail], str]:
    def add(session: Session, app: App, case: Case, command: Command, mail: StaffMail) -> str:
        case.flags = sorted({*case.flags, flag})
        records.log_event(session, case, mail.person.primary, "flagged", mail.at, flag, mail.inbound)
        if flag == "safeguarding":
            people = alerts.people_for(app, "safeguarding_lead")
            details = {
                "original_text": mail.body, "sender": mail.person.primary, "findings": [],
                "categories": [f"raised by {mail.person.name}"], "procedure": "", "mailbox": case.mailbox,
                "policy_title": app.policies[case.policy].title, "on_existing_case": True, "people_named": (),
            }  # fmt: skip
            alerts.alert(
                session, app, case, "alert_safeguarding", people, mail.at, mail.at.isoformat(), details
            )
        return f"{case.ref} flagged {flag}"

    return add


def _hold(session: Session, app: App, case: Case, command: Command, mail: StaffMail) -> str:
    return hold.place_hold(session, case, mail.person.primary, command.argument, mail.at, mail.inbound)


RUNNERS: dict[str, Callable[[Session, App, Case, Command, StaffMail], str]] = {
    "assign": _assign,
    "investigator": _investigator,
    "kind": _kind,
    "stage": _stage,
    "extend": _extend,
    "outcome": _outcome,
    "close": _close,
    "note": _note,
    "followup": _followup,
    "safeguarding": _flag("safeguarding"),
    "persistent": _flag("persistent"),
    "party": _party,
    "hold": _hold,
}
