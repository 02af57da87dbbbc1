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


def test_the_newest_migration_read_from_the_files_is_alembics_head() -> None:
    from alembic.script import ScriptDirectory

    from mailbot.db.session import alembic_config, head_revision

    script = ScriptDirectory.from_config(alembic_config(make_engine("sqlite://")))
    assert head_revision() == script.get_current_head()


def test_a_start_on_a_database_at_the_newest_revision_does_not_load_alembic(tmp_path: Path) -> None:
    """Alembic (with Mako and Pygments) is about 12 MB of a process: a start that has nothing to migrate
    reads the recorded revision and goes on without it."""
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'bot.db'}"
    upgrade(make_engine(url))  # a new database: Alembic builds it
    program = (
        "import sys\n"
        "from mailbot.db.session import make_engine, upgrade\n"
        f"upgrade(make_engine({url!r}))\n"
        "print('alembic' in sys.modules)\n"
    )
    ran = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert ran.stdout.strip() == "False"
