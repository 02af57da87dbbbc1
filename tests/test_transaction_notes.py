"""What a transaction notes about itself (the cases it opened, the letters it queued) is forgotten when it
ends: a note about work a savepoint undid, or about a transaction already committed, is never believed
later in the same session. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.cases.records import NewCase, open_case, opened_here
from mailbot.config.settings import Config, load_config
from mailbot.db.models import Outbox
from mailbot.db.session import make_engine, make_sessionmaker, upgrade
from mailbot.intake.parse import parse_mail
from mailbot.outgoing.letters import Letter
from mailbot.outgoing.outbox import Recipient, Threading, compose, outgoing_message_id, queue, queued_here
from tests.test_outbox_compose import CONFIG

NOW = datetime(2026, 5, 6, 9, 30, tzinfo=UTC)
REF = "CMP-2026-0042"
KEY = bytes.fromhex("5e" * 32)
JO = Recipient("Jo Bloggs", "jo.bloggs@example.net")
MAIL = parse_mail(b"From: Jo Bloggs <jo.bloggs@example.net>\nSubject: Missed visits\n\nNobody came.\n")


@pytest.fixture
def config(tmp_path: Path) -> Config:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(domain=""), encoding="utf-8")
    return load_config(path, {})


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    engine = make_engine(database_url)
    upgrade(engine)
    with make_sessionmaker(engine)() as session:
        yield session
    engine.dispose()


def open_and_acknowledge(session: Session, config: Config) -> tuple[object, str]:
    case = open_case(
        session, NewCase(REF, "complaint", "lgsco-hos-code", "complaints", NOW, (), None), MAIL
    )  # fmt: skip
    message_id = outgoing_message_id(KEY, "acknowledgement", REF, "first", "riverside.example")
    letter = Letter(subject=f"[{REF}] We have received your complaint", text="Dear Jo,\n", html=None)
    message = compose(config, JO, letter, message_id, Threading(), NOW)
    queue(
        session, config, purpose="acknowledgement", mailbox="complaints", message=message,
        recipients=[JO.address], now=NOW, case_id=None,
    )  # fmt: skip
    return case, message_id


def in_outbox(session: Session, message_id: str) -> bool:
    return session.scalar(select(Outbox.id).where(Outbox.message_id == message_id)) is not None


def test_a_letter_a_savepoint_undid_is_not_taken_as_queued(session: Session, config: Config) -> None:
    with session.begin():
        savepoint = session.begin_nested()
        case, message_id = open_and_acknowledge(session, config)
        assert opened_here(session, case) and message_id in queued_here(session)
        savepoint.rollback()

        assert not in_outbox(session, message_id)
        # Believed, the note would have the same letter skipped when queued again: never sent.
        assert message_id not in queued_here(session)
        assert not opened_here(session, case)


def test_notes_end_with_the_transaction_that_made_them(session: Session, config: Config) -> None:
    with session.begin():
        case, message_id = open_and_acknowledge(session, config)
    with session.begin():
        assert in_outbox(session, message_id)
        assert not opened_here(session, case)  # written by an earlier transaction: the database is asked
        assert queued_here(session) == set()
