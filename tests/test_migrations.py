"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from mailbot.db.installation import message_id_key
from mailbot.db.models import Base
from mailbot.db.session import make_engine, make_sessionmaker, upgrade


def test_migrations_match_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        upgrade(engine)  # a second run on start-up is harmless
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
    assert differences == [], (
        "models changed without a migration: write one with alembic revision --autogenerate"
    )


def test_each_installation_has_its_own_message_id_key_and_keeps_it(database_url: str, tmp_path: Path) -> None:
    """The key that makes our Message-IDs unguessable is made at random by the migration, once."""
    engine, other = make_engine(database_url), make_engine(f"sqlite:///{tmp_path / 'another.db'}")
    try:
        upgrade(engine)
        first = key_of(engine)
        upgrade(engine)
        upgrade(other)
        assert key_of(engine) == first and len(first) == 32
        assert key_of(other) != first
    finally:
        engine.dispose()
        other.dispose()


def key_of(engine: Engine) -> bytes:
    with make_sessionmaker(engine).begin() as session:
        return message_id_key(session)
