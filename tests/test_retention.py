"""The retention schedule as written: the [retention] table and its mistakes, when an item's period runs out,
and the monthly purge job under ``mailbot run``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.orm import Session, sessionmaker

from mailbot.app import build_app
from mailbot.config.reader import ConfigError, TomlReader
from mailbot.config.retention import RetentionSettings, retention_from
from mailbot.config.settings import load_config
from mailbot.db.models import Case
from mailbot.privacy.purge import PURGE_JOB, add_retention_job
from mailbot.privacy.retention import expired_because, plan
from mailbot.vocabulary import CaseStatus
from tests.test_commands import CONFIG as COMMANDS_CONFIG
from tests.test_config import GOOD, ROOT, write

CONFIG = Path("config.toml")


def read(table: dict[str, Any]) -> RetentionSettings:
    return retention_from(TomlReader(CONFIG, table, "retention"))


def test_without_a_retention_table_complaints_are_kept_six_years_and_failed_mail_ninety_days(
    tmp_path: Path,
) -> None:
    settings = load_config(write(tmp_path, GOOD), {}).retention

    assert settings == RetentionSettings()
    assert settings.years_for("complaint") == 6 and settings.years_for("out_of_scope") == 6
    assert (settings.not_closed_years, settings.shunted_days, settings.unfiled_days) == (6, 90, 90)
    assert settings.monthly_purge and (settings.purge_day, settings.purge_at) == (1, time(3, 0))


def test_the_example_configuration_states_the_schedule_and_its_source() -> None:
    config = load_config(ROOT / "config.example.toml", {})
    text = " ".join(
        (ROOT / "config.example.toml").read_text(encoding="utf-8").replace("#", " ").split()
    ).lower()

    assert config.retention.years_for("complaint") == 6
    assert "records management code of practice for health and social care 2021" in text
    assert "defaults for your data protection officer to set" in text


def test_each_kind_has_its_own_years() -> None:
    settings = read({"complaint_years": 10, "compliment_years": 2, "purge_time": "01:15", "purge_day": 15})

    assert settings.years_for("complaint") == 10 and settings.years_for("compliment") == 2
    assert settings.years_for("concern") == 6 and settings.years_for("a kind added later") == 10
    assert (settings.purge_day, settings.purge_at) == (15, time(1, 15))


@pytest.mark.parametrize(
    ("table", "key", "says"),
    [
        ({"complaint_years": 0}, "retention.complaint_years", "a whole number from 1 to 100, got 0"),
        ({"shunted_days": "90"}, "retention.shunted_days", "a whole number from 1 to 36500"),
        ({"purge_day": 31}, "retention.purge_day", "a whole number from 1 to 28"),
        ({"purge_time": "3am"}, "retention.purge_time", "such as \"03:00\", got '3am'"),
        ({"monthly_purge": "yes"}, "retention.monthly_purge", "true or false"),
        ({"complaints_years": 6}, "retention.complaints_years", "unknown key (accepted here: "),
    ],
)
def test_a_mistake_in_the_retention_table_names_the_key_and_what_is_accepted(
    table: dict[str, Any], key: str, says: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        read(table)
    assert raised.value.key == key and says in raised.value.message


def case_row(kind: str, received: datetime, closed: datetime | None, last_mail: datetime | None) -> Any:
    return SimpleNamespace(kind=kind, received_at=received, closed_at=closed, last_mail=last_mail)


def test_a_closed_case_expires_its_years_after_closure_and_an_open_one_after_its_last_mail() -> None:
    settings = read({"compliment_years": 2})
    received = datetime(2020, 3, 2, 9, tzinfo=UTC)
    closed = case_row("complaint", received, datetime(2020, 6, 1, 12, tzinfo=UTC), None)

    assert expired_because(closed, settings, datetime(2026, 6, 1, 11, tzinfo=UTC)) is None
    assert "kept 6 years after closure; closed 2020-06-01" in str(
        expired_because(closed, settings, datetime(2026, 6, 1, 12, tzinfo=UTC))
    )
    thanks = case_row("compliment", received, datetime(2020, 3, 3, tzinfo=UTC), None)
    assert expired_because(thanks, settings, datetime(2022, 3, 3, tzinfo=UTC)) is not None
    lingering = case_row("complaint", received, None, datetime(2021, 1, 5, tzinfo=UTC))
    assert expired_because(lingering, settings, datetime(2027, 1, 4, tzinfo=UTC)) is None
    assert "last 2021-01-05" in str(expired_because(lingering, settings, datetime(2027, 1, 6, tzinfo=UTC)))


def test_the_monthly_job_runs_on_the_configured_day_and_time_unless_turned_off() -> None:
    scheduler = BackgroundScheduler(timezone="Europe/London")
    config = SimpleNamespace(
        retention=read({"purge_day": 2, "purge_time": "04:30"}), timezone="Europe/London"
    )

    add_retention_job(scheduler, SimpleNamespace(config=config))  # type: ignore[arg-type]

    [job] = scheduler.get_jobs()
    fields = {f.name: str(f) for f in job.trigger.fields}
    assert job.id == PURGE_JOB and (fields["day"], fields["hour"], fields["minute"]) == ("2", "4", "30")
    off = BackgroundScheduler(timezone="Europe/London")
    config = SimpleNamespace(retention=read({"monthly_purge": False}), timezone="Europe/London")
    add_retention_job(off, SimpleNamespace(config=config))  # type: ignore[arg-type]
    assert off.get_jobs() == []


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    path = tmp_path / "config.toml"
    path.write_text(COMMANDS_CONFIG, encoding="utf-8")
    app = build_app(load_config(path, {}))
    yield app.sessions
    app.close()


def test_a_case_closed_on_29_february_is_purged_six_years_on_28_february(
    sessions: sessionmaker[Session],
) -> None:
    # Closed Tuesday 29 February 2028; six years on, 2034 has no 29 February: its period ends on 28 February.
    closed = datetime(2028, 2, 29, 10, 0, tzinfo=UTC)
    case = Case(
        ref="CMP-2028-0001", kind="complaint", policy="lgsco-hos-code", stage="stage1",
        status=CaseStatus.CLOSED, mailbox="complaints", subject="Missed visits", complainant_name="Jo Bloggs",
        complainant_address="jo.bloggs@example.net", received_at=closed - timedelta(days=30),
        closed_at=closed, people_named=[],
    )  # fmt: skip
    with sessions.begin() as session:
        session.add(case)
    with sessions() as session:
        assert plan(session, RetentionSettings(), datetime(2034, 2, 28, 9, 0, tzinfo=UTC)).cases == []
        due = plan(session, RetentionSettings(), datetime(2034, 2, 28, 10, 0, tzinfo=UTC)).cases
    assert [c.ref for c in due] == ["CMP-2028-0001"]
