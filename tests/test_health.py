"""``mailbot health``: what it finds in a database filled through the real models, and after a real poll."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from mailbot import cli
from mailbot.app import App
from mailbot.config.settings import Config, load_config
from mailbot.db.models import Case, InboundMessage, MailboxState, Outbox, StageRecord
from mailbot.db.session import make_engine, make_sessionmaker, upgrade
from mailbot.health import Check, Thresholds, age, check_database
from mailbot.scheduled import jobs
from mailbot.testing import Dovecot, SmtpCapture
from tests.conftest import ENVIRON
from tests.mails import mail

NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
LIMITS = Thresholds(
    max_quiet_hours=72, max_outbox_minutes=60, max_held=0, max_failed=0, recent_hours=24, max_shunted=0,
    max_unacknowledged_hours=24,
)  # fmt: skip

CONFIG = """
[organisation]
name = "Riverside Care Trust"
from_address = "complaints@riverside.example"

[database]
url = "sqlite:///{database}"

[smtp]
host = "smtp.riverside.example"

[[mailbox]]
name = "complaints"
host = "imap.riverside.example"
username = "complaints@riverside.example"
password_env = "IMAP_PW"
"""


@pytest.fixture
def config(tmp_path: Path) -> Config:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(database=tmp_path / "mailbot.db"), encoding="utf-8")
    return load_config(path, {})


@pytest.fixture
def add(config: Config) -> Iterator[Callable[..., None]]:
    """Adds rows to the configuration's database, its schema brought up to date first."""
    engine = make_engine(config.database_url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)

    def adding(*rows: object) -> None:
        with sessions.begin() as session:
            for row in rows:
                session.add(row)
                session.flush()  # in order: a stage record needs its case's id

    yield adding
    engine.dispose()


def checked(config: Config, limits: Thresholds = LIMITS) -> dict[str, Check]:
    return {check.name: check for check in check_database(config, limits, NOW)}


def contact(minutes_ago: float) -> MailboxState:
    return MailboxState(
        mailbox="complaints", folder="INBOX", uidvalidity=1, last_uid=0, baseline_uid=0,
        first_seen_at=NOW - timedelta(minutes=minutes_ago),
    )  # fmt: skip


_uids = iter(range(1, 10_000))


def inbound(fetched_minutes_ago: float, state: str = "processed") -> InboundMessage:
    fetched = NOW - timedelta(minutes=fetched_minutes_ago)
    return InboundMessage(
        mailbox="complaints", folder="INBOX", uidvalidity=1, uid=next(_uids), sha256="0" * 64, raw=b"x",
        received_at=fetched, fetched_at=fetched, state=state,
    )  # fmt: skip


def letter(state: str, created_minutes_ago: float, claimed_minutes_ago: float | None = None) -> Outbox:
    created = NOW - timedelta(minutes=created_minutes_ago)
    claimed = None if claimed_minutes_ago is None else NOW - timedelta(minutes=claimed_minutes_ago)
    return Outbox(
        message_id=f"<{next(_uids)}@riverside.example>", purpose="acknowledgement", mailbox="complaints",
        sender="complaints@riverside.example", recipients=["jane@example.net"], recipient="jane@example.net",
        raw=b"x", state=state, created_at=created, next_attempt_at=created, claimed_at=claimed,
        deliver_until=created + timedelta(hours=48),
    )  # fmt: skip


def unacknowledged_case(ref: str, stage_began_hours_ago: float, flags: list[str] | None = None) -> Case:
    began = NOW - timedelta(hours=stage_began_hours_ago)
    return Case(
        ref=ref, kind="complaint", policy="lgsco-hos-code", stage="stage1", status="open",
        mailbox="complaints", subject="Missed visits", complainant_name="Jane Doe",
        complainant_address="jane@example.net", received_at=began, acknowledge_due=date(2026, 11, 17),
        flags=flags or [],
    )  # fmt: skip


def stage_of(case: Case, began_hours_ago: float, stage: str = "stage1") -> StageRecord:
    return StageRecord(case_id=case.id, stage=stage, started_at=NOW - timedelta(hours=began_hours_ago))


# --- each check -------------------------------------------------------------------------------------------


def test_a_mailbox_never_reached_is_unhealthy_and_the_rest_is_clear(add, config: Config) -> None:  # type: ignore[no-untyped-def]
    add()
    found = checked(config)
    assert not found["mailbox complaints"].ok
    assert found["mailbox complaints"].detail == "never polled: no contact recorded"
    assert [name for name, check in found.items() if not check.ok] == ["mailbox complaints"]
    assert found["outbox"].detail == "nothing waiting to be sent"
    assert found["acknowledgements"].detail == "every open case is acknowledged"


def test_a_mailbox_counts_as_reached_by_its_latest_mail_fetched(add, config: Config) -> None:  # type: ignore[no-untyped-def]
    add(contact(minutes_ago=10 * 24 * 60), inbound(fetched_minutes_ago=90), inbound(fetched_minutes_ago=600))
    check = checked(config)["mailbox complaints"]
    assert check.ok
    assert check.detail == "last mail fetched or filed 90 minutes ago (2026-11-10 10:30 UTC)"
    assert check.figures["quiet_hours"] == 1.5


def test_a_mailbox_quiet_for_longer_than_the_limit_is_unhealthy(add, config: Config) -> None:  # type: ignore[no-untyped-def]
    add(contact(minutes_ago=5 * 24 * 60), inbound(fetched_minutes_ago=80 * 60))
    check = checked(config)["mailbox complaints"]
    assert not check.ok and "3 days ago" in check.detail
    assert checked(config, _with(max_quiet_hours=96))["mailbox complaints"].ok


def test_a_letter_filed_in_sent_counts_as_contact(add, config: Config) -> None:  # type: ignore[no-untyped-def]
    filed = letter("sent", created_minutes_ago=100 * 60)
    filed.filed_at = NOW - timedelta(minutes=5)
    add(contact(minutes_ago=100 * 60), filed)
    assert checked(config)["mailbox complaints"].ok


def test_the_outbox_backlog_is_judged_by_its_oldest_letter(add, config: Config) -> None:  # type: ignore[no-untyped-def]
    add(
        letter("pending", created_minutes_ago=30),
        letter("pending", created_minutes_ago=5),
        letter("sent", 900),
    )
    check = checked(config)["outbox"]
    assert check.ok and check.figures == {"pending": 2, "oldest_pending_minutes": 30.0}
    assert check.detail == "2 letter(s) waiting to be sent, the oldest for 30 minutes"
    add(letter("pending", created_minutes_ago=61))
    assert not checked(config)["outbox"].ok


def test_held_and_failed_letters_count_while_their_last_attempt_is_recent(add, config: Config) -> None:  # type: ignore[no-untyped-def]
    add(letter("held", 3000, claimed_minutes_ago=2000), letter("failed", 3000, claimed_minutes_ago=60))
    found = checked(config)
    assert found["held letters"].ok and found["held letters"].figures == {"recent": 0, "total": 1}
    assert not found["failed letters"].ok
    assert found["failed letters"].detail == "1 in the last 24 hours, 1 in all (`mailbot outbox list`)"
    assert checked(config, _with(max_failed=1))["failed letters"].ok
    add(letter("held", 30, claimed_minutes_ago=20))
    assert not checked(config)["held letters"].ok


def test_any_shunted_message_is_unhealthy_until_retried(add, config: Config) -> None:  # type: ignore[no-untyped-def]
    add(contact(10), inbound(5), inbound(5, state="shunted"))
    check = checked(config)["shunted messages"]
    assert not check.ok and check.figures == {"count": 1}
    assert check.detail == "1 message(s) failed and wait to be retried (`mailbot shunted list`)"
    assert checked(config, _with(max_shunted=1))["shunted messages"].ok


def test_the_oldest_unacknowledged_case_is_named(add, config: Config) -> None:  # type: ignore[no-untyped-def]
    older, newer = unacknowledged_case("CMP-2026-0001", 30), unacknowledged_case("CMP-2026-0002", 2)
    add(older, newer)
    add(stage_of(older, 30), stage_of(newer, 2))
    check = checked(config)["acknowledgements"]
    assert not check.ok
    assert check.detail == "2 case(s) awaiting acknowledgement; the oldest, CMP-2026-0001, for 30 hours"
    assert check.figures["oldest"] == {"ref": "CMP-2026-0001", "waiting_hours": 30.0}


def test_an_imported_backlog_and_an_earlier_stage_do_not_count_as_unacknowledged(add, config: Config) -> None:  # type: ignore[no-untyped-def]
    imported = unacknowledged_case("CMP-2026-0001", 500, flags=["imported"])
    escalated = unacknowledged_case("CMP-2026-0002", 500)
    escalated.stage = "stage2"
    add(imported, escalated)
    # Received three weeks ago, but its second stage began an hour ago: that is what awaits acknowledgement.
    add(stage_of(imported, 500), stage_of(escalated, 500), stage_of(escalated, 1, stage="stage2"))
    check = checked(config)["acknowledgements"]
    assert check.ok and check.figures["count"] == 1


def test_a_database_without_the_schema_is_unhealthy_and_says_what_to_run(config: Config) -> None:
    [check] = check_database(config, LIMITS, NOW)
    assert check.name == "database" and not check.ok
    assert "no such table" in check.detail and "`mailbot db upgrade`" in check.detail


def test_ages_are_said_as_a_person_would() -> None:
    assert [age(timedelta(minutes=m)) for m in (0, 1, 119, 120, 47 * 60, 49 * 60)] == [
        "0 minutes", "1 minute", "119 minutes", "2 hours", "47 hours", "2 days",
    ]  # fmt: skip


def _with(**changes: float) -> Thresholds:
    from dataclasses import replace

    return replace(LIMITS, **changes)


# --- the command ------------------------------------------------------------------------------------------


def test_the_command_exits_1_with_json_naming_what_is_wrong(
    add, config: Config, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    add(contact(minutes_ago=1), inbound(5, state="shunted"))
    status = cli.main(["--config", str(config.path), "health", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert status == 1 and report["healthy"] is False
    names = {c["name"]: c for c in report["checks"]}
    assert set(names) == {
        "mailbox complaints", "outbox", "held letters", "failed letters", "shunted messages",
        "acknowledgements",
    }  # fmt: skip
    assert names["shunted messages"] == {
        "name": "shunted messages", "ok": False, "count": 1,
        "detail": "1 message(s) failed and wait to be retried (`mailbot shunted list`)",
    }  # fmt: skip


def test_the_command_takes_its_thresholds_as_options(
    add, config: Config, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    add(contact(minutes_ago=1), inbound(5, state="shunted"))
    status = cli.main(
        ["--config", str(config.path), "health", "--max-shunted", "1", "--max-quiet-hours", "1e6"]
    )
    out = capsys.readouterr().out
    assert status == 0 and out.endswith("\nhealthy\n")
    assert "ok   shunted messages: 1 message(s) failed" in out


# --- after a real poll ------------------------------------------------------------------------------------


def test_health_after_a_real_poll_and_after_a_letter_is_refused(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    for name, value in ENVIRON.items():
        monkeypatch.setenv(name, value)
    jobs.poll_cycle(app)
    dovecot.deliver(mail(sender="jane.doe@example.net"))
    jobs.poll_cycle(app)

    status = cli.main(["--config", str(app.config.path), "health"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "ok   mailbox complaints: last mail fetched or filed 0 minutes ago" in out
    assert "ok   acknowledgements: every open case is acknowledged" in out

    smtp_server.reject_recipient("refused@example.net", 550)
    dovecot.deliver(mail(sender="refused@example.net"))
    jobs.poll_cycle(app)
    status = cli.main(["--config", str(app.config.path), "health", "--json"])
    report = {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    assert status == 1
    assert report["failed letters"]["ok"] is False and report["failed letters"]["recent"] == 1
    assert report["acknowledgements"]["ok"]  # unacknowledged, but for minutes, not a day
