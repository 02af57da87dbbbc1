"""Engines, sessions and schema migrations (Alembic), for SQLite and PostgreSQL alike."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from mailbot.private_files import private_file

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

MIGRATIONS = Path(__file__).with_name("migrations")
_REVISION = re.compile(r'^(down_)?revision(?:: [^=]+)? = (?:"([^"]+)"|None)', re.MULTILINE)


def make_engine(url: str) -> Engine:
    """An engine; SQLite gets a busy timeout and foreign keys so two processes can share one file safely."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        private_file(Path(parsed.database))  # SQLite gives its -wal and -shm files this file's mode
    # How long a statement waits for another process's lock; "?timeout=SECONDS" in the URL changes it.
    busy_timeout = float(str(parsed.query.get("timeout", 30)))
    engine = create_engine(url, connect_args={"timeout": busy_timeout})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # Deleted and overwritten rows are zeroed on disk, so text a purge or an erasure removes does not linger
    # in free pages of the file (docs/data-protection.md).
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def database_exists(url: str) -> bool:
    """Whether there is a database to read without creating one (a SQLite file not yet written is none)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return True
    return parsed.database not in (None, "", ":memory:") and Path(parsed.database).is_file()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(engine: Engine) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to date; safe to call on every start. A database already at the newest revision
    is seen with one SELECT, without importing Alembic (and Mako and Pygments with it: about 12 MB of every
    process's memory and a quarter of a second of its start)."""
    if revision == "head" and recorded_revisions(engine) == [head_revision()]:
        return
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def recorded_revisions(engine: Engine) -> list[str]:
    """The revisions Alembic recorded in the database; none where it never ran."""
    try:
        with engine.connect() as connection:
            return list(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())
    except DBAPIError:  # no such table yet
        return []


@cache
def head_revision() -> str:
    """The newest migration: the one revision no other names as the one it follows (read from the files,
    as Alembic would find it; tests/test_migrations.py checks the two agree)."""
    revisions, follows = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for down, name in _REVISION.findall(path.read_text(encoding="utf-8")):
            (follows if down else revisions).add(name)
    heads = revisions - follows
    if len(heads) != 1:
        raise RuntimeError(f"{MIGRATIONS / 'versions'}: expected one newest migration, found {sorted(heads)}")
    return heads.pop()
