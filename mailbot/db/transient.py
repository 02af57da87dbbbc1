"""Database errors that pass on their own (a lock another process holds, a serialisation failure, a lost
connection), told apart from those that do not, and work retried through them with backoff.

Such an error says nothing about the message being handled: a message that meets one is left as it was and
tried again, never shunted.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from sqlalchemy import exc as sa_exc

from mailbot.errors import MailbotError

log = logging.getLogger(__name__)
T = TypeVar("T")

# PostgreSQL's SQLSTATE classes for conditions that pass: connection exceptions (08), transaction rollbacks
# (40: serialisation failure, deadlock), insufficient resources (53), operator intervention (57: shutdown,
# restart in progress); and lock_not_available (55P03, from lock_timeout or NOWAIT).
TRANSIENT_SQLSTATE_CLASSES = ("08", "40", "53", "57")
TRANSIENT_SQLSTATES = ("55P03",)
# SQLite's "database is locked" (BUSY) and "database table is locked" (LOCKED); extended codes such as
# SQLITE_BUSY_SNAPSHOT keep the primary code in their low byte.
SQLITE_TRANSIENT = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
# The waits between attempts. Each SQLite attempt itself waits up to its busy timeout (30 s) for a lock, so
# together they outlast a lock held for about five minutes; then the work waits for the next cycle.
BACKOFF_SECONDS: tuple[float, ...] = (0.5, 1, 2, 4, 8, 15, 30)


class DatabaseUnavailable(MailbotError):
    """The database kept failing with transient errors; what was being done is left to try again later."""


def is_transient(error: BaseException) -> bool:
    """Whether trying the same work again later may succeed: the error is the database's, not the work's."""
    if isinstance(error, sa_exc.DisconnectionError | sa_exc.TimeoutError):
        return True
    if isinstance(error, sa_exc.DBAPIError):
        return bool(error.connection_invalidated) or _transient_driver_error(error.orig)
    return False


def _transient_driver_error(orig: BaseException | None) -> bool:
    if isinstance(orig, sqlite3.Error):
        code = getattr(orig, "sqlite_errorcode", None)
        return code is not None and code & 0xFF in SQLITE_TRANSIENT
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate:
        return sqlstate[:2] in TRANSIENT_SQLSTATE_CLASSES or sqlstate in TRANSIENT_SQLSTATES
    # psycopg raises OperationalError with no SQLSTATE when the connection itself is lost.
    return orig is not None and any(c.__name__ == "OperationalError" for c in type(orig).__mro__)


def first_line(error: BaseException) -> str:
    """The error in one line: SQLAlchemy adds the statement and a link to its documentation below it."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}"


def retrying(
    work: Callable[[], T],
    what: str,
    backoff: Sequence[float] = BACKOFF_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``work`` (which owns its transaction), again after each transient database error, waiting longer
    each time; DatabaseUnavailable when the waits run out. Any other error is raised as it is."""
    for wait in (*backoff, None):
        try:
            return work()
        except Exception as error:
            if not is_transient(error):
                raise
            if wait is None:
                failing = f"{what}: the database kept failing: {first_line(error)}"
                raise DatabaseUnavailable(failing) from error
            log.warning("%s: %s; trying again in %g s", what, first_line(error), wait)
            sleep(wait)
    raise AssertionError("unreachable")  # the loop returns or raises on its last turn
