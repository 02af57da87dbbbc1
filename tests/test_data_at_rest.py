"""Personal data at rest: the SQLite database, its WAL and the attachment store are readable by the service's
own user only, whatever the umask the service starts with."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from mailbot.db.session import make_engine
from mailbot.intake.store import blob_path, save_blob


@pytest.fixture
def open_umask() -> Iterator[None]:
    previous = os.umask(0o022)  # the common default, under which files are created 0644 and folders 0755
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_sqlite_database_and_wal_are_private(tmp_path: Path, open_umask: None) -> None:
    database = tmp_path / "var" / "db" / "mailbot.db"
    engine = make_engine(f"sqlite:///{database}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x TEXT)"))
        connection.execute(text("INSERT INTO t VALUES ('Mum has bruises on her arms')"))
    created = [database, database.with_name("mailbot.db-wal"), database.with_name("mailbot.db-shm")]
    assert all(p.exists() for p in created)
    assert {p.name: mode(p) for p in created} == {p.name: 0o600 for p in created}
    assert mode(database.parent) == 0o700 and mode(database.parent.parent) == 0o700
    engine.dispose()


def test_an_existing_database_left_world_readable_is_made_private(tmp_path: Path, open_umask: None) -> None:
    database = tmp_path / "mailbot.db"
    database.touch(mode=0o644)
    os.chmod(database, 0o644)
    make_engine(f"sqlite:///{database}").dispose()
    assert mode(database) == 0o600


def test_attachment_store_is_private(tmp_path: Path, open_umask: None) -> None:
    store = tmp_path / "storage" / "attachments"
    digest = save_blob(store, b"%PDF-1.4 care plan")
    path = blob_path(store, digest)
    assert path.read_bytes() == b"%PDF-1.4 care plan" and mode(path) == 0o600
    folders = [path.parent, path.parent.parent, store, store.parent]
    assert {str(f): mode(f) for f in folders} == {str(f): 0o700 for f in folders}


def test_a_folder_that_already_exists_is_left_as_it_is(tmp_path: Path, open_umask: None) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    os.chmod(shared, 0o1777)  # like /tmp: must never be narrowed by us
    make_engine(f"sqlite:///{shared / 'mailbot.db'}").dispose()
    assert mode(shared) == 0o1777 and mode(shared / "mailbot.db") == 0o600
