"""Transient database errors, raised for real by SQLite and PostgreSQL, are told from lasting ones; work is
retried through them; and `shunted list` names the real error, not SQLAlchemy's link to its docs."""

from __future__ import annotations

import sqlite3
import traceback
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from mailbot.cli.shunted import error_line
from mailbot.db.session import make_engine
from mailbot.db.transient import DatabaseUnavailable, is_transient, retrying
from mailbot.testing import PostgresCluster


def raised(work) -> BaseException:  # type: ignore[no-untyped-def]
    try:
        work()
    except Exception as exc:
        return exc
    raise AssertionError("expected an error")


def test_a_sqlite_lock_held_by_another_connection_is_transient(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    engine = make_engine(f"sqlite:///{path}?timeout=0.2")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
    holder = sqlite3.connect(path)
    holder.execute("BEGIN IMMEDIATE")  # another process's write transaction
    try:

        def write() -> None:
            with engine.begin() as connection:
                connection.execute(text("INSERT INTO t VALUES (1)"))

        error = raised(write)
    finally:
        holder.rollback()
        holder.close()
        engine.dispose()
    assert "database is locked" in str(error)
    assert is_transient(error)


def test_a_constraint_or_a_missing_table_is_not_transient(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER UNIQUE)"))
        connection.execute(text("INSERT INTO t VALUES (1)"))

    def insert_again() -> None:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO t VALUES (1)"))

    def read_nothing() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT * FROM no_such_table"))

    try:
        assert not is_transient(raised(insert_again))
        assert not is_transient(raised(read_nothing))
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_a_lost_postgresql_connection_and_a_serialisation_failure_are_transient(
    pg_cluster: PostgresCluster,
) -> None:
    engine = make_engine(pg_cluster.create_database("transient_errors"))
    try:
        with engine.connect() as victim, engine.connect() as admin:
            pid = victim.execute(text("SELECT pg_backend_pid()")).scalar()
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            admin.commit()
            lost = raised(lambda: victim.execute(text("SELECT 1")))
        with engine.connect() as connection:
            serialisation = raised(
                lambda: connection.execute(
                    text("DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = 'serialization_failure'; END $$")
                )
            )
            connection.rollback()
            broken = raised(lambda: connection.execute(text("SELECT * FROM no_such_table")))
    finally:
        engine.dispose()
    assert isinstance(lost, DBAPIError) and is_transient(lost)
    assert is_transient(serialisation)
    assert not is_transient(broken)


def test_retrying_waits_through_transient_errors_and_gives_up_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    engine = make_engine(f"sqlite:///{path}?timeout=0.05")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
    holder = sqlite3.connect(path)
    holder.execute("BEGIN IMMEDIATE")
    waits: list[float] = []

    def write() -> int:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO t VALUES (1)"))
        return 1

    def release_after_two(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 2:
            holder.rollback()

    try:
        assert retrying(write, "test write", sleep=release_after_two) == 1
        assert waits == [0.5, 1]
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(DatabaseUnavailable, match=r"test write: the database kept failing: .*locked"):
            retrying(write, "test write", backoff=(0, 0), sleep=lambda _: None)
        with pytest.raises(ZeroDivisionError):  # not the database's: raised at once
            retrying(lambda: 1 // 0, "sum", sleep=lambda _: pytest.fail("no retry expected"))
    finally:
        holder.close()
        engine.dispose()


def test_the_error_line_of_a_sqlalchemy_traceback_is_the_error_not_the_link(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER UNIQUE)"))
    try:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO t VALUES (1)"))
            connection.execute(text("INSERT INTO t VALUES (1)"))
    except IntegrityError:
        shown = traceback.format_exc()
    finally:
        engine.dispose()
    assert shown.strip().splitlines()[-1].startswith("(Background on this error at")
    assert error_line(shown) == (
        "sqlalchemy.exc.IntegrityError: (sqlite3.IntegrityError) UNIQUE constraint failed: t.x"
    )
