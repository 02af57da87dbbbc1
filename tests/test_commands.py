"""Commands by mail without mail servers: which ``#`` lines of a coordinator's reply are commands, what the
checks say about a line that cannot run, the impartiality rules, and the readers of periods and extensions.
The App is built from a real configuration over an in-memory SQLite database; nothing is sent."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from mailbot.app import App, build_app
from mailbot.cases import stages
from mailbot.config.settings import load_config
from mailbot.config.staff import Person
from mailbot.db.models import Case
from mailbot.staff import commands
from mailbot.staff.commands import Command, CommandError, StaffMail, split_commands
from mailbot.vocabulary import RECORDED_STAGE

ROOT = Path(__file__).resolve().parent.parent
LONDON = ZoneInfo("Europe/London")
WED_29_APR_2026 = datetime(2026, 4, 29, 10, 0, tzinfo=LONDON)
CONFIG = f"""
[organisation]
name = "Riverside Care Trust"
from_address = "complaints@riverside.example"

[database]
url = "sqlite://"

[cases]
policies_dir = "{ROOT / "rules" / "policies"}"
templates_dir = "{ROOT / "templates"}"
classify_rules = "{ROOT / "rules" / "classify.toml"}"
policy = "lgsco-hos-code"

[smtp]
host = "127.0.0.1"
tls = "none"

[[mailbox]]
name = "complaints"
host = "127.0.0.1"
tls = "none"
username = "complaints@riverside.example"
password_env = "UNUSED"

[staff]
domains = ["riverside.example"]
trusted_authserv_ids = ["mx.riverside.example"]

[[staff.person]]
name = "Priya Shah"
addresses = ["priya.shah@riverside.example"]
roles = ["coordinator", "investigator"]

[[staff.person]]
name = "Priya Patel"
addresses = ["priya.patel@riverside.example"]
roles = ["investigator"]

[[staff.person]]
name = "Tom Okafor"
addresses = ["tom.okafor@riverside.example"]
roles = ["coordinator", "investigator"]
"""


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG, encoding="utf-8")
    app = build_app(load_config(path, {}))
    yield app
    app.close()


@pytest.fixture
def session(app: App) -> Iterator[Session]:
    with app.sessions.begin() as session:
        yield session


def staff(app: App, name: str) -> Person:
    assert app.config.staff is not None
    person = app.config.staff.by_name(name)
    assert person is not None
    return person


def open_case(session: Session, app: App, policy: str = "lgsco-hos-code", handler: str | None = None) -> Case:
    """A complaint at the first stage of its policy, handled by ``handler`` (a primary address)."""
    case = Case(
        ref="CMP-2026-0042", kind="complaint", policy=policy, stage=RECORDED_STAGE, status="recorded",
        mailbox="complaints", subject="My mother's care", complainant_name="Jo Bloggs",
        complainant_address="jo.bloggs@example.net", received_at=WED_29_APR_2026, people_named=[],
    )  # fmt: skip
    session.add(case)
    session.flush()
    first = stages.complaint_start(app.policies[policy])
    record = stages.start_stage(session, case, app.policies[policy], first, WED_29_APR_2026, WED_29_APR_2026)
    record.handler = handler
    return case


def escalated(session: Session, app: App, case: Case) -> Case:
    stages.escalate(session, case, app.policies[case.policy], datetime(2026, 5, 19, 11, 0, tzinfo=LONDON))
    return case


def problems(app: App, case: Case, text: str) -> list[str]:
    found, unknown, _body = split_commands(text)
    assert unknown == []
    return commands.check(app, case, found)


# --- split_commands: what is a command ---------------------------------------------------------------------


def test_commands_at_the_top_are_read_with_their_arguments_and_the_rest_is_the_body() -> None:
    extend = "#extend 10 agreed: waiting for the GP's letter"
    text = f"#assign Tom Okafor\n{extend}\n\nThanks, Tom will call her."

    found, unknown, body = split_commands(text)

    assert found == [
        Command("assign", "Tom Okafor", "#assign Tom Okafor"),
        Command("extend", "10 agreed: waiting for the GP's letter", extend),
    ]
    assert unknown == []
    assert body == "Thanks, Tom will call her."


@pytest.mark.parametrize("name", sorted(commands.USAGE))
def test_every_command_in_the_usage_is_recognised(name: str) -> None:
    found, unknown, body = split_commands(f"#{name}")

    assert (found, unknown, body) == ([Command(name, "", f"#{name}")], [], "")


def test_command_names_are_read_without_regard_to_case_hyphens_or_underscores() -> None:
    found, _unknown, _body = split_commands("#ASSIGN Priya Shah\n#Follow-Up 3 months\n#follow_up 6 weeks")

    assert [(c.name, c.argument) for c in found] == [
        ("assign", "Priya Shah"),
        ("followup", "3 months"),
        ("followup", "6 weeks"),
    ]
    assert found[1].line == "#Follow-Up 3 months"  # the line as written, for the reply that quotes it


def test_a_typo_is_listed_as_not_a_command_and_the_lines_after_it_are_still_read() -> None:
    found, unknown, body = split_commands("#asign Tom Okafor\n#close\nDone.")

    assert unknown == ["#asign Tom Okafor"]
    assert found == [Command("close", "", "#close")]
    assert body == "Done."


def test_commands_are_read_only_at_the_top_not_in_the_body_or_the_quoted_history() -> None:
    rest = "We spoke today.\n#close\n\n> On Monday Jo wrote:\n> #close\n#outcome upheld"

    found, unknown, body = split_commands(f"#note called the family\n\n{rest}")

    assert found == [Command("note", "called the family", "#note called the family")]
    assert unknown == []
    assert body == rest


def test_blank_lines_and_indentation_among_the_commands_are_allowed() -> None:
    found, _unknown, body = split_commands("\n  #safeguarding  \n\n\t#persistent\n\nSee below.")

    assert [c.name for c in found] == ["safeguarding", "persistent"]
    assert body == "See below."


@pytest.mark.parametrize(
    "text",
    [
        "# Assign this to Tom",  # a heading, not a command: a space after the #
        "#1 priority please",  # not a name
        "Please #close this",  # not at the start of the line
        "",
    ],
)
def test_lines_that_are_not_command_lines_are_all_body(text: str) -> None:
    assert split_commands(text) == ([], [], text)


def test_arguments_are_trimmed() -> None:
    [note], _unknown, _body = split_commands("#note    the family would like a meeting   ")

    assert note.argument == "the family would like a meeting"


# --- check: every problem before anything runs -------------------------------------------------------------


def test_commands_that_can_run_raise_no_problems(app: App, session: Session) -> None:
    case = open_case(session, app)
    text = (
        "#assign Priya Shah\n#investigator tom.okafor@riverside.example\n#kind Concern\n#stage 2\n"
        "#stage stage1\n#extend 10 agreed: records\n#outcome Partly Upheld\n#close\n#note rang Jo\n"
        "#followup 3 months\n#safeguarding\n#persistent"
    )

    assert problems(app, case, text) == []


def test_a_kind_that_is_not_a_kind_is_refused_with_the_kinds_accepted(app: App, session: Session) -> None:
    case = open_case(session, app)

    assert problems(app, case, "#kind grumble") == [
        "#kind grumble: unknown kind 'grumble' "
        "(accepted: #kind complaint|concern|compliment|comment|subject_access|foi)"
    ]


def test_an_outcome_that_is_not_an_outcome_is_refused_with_the_outcomes_accepted(
    app: App, session: Session
) -> None:
    case = open_case(session, app)

    assert problems(app, case, "#outcome resolved") == [
        "#outcome resolved: unknown outcome 'resolved' "
        "(accepted: #outcome upheld|partly upheld|not upheld (the text below becomes the reasons))"
    ]


@pytest.mark.parametrize("stage", ["3", "0", "appeal", "Stage2", "-1"])
def test_a_stage_the_policy_does_not_have_is_refused_with_its_stages(
    app: App, session: Session, stage: str
) -> None:
    case = open_case(session, app)

    assert problems(app, case, f"#stage {stage}") == [
        f"#stage {stage}: no stage '{stage}' in policy lgsco-hos-code (stages 1-2: stage1, stage2) "
        "(accepted: #stage N or #stage NAME (a stage of the case's policy))"
    ]


def test_stages_are_those_of_the_case_policy(app: App, session: Session) -> None:
    case = open_case(session, app, policy="help-and-care")

    assert problems(app, case, "#stage 3\n#stage appeal") == []


def test_a_stage_written_with_a_digit_that_is_not_a_number_is_refused_not_a_crash(
    app: App, session: Session
) -> None:
    case = open_case(session, app)

    # "²" counts as a digit to str.isdigit() but int() cannot read it
    assert problems(app, case, "#stage ²") == [
        "#stage ²: no stage '²' in policy lgsco-hos-code (stages 1-2: stage1, stage2) "
        "(accepted: #stage N or #stage NAME (a stage of the case's policy))"
    ]


def test_an_extension_without_a_reason_is_refused(app: App, session: Session) -> None:
    case = open_case(session, app)
    accepted = (
        "(accepted: #extend DAYS REASON (add 'agreed' before the reason if the complainant agreed; "
        "on a subject access request DAYS may be left out))"
    )

    assert problems(app, case, "#extend 10\n#extend ten days, records late") == [
        f"#extend 10: give the number of days and a reason {accepted}",
        f"#extend ten days, records late: give the number of days and a reason {accepted}",
    ]


def test_a_follow_up_period_that_cannot_be_read_is_refused(app: App, session: Session) -> None:
    case = open_case(session, app)

    assert problems(app, case, "#followup next spring") == [
        "#followup next spring: cannot read 'next spring' as a period "
        "(accepted: #followup N months|weeks|days)"
    ]


def test_a_name_that_is_not_one_member_of_staff_is_refused_with_who_it_could_be(
    app: App, session: Session
) -> None:
    case = open_case(session, app)

    assert problems(app, case, "#assign Priya\n#investigator Sam Jones\n#assign") == [
        "#assign Priya: 'Priya' is ambiguous or unknown (Priya Shah, Priya Patel) "
        "(accepted: #assign NAME (a member of staff))",
        "#investigator Sam Jones: 'Sam Jones' is ambiguous or unknown (nobody of that name in the directory) "
        "(accepted: #investigator NAME)",
        "#assign: name a member of staff (accepted: #assign NAME (a member of staff))",
    ]


def test_without_a_staff_directory_nobody_can_be_assigned(app: App, session: Session) -> None:
    case = open_case(session, app)
    no_staff = dataclasses.replace(app, config=dataclasses.replace(app.config, staff=None))

    assert problems(no_staff, case, "#assign Priya Shah") == [
        "#assign Priya Shah: name a member of staff (accepted: #assign NAME (a member of staff))"
    ]


def test_every_problem_is_listed_in_order_and_good_lines_are_not(app: App, session: Session) -> None:
    case = open_case(session, app)

    listed = problems(app, case, "#kind grumble\n#close\n#outcome resolved\n#note fine")

    assert [line.split(":")[0] for line in listed] == ["#kind grumble", "#outcome resolved"]


# --- what only running finds: the policy's maximum extension, a stage already held -----------------------


def mail_from(app: App, name: str) -> StaffMail:
    return StaffMail(staff(app, name), datetime(2026, 5, 6, 9, 0, tzinfo=LONDON), "")


def test_an_extension_beyond_the_policy_maximum_is_refused_when_run_and_nothing_changes(
    app: App, session: Session
) -> None:
    case = open_case(session, app)  # stage 1 response due Thu 14 May 2026 (see test_stages.py)
    found, _unknown, _body = split_commands("#assign Tom Okafor\n#extend 11 the investigation is long")
    assert commands.check(app, case, found) == []  # the line reads well; the policy's limit is the run's

    with pytest.raises(CommandError) as refused:
        commands.run(session, app, case, found, mail_from(app, "Priya Shah"))

    # At most 10 working days from Thu 14 May: Fri 15 (1), Mon 18 (2), Tue 19 (3), Wed 20 (4), Thu 21 (5),
    # Fri 22 (6), [Mon 25 May], Tue 26 (7), Wed 27 (8), Thu 28 (9), Fri 29 (10); the 11th is Mon 1 June
    assert str(refused.value) == (
        "#extend 11 the investigation is long: LGSCO and Housing Ombudsman joint Complaint Handling Code: "
        "Stage 1 may be extended by at most 10 working days (to 29 May 2026); 11 working day(s) would reach "
        "01 June 2026"
    )
    session.refresh(case)
    assert (case.coordinator, case.response_due) == (None, date(2026, 5, 14))  # the #assign was undone too
    assert case.events == []


def test_moving_a_case_back_to_a_stage_it_has_been_at_is_refused_when_run(app: App, session: Session) -> None:
    case = escalated(session, app, open_case(session, app))
    found, _unknown, _body = split_commands("#stage 1")
    assert commands.check(app, case, found) == []

    with pytest.raises(CommandError) as refused:
        commands.run(session, app, case, found, mail_from(app, "Priya Shah"))

    assert str(refused.value) == (
        "#stage 1: CMP-2026-0042 has already been at Stage 1; a case goes through each stage once "
        "(stages it has not been at: none)"
    )
    session.refresh(case)
    assert case.stage == "stage2"


# --- impartiality ------------------------------------------------------------------------------------------


def test_nobody_named_in_the_complaint_may_investigate_it(app: App, session: Session) -> None:
    case = open_case(session, app)
    case.people_named = ["Priya Patel"]

    with pytest.raises(CommandError) as refused:
        commands.refuse_if_not_impartial(app, case, staff(app, "Priya Patel"))

    assert str(refused.value) == (
        "Priya Patel is named in the complaint; no member of staff may investigate their own practice"
    )
    commands.refuse_if_not_impartial(app, case, staff(app, "Tom Okafor"))  # anyone else may


def test_a_person_named_by_address_may_not_investigate_either(app: App, session: Session) -> None:
    case = open_case(session, app)
    case.people_named = ["tom.okafor@riverside.example"]

    with pytest.raises(CommandError, match="Tom Okafor is named in the complaint"):
        commands.refuse_if_not_impartial(app, case, staff(app, "Tom Okafor"))


def test_whoever_handled_stage_1_may_not_handle_stage_2_where_the_policy_says_so(
    app: App, session: Session
) -> None:
    case = escalated(session, app, open_case(session, app, handler="priya.shah@riverside.example"))

    with pytest.raises(CommandError) as refused:
        commands.refuse_if_not_impartial(app, case, staff(app, "Priya Shah"))

    assert str(refused.value) == (
        "Priya Shah handled an earlier stage; Stage 2 must be handled by someone else"
    )
    commands.refuse_if_not_impartial(app, case, staff(app, "Tom Okafor"))


def test_the_stage_1_handler_may_carry_on_at_stage_1(app: App, session: Session) -> None:
    case = open_case(session, app, handler="priya.shah@riverside.example")

    commands.refuse_if_not_impartial(app, case, staff(app, "Priya Shah"))


def test_where_the_policy_does_not_ask_for_someone_else_the_same_person_may_continue(
    app: App, session: Session
) -> None:
    # The SPSO model's stage 2 does not ask for a different handler from stage 1.
    case = escalated(session, app, open_case(session, app, "spso-model", "priya.shah@riverside.example"))
    assert case.stage == "investigation"

    commands.refuse_if_not_impartial(app, case, staff(app, "Priya Shah"))


# --- reading an extension and a follow-up period ----------------------------------------------------------


@pytest.mark.parametrize(
    ("argument", "expected"),
    [
        ("10 waiting for the care records", (10, False, "waiting for the care records")),
        ("10 agreed: the family asked for time", (10, True, "the family asked for time")),
        ("5 Agreed the family asked for time", (5, True, "the family asked for time")),
        ("5 AGREED:the family asked for time", (5, True, "the family asked for time")),
        ("5 agreedly is not the word agreed", (5, False, "agreedly is not the word agreed")),
        ("20   records from the hospital  ", (20, False, "records from the hospital")),
    ],
)
def test_an_extension_reads_the_days_whether_agreed_and_the_reason(
    argument: str, expected: tuple[int, bool, str]
) -> None:
    assert commands._extension_parts(argument) == expected


@pytest.mark.parametrize("argument", ["", "10", "ten working days", "reason first 10"])
def test_an_extension_without_days_and_a_reason_cannot_be_read(argument: str) -> None:
    with pytest.raises(CommandError, match="give the number of days and a reason"):
        commands._extension_parts(argument)


FRI_15_MAY_2026 = date(2026, 5, 15)


@pytest.mark.parametrize(
    ("argument", "today", "due"),
    [
        ("3 months", FRI_15_MAY_2026, date(2026, 8, 15)),
        ("6 weeks", FRI_15_MAY_2026, date(2026, 6, 26)),
        ("10 days", FRI_15_MAY_2026, date(2026, 5, 25)),  # calendar days: a bank holiday is not skipped
        ("1 day", FRI_15_MAY_2026, date(2026, 5, 16)),
        ("2 Months", FRI_15_MAY_2026, date(2026, 7, 15)),
        ("3months", FRI_15_MAY_2026, date(2026, 8, 15)),
        ("  12 MONTHS ", FRI_15_MAY_2026, date(2027, 5, 15)),
        ("1 month", date(2026, 1, 31), date(2026, 2, 28)),  # February is shorter: its last day
    ],
)
def test_a_follow_up_period_is_counted_from_today(argument: str, today: date, due: date) -> None:
    assert commands._follow_up_date(argument, today) == due


@pytest.mark.parametrize("argument", ["", "three months", "1 year", "3 months time", "-3 months"])
def test_a_follow_up_period_in_other_words_cannot_be_read(argument: str) -> None:
    with pytest.raises(CommandError) as refused:
        commands._follow_up_date(argument, FRI_15_MAY_2026)

    assert str(refused.value) == f"cannot read {argument!r} as a period"


def test_a_follow_up_sent_after_midnight_in_summer_counts_from_the_organisations_date(
    app: App, session: Session
) -> None:
    # 23:30 UTC on Tuesday 15 June 2027 is 00:30 BST on Wednesday 16 June in London, where the person is.
    case = open_case(session, app)
    found, _unknown, _body = split_commands("#followup 1 day")
    at = datetime(2027, 6, 15, 23, 30, tzinfo=ZoneInfo("UTC"))

    assert commands.run(session, app, case, found, StaffMail(staff(app, "Priya Shah"), at, "")) == [
        f"{case.ref} follow-up due 2027-06-17"
    ]
    assert case.follow_up_due == date(2027, 6, 17)
