"""Exactly once: a scheduled notice or a weekly digest is queued under a key in ``sent_notice``, claimed in
the same transaction as its outbox rows, so a restart, a second runner or a catch-up never sends it twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from mailbot.db.models import SentNotice

# Well under every database's limit on bound parameters in one statement.
KEYS_PER_QUERY = 500


def already_claimed(session: Session, keys: Iterable[str]) -> set[str]:
    """Those of ``keys`` already in ``sent_notice``: a cheap look before any letter is rendered."""
    wanted = list(dict.fromkeys(keys))
    found: set[str] = set()
    for start in range(0, len(wanted), KEYS_PER_QUERY):
        chunk = wanted[start : start + KEYS_PER_QUERY]
        found |= set(session.scalars(select(SentNotice.key).where(SentNotice.key.in_(chunk))))
    return found


def claim(session: Session, key: str, at: datetime) -> SentNotice:
    """Insert the key as the transaction's first statement: a second runner claiming it waits here until the
    first commits, then fails with IntegrityError on the unique key."""
    notice = SentNotice(key=key, at=at)
    session.add(notice)
    session.flush()
    return notice


def send_once(
    sessions: sessionmaker[Session], key: str, at: datetime, queue: Callable[[Session], int | None]
) -> bool:
    """Claim ``key`` and run ``queue`` (which returns the outbox row's id, if any) in one transaction; False
    when the key was claimed before, and then nothing is queued.

    The claim owns its transaction rather than joining the caller's: catching the IntegrityError inside a
    SAVEPOINT would do, except that on SQLite (pysqlite) a SAVEPOINT that opens the transaction is committed
    by its RELEASE, which would commit the key apart from its outbox rows.
    """
    try:
        with sessions.begin() as session:
            notice = claim(session, key, at)
            notice.outbox_id = queue(session)
    except IntegrityError:
        return False
    return True
