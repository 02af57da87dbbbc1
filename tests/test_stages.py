"""A case's stages under the policies in rules/policies, without mail servers: the dates a stage starts with,
escalation, extensions within and beyond the policy's maximum, and outcomes. Every expected date was counted
by hand from a calendar (the count is in the comment beside it), never by the code under test."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from mailbot.cases import stages
from mailbot.db.models import Case
from mailbot.db.session import make_engine, make_sessionmaker, upgrade
from mailbot.policy import Policy, load_policies
from mailbot.vocabulary import RECORDED_STAGE

POLICIES = load_policies(Path(__file__).resolve().parent.parent / "rules" / "policies")
LONDON = ZoneInfo("Europe/London")
# England and Wales 2026: May Day Mon 4 May, Spring Bank Holiday Mon 25 May, Late Summer Mon 31 August.
# Scotland 2026: St Andrew's Day Mon 30 November.
WED_29_APR_2026 = datetime(2026, 4, 29, 10, 0, tzinfo=LONDON)


@pytest.fixture
def session() -> Iterator[Session]:
    """A real SQLite database in memory, with the schema the migrations build."""
    engine = make_engine("sqlite://")
    upgrade(engine)
    with make_sessionmaker(engine).begin() as session:
        yield session
    engine.dispose()


def policy(name: str) -> Policy:
    return POLICIES[name]


def new_item(session: Session, policy_name: str, received: datetime, kind: str = "complaint") -> Case:
    """An item as intake opens it: recorded, until a complaints stage starts."""
    case = Case(
        ref="CMP-2026-0042", kind=kind, policy=policy_name, stage=RECORDED_STAGE, status="recorded",
        mailbox="complaints", subject="My mother's care", complainant_name="Jo Bloggs",
        complainant_address="jo.bloggs@example.net", received_at=received,
    )  # fmt: skip
    session.add(case)
    session.flush()
    return case


def complaint(
    session: Session, policy_name: str, received: datetime, acknowledged: datetime | None = None
) -> Case:
    """A complaint at the first stage of its policy, as intake leaves it."""
    case = new_item(session, policy_name, received)
    first = stages.complaint_start(policy(policy_name))
    stages.start_stage(session, case, policy(policy_name), first, received, acknowledged=acknowledged)
    return case


def history(case: Case) -> list[str]:
    return [record.stage for record in case.stages]


# --- starting a stage --------------------------------------------------------------------------------------


def test_a_complaint_starts_at_stage_1_with_its_acknowledgement_and_response_dates(session: Session) -> None:
    case = complaint(session, "lgsco-hos-code", WED_29_APR_2026)

    assert (case.stage, case.status, case.outcome) == ("stage1", "open", None)
    # 5 working days from Wed 29 Apr: Thu 30 (1), Fri 1 May (2), [Mon 4 May], Tue 5 (3), Wed 6 (4), Thu 7 (5)
    assert case.acknowledge_due == date(2026, 5, 7)
    # 10 working days from the acknowledgement, assumed sent on its due date Thu 7 May: Fri 8 (1), Mon 11 (2),
    # Tue 12 (3), Wed 13 (4), Thu 14 (5), Fri 15 (6), Mon 18 (7), Tue 19 (8), Wed 20 (9), Thu 21 (10)
    assert case.response_due == date(2026, 5, 21)
    assert case.acknowledged_at is None
    record = stages.current(case)
    assert record is not None and record.stage == "stage1"
    assert (record.acknowledge_due, record.respond_due) == (date(2026, 5, 7), date(2026, 5, 21))
    assert record.started_at == WED_29_APR_2026


def test_a_stage_acknowledged_as_it_starts_counts_the_response_from_that_day(session: Session) -> None:
    case = complaint(session, "lgsco-hos-code", WED_29_APR_2026, acknowledged=WED_29_APR_2026)

    assert case.acknowledge_due == date(2026, 5, 7)  # the due date is the policy's, whenever it is written
    # 10 working days from Wed 29 Apr: Thu 30 (1), Fri 1 May (2), [Mon 4 May], Tue 5 (3), Wed 6 (4),
    # Thu 7 (5), Fri 8 (6), Mon 11 (7), Tue 12 (8), Wed 13 (9), Thu 14 (10)
    assert case.response_due == date(2026, 5, 14)


def test_a_complaint_just_after_midnight_in_london_counts_from_the_london_day(session: Session) -> None:
    received = datetime(2026, 4, 30, 23, 30, tzinfo=UTC)  # 00:30 on Fri 1 May in London (summer time)

    case = complaint(session, "lgsco-hos-code", received)

    # 5 working days from Fri 1 May: [Mon 4 May], Tue 5 (1), Wed 6 (2), Thu 7 (3), Fri 8 (4), Mon 11 (5)
    assert case.acknowledge_due == date(2026, 5, 11)


def test_a_response_due_on_a_weekend_in_calendar_days_comes_back_to_the_friday(session: Session) -> None:
    received = datetime(2026, 8, 29, 10, 0, tzinfo=LONDON)  # a Saturday, before the Late Summer holiday

    case = complaint(session, "help-and-care", received)

    # 3 working days from the next working day, Tue 1 Sep (Sun 30 Aug, then Mon 31 Aug is a bank holiday):
    # Wed 2 (1), Thu 3 (2), Fri 4 (3)
    assert case.acknowledge_due == date(2026, 9, 4)
    # 28 calendar days from Sat 29 Aug is Sat 26 Sep, brought back to Fri 25 Sep
    assert case.response_due == date(2026, 9, 25)


def test_a_stage_without_an_acknowledgement_has_no_acknowledgement_date(session: Session) -> None:
    received = datetime(2026, 11, 26, 10, 0, tzinfo=LONDON)  # Thu, before St Andrew's Day

    case = complaint(session, "spso-model", received)

    assert (case.stage, case.acknowledge_due) == ("frontline", None)
    # 5 working days in Scotland from Thu 26 Nov: Fri 27 (1), [Mon 30 Nov], Tue 1 Dec (2), Wed 2 (3),
    # Thu 3 (4), Fri 4 (5)
    assert case.response_due == date(2026, 12, 4)


# --- current and next_stage --------------------------------------------------------------------------------


def test_a_recorded_item_has_no_current_stage(session: Session) -> None:
    case = new_item(session, "help-and-care", WED_29_APR_2026, kind="concern")

    assert stages.current(case) is None


def test_the_current_stage_is_the_one_the_case_is_at(session: Session) -> None:
    case = complaint(session, "lgsco-hos-code", WED_29_APR_2026)
    stages.escalate(session, case, policy("lgsco-hos-code"), datetime(2026, 5, 19, 11, 0, tzinfo=LONDON))

    record = stages.current(case)

    assert record is not None and record.stage == "stage2"


@pytest.mark.parametrize(
    ("policy_name", "at", "expected"),
    [
        ("help-and-care", "stage1", "stage2"),
        ("help-and-care", "stage2", "appeal"),
        ("help-and-care", "appeal", None),
        ("lgsco-hos-code", "stage2", None),
        ("wivey-cares", "network_review", None),  # a policy of one stage
        ("help-and-care", RECORDED_STAGE, "stage1"),  # a recorded concern escalates to the complaint's start
        ("case-management-cymru", RECORDED_STAGE, "formal"),
    ],
)
def test_next_stage_follows_the_policy(policy_name: str, at: str, expected: str | None) -> None:
    case = Case(policy=policy_name, stage=at)

    following = stages.next_stage(case, policy(policy_name))

    assert (following.name if following else None) == expected


# --- escalation --------------------------------------------------------------------------------------------


def test_escalation_starts_the_next_stage_with_its_own_dates(session: Session) -> None:
    case = complaint(session, "lgsco-hos-code", WED_29_APR_2026, acknowledged=WED_29_APR_2026)
    stages.record_outcome(
        case, policy("lgsco-hos-code"), "not upheld", datetime(2026, 5, 15, 14, tzinfo=LONDON)
    )
    escalated = datetime(2026, 5, 19, 11, 0, tzinfo=LONDON)  # Tue

    record = stages.escalate(session, case, policy("lgsco-hos-code"), escalated, acknowledged=escalated)

    assert record is not None and record.stage == "stage2"
    assert (case.stage, case.status, case.outcome, case.acknowledged_at) == ("stage2", "open", None, None)
    # 5 working days from Tue 19 May: Wed 20 (1), Thu 21 (2), Fri 22 (3), [Mon 25 May], Tue 26 (4), Wed 27 (5)
    assert case.acknowledge_due == date(2026, 5, 27)
    # 20 working days from the acknowledgement on Tue 19 May: Wed 20 (1), Thu 21 (2), Fri 22 (3), Tue 26 (4),
    # Wed 27 (5), Thu 28 (6), Fri 29 (7), Mon 1 Jun (8), Tue 2 (9), Wed 3 (10), Thu 4 (11), Fri 5 (12),
    # Mon 8 (13), Tue 9 (14), Wed 10 (15), Thu 11 (16), Fri 12 (17), Mon 15 (18), Tue 16 (19), Wed 17 (20)
    assert case.response_due == date(2026, 6, 17)
    assert history(case) == ["stage1", "stage2"]
    first = case.stages[0]
    assert (first.outcome, first.respond_due) == ("not upheld", date(2026, 5, 14))  # stage 1 keeps its record


def test_escalation_without_an_acknowledgement_yet_assumes_it_goes_on_its_due_date(session: Session) -> None:
    case = complaint(session, "lgsco-hos-code", WED_29_APR_2026)

    stages.escalate(session, case, policy("lgsco-hos-code"), datetime(2026, 5, 19, 11, 0, tzinfo=LONDON))

    assert case.acknowledge_due == date(2026, 5, 27)  # as above
    # 20 working days from Wed 27 May: Thu 28 (1), Fri 29 (2), Mon 1 Jun (3), Tue 2 (4), Wed 3 (5), Thu 4 (6),
    # Fri 5 (7), Mon 8 (8), Tue 9 (9), Wed 10 (10), Thu 11 (11), Fri 12 (12), Mon 15 (13), Tue 16 (14),
    # Wed 17 (15), Thu 18 (16), Fri 19 (17), Mon 22 (18), Tue 23 (19), Wed 24 (20)
    assert case.response_due == date(2026, 6, 24)


def test_escalation_at_the_last_stage_changes_nothing(session: Session) -> None:
    case = complaint(session, "lgsco-hos-code", WED_29_APR_2026)
    stages.escalate(session, case, policy("lgsco-hos-code"), datetime(2026, 5, 19, 11, 0, tzinfo=LONDON))

    again = stages.escalate(
        session, case, policy("lgsco-hos-code"), datetime(2026, 6, 1, 9, 0, tzinfo=LONDON)
    )

    assert again is None
    assert (case.stage, case.status, case.response_due) == ("stage2", "open", date(2026, 6, 24))
    assert history(case) == ["stage1", "stage2"]


def test_a_recorded_concern_escalated_becomes_a_complaint_at_the_first_stage(session: Session) -> None:
    case = new_item(session, "help-and-care", WED_29_APR_2026, kind="concern")
    escalated = datetime(2026, 8, 29, 10, 0, tzinfo=LONDON)  # a Saturday

    record = stages.escalate(session, case, policy("help-and-care"), escalated)

    assert record is not None
    assert (case.kind, case.stage, case.status) == ("complaint", "stage1", "open")
    assert (case.acknowledge_due, case.response_due) == (date(2026, 9, 4), date(2026, 9, 25))  # counted above


# --- acknowledgement ---------------------------------------------------------------------------------------


def test_an_acknowledgement_sent_early_brings_the_response_date_forward(session: Session) -> None:
    case = complaint(session, "lgsco-hos-code", WED_29_APR_2026)
    sent = datetime(2026, 4, 30, 9, 0, tzinfo=LONDON)  # Thu

    due = stages.mark_acknowledged(case, policy("lgsco-hos-code"), sent)

    # 10 working days from Thu 30 Apr: Fri 1 May (1), [Mon 4 May], Tue 5 (2), Wed 6 (3), Thu 7 (4), Fri 8 (5),
    # Mon 11 (6), Tue 12 (7), Wed 13 (8), Thu 14 (9), Fri 15 (10)
    assert due == case.response_due == date(2026, 5, 15)
    assert case.acknowledged_at == sent


def test_a_late_acknowledgement_never_moves_the_promised_response_date_later(session: Session) -> None:
    case = complaint(session, "lgsco-hos-code", WED_29_APR_2026)

    due = stages.mark_acknowledged(case, policy("lgsco-hos-code"), datetime(2026, 5, 11, 9, 0, tzinfo=LONDON))

    assert due == case.response_due == date(2026, 5, 21)  # not 10 working days from Mon 11 May (Tue 26 May)


def test_a_second_acknowledgement_changes_nothing(session: Session) -> None:
    case = complaint(session, "lgsco-hos-code", WED_29_APR_2026)
    first = datetime(2026, 4, 30, 9, 0, tzinfo=LONDON)
    stages.mark_acknowledged(case, policy("lgsco-hos-code"), first)

    due = stages.mark_acknowledged(case, policy("lgsco-hos-code"), datetime(2026, 5, 5, 9, 0, tzinfo=LONDON))

    assert (due, case.acknowledged_at) == (date(2026, 5, 15), first)


# --- extensions --------------------------------------------------------------------------------------------


@pytest.fixture
def stage1_due_14_may(session: Session) -> Case:
    """Stage 1 of the Code, acknowledged on receipt: response due Thu 14 May 2026 (counted above); at most
    10 more working days: Fri 15 (1), Mon 18 (2), Tue 19 (3), Wed 20 (4), Thu 21 (5), Fri 22 (6),
    [Mon 25 May], Tue 26 (7), Wed 27 (8), Thu 28 (9), Fri 29 May (10)."""
    return complaint(session, "lgsco-hos-code", WED_29_APR_2026, acknowledged=WED_29_APR_2026)


def test_an_extension_within_the_maximum_moves_the_response_date(stage1_due_14_may: Case) -> None:
    case = stage1_due_14_may

    extension = stages.extend(case, policy("lgsco-hos-code"), 5, "waiting for the care records", agreed=True)

    # 5 working days from Thu 14 May: Fri 15 (1), Mon 18 (2), Tue 19 (3), Wed 20 (4), Thu 21 (5)
    assert extension == stages.Extension(date(2026, 5, 21), "waiting for the care records", True)
    assert case.response_due == date(2026, 5, 21)
    record = stages.current(case)
    assert record is not None
    assert (record.respond_due, record.extended_to) == (date(2026, 5, 14), date(2026, 5, 21))
    assert (record.extension_reason, record.extension_agreed) == ("waiting for the care records", True)


def test_a_second_extension_counts_on_from_the_first_up_to_the_maximum(stage1_due_14_may: Case) -> None:
    case = stage1_due_14_may
    stages.extend(case, policy("lgsco-hos-code"), 5, "waiting for the care records", agreed=False)

    extension = stages.extend(case, policy("lgsco-hos-code"), 5, "the manager is away", agreed=False)

    # 5 working days from Thu 21 May: Fri 22 (1), [Mon 25 May], Tue 26 (2), Wed 27 (3), Thu 28 (4),
    # Fri 29 (5): exactly the maximum, which is allowed
    assert extension.new_date == case.response_due == date(2026, 5, 29)


def test_an_extension_beyond_the_maximum_is_refused_and_changes_nothing(stage1_due_14_may: Case) -> None:
    case = stage1_due_14_may

    with pytest.raises(stages.StageError) as refused:
        stages.extend(case, policy("lgsco-hos-code"), 11, "a long investigation", agreed=False)

    assert str(refused.value) == (
        "LGSCO and Housing Ombudsman joint Complaint Handling Code: Stage 1 may be extended by at most "
        "10 working days (to 29 May 2026); 11 working day(s) would reach 01 June 2026"
    )
    record = stages.current(case)
    assert record is not None and record.extended_to is None
    assert case.response_due == date(2026, 5, 14)


def test_extensions_together_may_not_pass_the_maximum(stage1_due_14_may: Case) -> None:
    case = stage1_due_14_may
    stages.extend(case, policy("lgsco-hos-code"), 10, "a long investigation", agreed=False)

    with pytest.raises(stages.StageError, match=r"at most 10 working days \(to 29 May 2026\)"):
        stages.extend(case, policy("lgsco-hos-code"), 1, "one more day", agreed=False)

    assert case.response_due == date(2026, 5, 29)


def test_a_scottish_frontline_extension_counts_scottish_working_days(session: Session) -> None:
    case = complaint(session, "spso-model", datetime(2026, 11, 26, 10, 0, tzinfo=LONDON))  # due Fri 4 Dec

    # At most 5 working days from Fri 4 Dec: Mon 7 (1), Tue 8 (2), Wed 9 (3), Thu 10 (4), Fri 11 (5)
    with pytest.raises(stages.StageError, match=r"\(to 11 December 2026\); 6 working day\(s\) would reach "
                                                r"14 December 2026"):  # fmt: skip
        stages.extend(case, policy("spso-model"), 6, "exceptional circumstances", agreed=False)
    extension = stages.extend(case, policy("spso-model"), 5, "exceptional circumstances", agreed=False)

    assert extension.new_date == date(2026, 12, 11)


def test_an_extension_with_no_stated_maximum_counts_working_days(session: Session) -> None:
    case = complaint(session, "england-asc-2009", datetime(2026, 3, 3, 10, 0, tzinfo=LONDON))  # Tue
    # 6 months beginning on Tue 3 Mar 2026 end on Wed 2 Sep 2026
    assert case.response_due == date(2026, 9, 2)

    extension = stages.extend(case, policy("england-asc-2009"), 15, "agreed with the family", agreed=True)

    # 15 working days from Wed 2 Sep: Thu 3 (1), Fri 4 (2), Mon 7 (3), Tue 8 (4), Wed 9 (5), Thu 10 (6),
    # Fri 11 (7), Mon 14 (8), Tue 15 (9), Wed 16 (10), Thu 17 (11), Fri 18 (12), Mon 21 (13), Tue 22 (14),
    # Wed 23 (15)
    assert extension.new_date == case.response_due == date(2026, 9, 23)


def test_a_stage_whose_policy_allows_no_extension_refuses_one(session: Session) -> None:
    case = complaint(session, "help-and-care", WED_29_APR_2026)

    with pytest.raises(stages.StageError) as refused:
        stages.extend(case, policy("help-and-care"), 5, "waiting for records", agreed=False)

    assert str(refused.value) == "Help & Care customer services policy: Stage 1 allows no extension"


def test_a_recorded_item_cannot_be_extended(session: Session) -> None:
    case = new_item(session, "help-and-care", WED_29_APR_2026, kind="concern")

    with pytest.raises(stages.StageError) as refused:
        stages.extend(case, policy("help-and-care"), 5, "waiting for records", agreed=False)

    assert str(refused.value) == ("CMP-2026-0042 is a recorded concern, not a case under a complaints stage")


def test_a_stage_already_answered_cannot_be_extended(stage1_due_14_may: Case) -> None:
    case = stage1_due_14_may
    stages.record_outcome(case, policy("lgsco-hos-code"), "upheld", datetime(2026, 5, 13, 12, tzinfo=LONDON))

    with pytest.raises(stages.StageError) as refused:
        stages.extend(case, policy("lgsco-hos-code"), 5, "more to do", agreed=False)

    assert str(refused.value) == "CMP-2026-0042: Stage 1 has already been responded to"


# --- outcomes ----------------------------------------------------------------------------------------------


def test_an_outcome_before_the_last_stage_leaves_the_way_to_the_next_open(stage1_due_14_may: Case) -> None:
    case = stage1_due_14_may
    answered = datetime(2026, 5, 13, 12, 0, tzinfo=LONDON)

    following = stages.record_outcome(case, policy("lgsco-hos-code"), "partly upheld", answered)

    assert following is not None and following.name == "stage2"
    assert (case.outcome, case.status, case.closed_at) == ("partly upheld", "responded", None)
    record = stages.current(case)
    assert record is not None
    assert (record.outcome, record.responded_at) == ("partly upheld", answered)


def test_an_outcome_at_the_last_stage_closes_the_case(session: Session) -> None:
    case = complaint(session, "lgsco-hos-code", WED_29_APR_2026)
    stages.escalate(session, case, policy("lgsco-hos-code"), datetime(2026, 5, 19, 11, 0, tzinfo=LONDON))
    answered = datetime(2026, 6, 10, 16, 0, tzinfo=LONDON)

    following = stages.record_outcome(case, policy("lgsco-hos-code"), "not upheld", answered)

    assert following is None
    assert (case.outcome, case.status, case.closed_at) == ("not upheld", "closed", answered)


def test_an_outcome_that_is_not_an_outcome_is_refused_and_changes_nothing(stage1_due_14_may: Case) -> None:
    case = stage1_due_14_may

    with pytest.raises(stages.StageError) as refused:
        stages.record_outcome(
            case, policy("lgsco-hos-code"), "resolved", datetime(2026, 5, 13, tzinfo=LONDON)
        )

    assert str(refused.value) == "unknown outcome 'resolved' (accepted: upheld, partly upheld, not upheld)"
    assert (case.outcome, case.status) == (None, "open")


def test_an_outcome_is_recorded_once_per_stage(stage1_due_14_may: Case) -> None:
    case = stage1_due_14_may
    stages.record_outcome(case, policy("lgsco-hos-code"), "upheld", datetime(2026, 5, 13, tzinfo=LONDON))

    with pytest.raises(stages.StageError, match="has already been responded to"):
        stages.record_outcome(
            case, policy("lgsco-hos-code"), "not upheld", datetime(2026, 5, 14, tzinfo=LONDON)
        )

    assert case.outcome == "upheld"


def test_a_recorded_item_has_no_outcome_to_record(session: Session) -> None:
    case = new_item(session, "help-and-care", WED_29_APR_2026, kind="compliment")

    with pytest.raises(stages.StageError, match="is a recorded compliment"):
        stages.record_outcome(case, policy("help-and-care"), "upheld", datetime(2026, 5, 13, tzinfo=LONDON))


def test_closing_records_when(stage1_due_14_may: Case) -> None:
    closed = datetime(2026, 5, 20, 9, 0, tzinfo=LONDON)

    stages.close(stage1_due_14_may, closed)

    assert (stage1_due_14_may.status, stage1_due_14_may.closed_at) == ("closed", closed)


# --- the case's stage history -----------------------------------------------------------------------------


def test_the_first_stage_is_recorded_once_in_the_case_history(session: Session) -> None:
    case = complaint(session, "lgsco-hos-code", WED_29_APR_2026)

    assert history(case) == ["stage1"]


def test_an_escalated_case_lists_each_stage_once(session: Session) -> None:
    case = complaint(session, "lgsco-hos-code", WED_29_APR_2026)

    stages.escalate(session, case, policy("lgsco-hos-code"), datetime(2026, 5, 19, 11, 0, tzinfo=LONDON))

    assert history(case) == ["stage1", "stage2"]


def test_a_stage_the_case_has_already_been_through_cannot_be_started_again(session: Session) -> None:
    case = complaint(session, "lgsco-hos-code", WED_29_APR_2026)
    stages.escalate(session, case, policy("lgsco-hos-code"), datetime(2026, 5, 19, 11, 0, tzinfo=LONDON))
    due = case.response_due

    with pytest.raises(stages.StageError) as refused:
        stages.start_stage(
            session, case, policy("lgsco-hos-code"), "stage1", datetime(2026, 6, 1, 9, 0, tzinfo=LONDON)
        )

    assert str(refused.value) == (
        "CMP-2026-0042 has already been at Stage 1; a case goes through each stage once "
        "(stages it has not been at: none)"
    )
    assert (case.stage, case.response_due) == ("stage2", due)
    assert history(case) == ["stage1", "stage2"]
