"""A case's stages under the policies in rules/policies, without mail servers: the dates a stage starts with,
escalation, extensions within and beyond the policy's maximum, and outcomes. Every expected date was counted
by hand from a calendar (the count is in the comment beside it), never by the code under test."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from mailbot.cases import stages
from mailbot.db.models import Case
from mailbot.db.session import make_engine, make_sessionmaker, upgrade
from mailbot.policy.policies import Policy, load_policies

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
        ref="CMP-2026-0042", kind=kind, policy=policy_name, stage=stages.RECORDED, status="recorded",
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
