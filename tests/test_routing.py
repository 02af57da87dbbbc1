"""Routing without mail servers: which handler the table picks for each kind of mail, what a policy opens a
new item at and answers it with, which matters stay outside the procedure, and what a letter's result says.

The inputs are real: a configuration and policies from ``rules/policies``, mail parsed from bytes, a SQLite
database where a handler writes. Nothing is sent: letters stop in the outbox.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.app import App, build_app
from mailbot.cases.threading import ThreadLookup
from mailbot.classify import Classification
from mailbot.config.settings import load_config
from mailbot.db.models import Case, CaseEvent, InboundMessage, Outbox
from mailbot.intake.parse import parse_mail
from mailbot.outgoing.notices import LetterRequest, LetterStatus, send_letter
from mailbot.outgoing.outbox import Recipient
from mailbot.policy import Policy, load_policies
from mailbot.policy.model import RoutingNote
from mailbot.routing import Routing, by_staff, machines, new_case, on_case, outside, route, table
from mailbot.routing.kinds import opening_stage, reply_letter
from mailbot.staff.staffmail import StaffCheck
from mailbot.staff.trust import Verdict
from mailbot.vocabulary import FORWARDED_MATTERS, ForwardedMatter, Kind
from tests.mails import mail

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)  # a Tuesday
PRIYA = "priya.shah@riverside.example"
CONFIG = """
[organisation]
name = "Riverside Care Trust"
from_address = "complaints@riverside.example"

[database]
url = "sqlite:///{store}/mailbot.db"

[storage]
directory = "{store}"

[cases]
policies_dir = "{root}/rules/policies"
templates_dir = "{root}/templates"
classify_rules = "{root}/rules/classify.toml"
policy = "{policy}"

[smtp]
host = "127.0.0.1"
port = 2525
tls = "none"

[[mailbox]]
name = "complaints"
host = "127.0.0.1"
port = 1143
tls = "none"
username = "complaints"
password_env = "TEST_IMAP_PASSWORD"

[staff]
domains = ["riverside.example"]
trusted_authserv_ids = ["mx.riverside.example"]

[[staff.person]]
name = "Priya Shah"
addresses = ["priya.shah@riverside.example"]
roles = ["coordinator"]

[[staff.person]]
name = "Sam Okafor"
addresses = ["sam.okafor@riverside.example"]
roles = ["safeguarding_lead", "lead"]

[forwarding]
staff_matter = "hr@riverside.example"
"""


def make_app(directory: Path, policy: str = "lgsco-hos-code") -> App:
    path = directory / "config.toml"
    path.write_text(CONFIG.format(store=directory / "store", root=ROOT, policy=policy), encoding="utf-8")
    return build_app(load_config(path, {"TEST_IMAP_PASSWORD": "secret"}), clock=lambda: NOW)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """For choosing a route: nothing is written."""
    built = make_app(tmp_path_factory.mktemp("routing"))
    yield built
    built.close()


@pytest.fixture
def fresh_app(tmp_path: Path) -> Iterator[App]:
    """For running a handler: an empty database of its own."""
    built = make_app(tmp_path)
    yield built
    built.close()


# --- the inputs routing reads ----------------------------------------------------------------------------


def nobody(_app: App) -> StaffCheck:
    return StaffCheck(None, False, None)


def vouched(app: App) -> StaffCheck:
    person = app.config.staff.person_for(PRIYA) if app.config.staff else None
    return StaffCheck(person, True, Verdict(True, "dmarc", "dmarc=pass by mx.riverside.example"))


def unvouched(_app: App) -> StaffCheck:
    return StaffCheck(None, True, Verdict(False, None, "no Authentication-Results from a trusted server"))


UIDS = itertools.count(1)


def inbound_for(raw: bytes) -> InboundMessage:
    return InboundMessage(
        mailbox="complaints", folder="INBOX", uidvalidity=1, uid=next(UIDS), raw=raw,
        sha256=hashlib.sha256(raw).hexdigest(), received_at=NOW, fetched_at=NOW, state="processed",
        send_allowed=True,
    )  # fmt: skip


def routing_of(
    app: App,
    session: Session | None,
    kind: str,
    staff: Callable[[App], StaffCheck] = nobody,
    case: Case | None = None,
    flags: tuple[str, ...] = (),
    raw: bytes | None = None,
    inbound: InboundMessage | None = None,
) -> Routing:
    raw = raw or mail()
    verdict, lookup = Classification(kind, flags, (), ()), ThreadLookup(None)
    inbound = inbound or inbound_for(raw)
    # Choosing a route reads no database: the session is None there.
    return Routing(session, app, inbound, parse_mail(raw), verdict, lookup, case, staff(app))  # type: ignore[arg-type]


A_CASE = Case(ref="RCT-2026-0001")
COMMANDS = mail(sender=PRIYA, name="Priya Shah", body="#close\n\nDealt with by phone.\n")

# --- which handler the table picks ----------------------------------------------------------------------

PICKS = [
    # machines come first, whoever sent them and whatever they thread into
    ("bounce", nobody, None, (), machines.link_bounce),
    ("bounce", vouched, A_CASE, (), machines.link_bounce),
    ("auto_reply", nobody, A_CASE, (), machines.leave_alone),
    ("bulk", vouched, A_CASE, ("safeguarding",), machines.leave_alone),
    # ... except a disclosure from outside in mail with a header of mass mail or an auto-reply: a person's
    ("bulk", nobody, None, ("safeguarding",), table.as_a_persons_mail),
    ("auto_reply", unvouched, A_CASE, ("safeguarding",), table.as_a_persons_mail),
    ("bounce", nobody, None, ("safeguarding",), machines.link_bounce),
    ("auto_reply", nobody, None, ("staff_matter",), machines.leave_alone),
    # staff our server vouches for, on a case: their mail is theirs to relay or to command, whatever its kind
    ("staff_reply", vouched, A_CASE, (), by_staff.relay_or_run_commands),
    ("complaint", vouched, A_CASE, ("staff_matter",), by_staff.relay_or_run_commands),
    ("escalation", vouched, A_CASE, (), by_staff.relay_or_run_commands),
    # an unvouched claim to be staff is mail like anyone's
    ("reply", unvouched, A_CASE, (), on_case.add_to_case),
    ("escalation", unvouched, A_CASE, (), on_case.escalate),
    # the complainant, on a case
    ("escalation", nobody, A_CASE, (), on_case.escalate),
    ("reply", nobody, A_CASE, (), on_case.add_to_case),
    ("staff_reply", nobody, A_CASE, (), on_case.add_to_case),
    # matters outside the procedure, before any new case
    ("complaint", nobody, None, ("staff_matter",), outside.record_outside_procedure),
    ("concern", nobody, A_CASE, ("business_dispute",), outside.record_outside_procedure),
    ("reply", nobody, None, ("staff_matter",), outside.record_outside_procedure),
    ("complaint", vouched, None, ("business_dispute",), outside.record_outside_procedure),
    # new feedback, and mail meant for a case that threads into none
    ("complaint", nobody, None, (), new_case.open_new_case),
    ("compliment", nobody, None, ("safeguarding",), new_case.open_new_case),
    ("comment", unvouched, None, (), new_case.open_new_case),
    ("concern", nobody, A_CASE, (), new_case.open_new_case),
    ("escalation", nobody, None, (), new_case.open_new_case),
    ("reply", unvouched, None, (), new_case.open_new_case),
    ("complaint", vouched, None, (), new_case.open_new_case),  # staff forwarding a complaint
    # anything else waits for a person
    ("out_of_scope", nobody, None, (), table.leave_for_a_person),
    ("out_of_scope", vouched, None, (), table.leave_for_a_person),
]


@pytest.mark.parametrize(("kind", "staff", "case", "flags", "handler"), PICKS)
def test_the_table_picks_the_handler_for_each_kind_sender_and_case(
    app: App,
    kind: str,
    staff: Callable[[App], StaffCheck],
    case: Case | None,
    flags: tuple[str, ...],
    handler: Callable[[Routing], str],
) -> None:
    r = routing_of(app, None, kind, staff, case, flags)
    assert table.choose(r).then is handler


def test_commands_from_vouched_staff_that_name_no_case_are_refused_not_opened(app: App) -> None:
    r = routing_of(app, None, "complaint", vouched, raw=COMMANDS)
    assert table.choose(r).then is by_staff.refuse_commands_without_a_case
    on_a_case = routing_of(app, None, "staff_reply", vouched, A_CASE, raw=COMMANDS)
    assert table.choose(on_a_case).then is by_staff.relay_or_run_commands


def test_commands_count_only_from_staff_our_server_vouches_for(app: App) -> None:
    for staff in (unvouched, nobody):
        r = routing_of(app, None, "complaint", staff, raw=COMMANDS)
        assert table.choose(r).then is new_case.open_new_case


def test_only_an_unvouched_staff_address_on_a_case_is_warned_about(app: App) -> None:
    def warned(kind: str, staff: Callable[[App], StaffCheck], case: Case | None) -> bool:
        return table.is_unvouched_staff_on_a_case(routing_of(app, None, kind, staff, case))

    assert warned("reply", unvouched, A_CASE)
    assert warned("complaint", unvouched, A_CASE)
    assert not warned("reply", unvouched, None)
    assert not warned("reply", vouched, A_CASE)
    assert not warned("reply", nobody, A_CASE)
    assert not warned("auto_reply", unvouched, A_CASE)  # machines are never answered nor reported


def test_an_unvouched_staff_address_naming_a_case_it_is_no_party_to_is_reported_not_opened(app: App) -> None:
    named = ThreadLookup(None, "RCT-2026-0001 quoted in the subject by someone", "RCT-2026-0001")

    def handler(kind: str, staff: Callable[[App], StaffCheck]) -> Callable[[Routing], str]:
        return table.choose(dataclasses.replace(routing_of(app, None, kind, staff), lookup=named)).then

    assert handler("reply", unvouched) is by_staff.report_unvouched_quote
    assert handler("complaint", unvouched) is by_staff.report_unvouched_quote
    assert handler("reply", nobody) is new_case.open_new_case  # anyone else: an item of their own
    assert handler("auto_reply", unvouched) is machines.leave_alone


def test_the_table_ends_in_its_only_catch_all() -> None:
    *rows, last = table.ROUTES
    assert last.when is table.always and last.then is table.leave_for_a_person
    assert table.always not in [row.when for row in rows]


# --- matters outside the procedure ----------------------------------------------------------------------


def with_note(app: App, note: RoutingNote) -> App:
    policy = app.policy_for("complaints")
    changed = dataclasses.replace(policy, routing=(*policy.routing, note))
    return dataclasses.replace(app, policies={**app.policies, policy.name: changed})


@pytest.mark.parametrize("matter", FORWARDED_MATTERS)
def test_a_flagged_matter_the_policy_says_nothing_about_is_outside_the_procedure(
    app: App, matter: ForwardedMatter
) -> None:
    assert not [n for n in app.policy_for("complaints").routing if n.matter == matter]
    assert outside.outside_procedure(routing_of(app, None, "complaint", flags=(matter,))) == matter


def test_a_matter_the_policy_takes_in_scope_opens_a_case(app: App) -> None:
    in_scope = with_note(app, RoutingNote("staff_matter", None, "", True, ""))
    r = routing_of(in_scope, None, "complaint", flags=("staff_matter",))
    assert outside.outside_procedure(r) is None
    assert table.choose(r).then is new_case.open_new_case
    r = routing_of(in_scope, None, "complaint", flags=("staff_matter", "business_dispute"))
    assert outside.outside_procedure(r) == ForwardedMatter.BUSINESS_DISPUTE


def test_a_matter_the_policy_keeps_out_of_scope_is_outside_the_procedure(app: App) -> None:
    out_of_scope = with_note(app, RoutingNote("business_dispute", None, "the contract", False, ""))
    r = routing_of(out_of_scope, None, "concern", flags=("business_dispute",))
    assert outside.outside_procedure(r) == ForwardedMatter.BUSINESS_DISPUTE


def test_with_both_matters_flagged_the_staff_matter_wins(app: App) -> None:
    r = routing_of(app, None, "complaint", flags=("business_dispute", "staff_matter"))
    assert outside.outside_procedure(r) == ForwardedMatter.STAFF_MATTER


def test_no_matter_flagged_is_no_matter(app: App) -> None:
    assert outside.outside_procedure(routing_of(app, None, "complaint", flags=("safeguarding",))) is None


# --- what a policy opens a new item at, and answers it with ---------------------------------------------


@pytest.fixture(scope="module")
def policies() -> dict[str, Policy]:
    return load_policies(ROOT / "rules" / "policies")


OPENINGS = [
    ("lgsco-hos-code", "complaint", "stage1", "acknowledgement"),
    ("lgsco-hos-code", "compliment", "recorded", "thank_you"),
    ("lgsco-hos-code", "comment", "recorded", "acknowledgement"),
    ("lgsco-hos-code", "service_request", "recorded", "acknowledgement"),
    ("lgsco-hos-code", "concern", "stage1", "acknowledgement"),  # not named: handled as a complaint
    ("help-and-care", "concern", "recorded", "acknowledgement"),
    ("help-and-care", "complaint", "stage1", "acknowledgement"),
    ("case-management-cymru", "complaint", "formal", "acknowledgement"),
    ("case-management-cymru", "compliment", "recorded", "thank_you"),
    ("spso-model", "complaint", "frontline", "acknowledgement"),
    ("spso-model", "concern", "frontline", "acknowledgement"),
    ("nipso-model", "comment", "recorded", "acknowledgement"),
]


@pytest.mark.parametrize(("policy", "kind", "stage", "letter"), OPENINGS)
def test_opening_stage_and_reply_letter_follow_the_policy(
    policies: dict[str, Policy], policy: str, kind: str, stage: str, letter: str
) -> None:
    assert opening_stage(policies[policy], kind) == stage
    assert reply_letter(policies[policy], kind) == letter


def test_a_kind_that_starts_at_a_later_stage_opens_there(policies: dict[str, Policy]) -> None:
    policy = policies["help-and-care"]
    later = [dataclasses.replace(k, starts_at="stage2") if k.name == "complaint" else k for k in policy.kinds]
    changed = dataclasses.replace(policy, kinds=tuple(later))
    assert opening_stage(changed, "complaint") == "stage2"
    assert opening_stage(changed, "concern") == "recorded"


def test_a_policy_may_send_no_reply_for_a_recorded_kind(policies: dict[str, Policy]) -> None:
    policy = policies["lgsco-hos-code"]
    silent = [dataclasses.replace(k, reply="none") if k.name == "comment" else k for k in policy.kinds]
    assert reply_letter(dataclasses.replace(policy, kinds=tuple(silent)), "comment") == "none"


# --- handlers, on a database of their own ---------------------------------------------------------------


def run(
    app: App, kind: str, raw: bytes, staff: Callable[[App], StaffCheck] = nobody, case: Case | None = None,
    flags: tuple[str, ...] = (),
) -> str:  # fmt: skip
    with app.sessions.begin() as session:
        inbound = inbound_for(raw)
        session.add(inbound)
        session.flush()
        attached = session.merge(case) if case is not None else None
        return route(routing_of(app, session, kind, staff, attached, flags, raw, inbound))


def test_a_new_complaint_opens_a_case_and_queues_one_acknowledgement(fresh_app: App) -> None:
    outcome = run(fresh_app, "complaint", mail())

    with fresh_app.sessions() as session:
        case = session.scalars(select(Case)).one()
        [ack] = session.scalars(select(Outbox).where(Outbox.purpose == "acknowledgement")).all()
    assert (case.kind, case.stage, case.complainant_address) == (
        "complaint",
        "stage1",
        "jane.doe@example.net",
    )
    assert ack.recipients == ["jane.doe@example.net"] and ack.state == "pending"
    assert outcome.startswith(
        f"opened {case.ref} (complaint); acknowledgement queued to jane.doe@example.net"
    )


def test_a_reply_that_threads_into_no_case_opens_a_complaint(fresh_app: App) -> None:
    outcome = run(fresh_app, "reply", mail(subject="Re: my mother's care"))

    with fresh_app.sessions() as session:
        case = session.scalars(select(Case)).one()
    assert case.kind == "complaint" and outcome.startswith(f"opened {case.ref} (complaint)")


def test_a_compliment_is_recorded_and_thanked(fresh_app: App) -> None:
    outcome = run(fresh_app, "compliment", mail(subject="Thank you", body="The carers were wonderful.\n"))

    with fresh_app.sessions() as session:
        case = session.scalars(select(Case)).one()
    assert case.stage == "recorded" and "thank_you queued to jane.doe@example.net" in outcome


def test_a_staff_matter_is_forwarded_and_not_acknowledged(fresh_app: App) -> None:
    outcome = run(fresh_app, "complaint", mail(), flags=("staff_matter",))

    with fresh_app.sessions() as session:
        case = session.scalars(select(Case)).one()
        purposes = list(session.scalars(select(Outbox.purpose)))
    assert (case.kind, case.status) == ("out_of_scope", "out_of_scope")
    assert purposes == ["forward_matter"]
    forwarded = "outside the complaints procedure; forwarded to hr@riverside.example"
    assert outcome == f"recorded {case.ref} as staff_matter {forwarded}"


def test_an_unvouched_staff_mail_on_a_case_is_reported_then_added_to_the_case(fresh_app: App) -> None:
    run(fresh_app, "complaint", mail())
    with fresh_app.sessions() as session:
        case = session.scalars(select(Case)).one()

    claim = mail(sender=PRIYA, name="Priya Shah", subject=f"Re: [{case.ref}]", body="#close\n")
    outcome = run(fresh_app, "reply", claim, unvouched, case)

    with fresh_app.sessions() as session:
        events = [e.action for e in session.scalars(select(CaseEvent).order_by(CaseEvent.id))]
        alerts = list(session.scalars(select(Outbox).where(Outbox.purpose == "alert_unverified_staff")))
        status = session.scalars(select(Case.status)).one()
    assert events[-3:] == ["unverified staff mail", "alert_unverified_staff queued", "reply received"]
    assert [a.recipients for a in alerts] == [[case.coordinator]]
    assert status == "open"  # the #close line ran no command
    assert outcome == f"added to {case.ref} as reply (threaded by reference)"


def test_an_auto_reply_is_left_alone_and_nothing_is_written(fresh_app: App) -> None:
    assert run(fresh_app, "auto_reply", mail(subject="Out of office")) == "left alone: auto_reply"
    with fresh_app.sessions() as session:
        assert session.scalars(select(Case)).all() == [] and session.scalars(select(Outbox)).all() == []


def test_an_out_of_scope_kind_is_left_for_a_person(fresh_app: App) -> None:
    assert run(fresh_app, Kind.OUT_OF_SCOPE, mail()) == "left for a person: out_of_scope"


# --- what a letter's result says ------------------------------------------------------------------------


def test_a_letter_is_queued_once_then_already_queued_and_blocked_for_a_no_reply_address(
    fresh_app: App,
) -> None:
    run(fresh_app, "complaint", mail())
    with fresh_app.sessions.begin() as session:
        case = session.scalars(select(Case)).one()
        request = LetterRequest("acknowledgement", NOW, key="again", automatic=False)
        first = send_letter(session, fresh_app, case, request)
        second = send_letter(session, fresh_app, case, request)
        to_nobody = dataclasses.replace(request, key="blocked", to=Recipient("", "noreply@example.net"))
        blocked = send_letter(session, fresh_app, case, to_nobody)

    assert first.status is LetterStatus.QUEUED and first.queued and first.reason is None
    assert first.outbox_id is not None and first.recipients == ["jane.doe@example.net"]
    assert second == type(second)(LetterStatus.ALREADY_QUEUED) and second.outbox_id is None
    assert blocked.status is LetterStatus.BLOCKED and not blocked.queued
    assert blocked.reason == "a no-reply or system address" and blocked.row is not None
    assert blocked.row.state == "suppressed" and blocked.row.last_error == blocked.reason
