"""This installation's own secret, kept in the database rather than the configuration file."""

from __future__ import annotations

import secrets
import weakref

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from mailbot.db.models import Installation

_ROW = 1
# Read once per engine: the key never changes while a bot runs, and every letter asks for it.
_KNOWN: weakref.WeakKeyDictionary[Engine, bytes] = weakref.WeakKeyDictionary()


def message_id_key(session: Session) -> bytes:
    """The key our outgoing Message-IDs are made with (see ``outgoing_message_id``). Migration 0002 makes
    it; should the row ever be removed a new one is made, which changes only the ids of letters to come."""
    engine = session.get_bind()
    known = _KNOWN.get(engine) if isinstance(engine, Engine) else None
    if known is not None:
        return known
    row = session.get(Installation, _ROW)
    if row is None:
        row = Installation(id=_ROW, message_id_key=secrets.token_hex(32))
        session.add(row)
        session.flush()
        return bytes.fromhex(row.message_id_key)  # not remembered until it is committed
    key = bytes.fromhex(row.message_id_key)
    if isinstance(engine, Engine):
        _KNOWN[engine] = key
    return key
