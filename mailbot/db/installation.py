"""This installation's own secret, kept in the database rather than the configuration file."""

from __future__ import annotations

import secrets

from sqlalchemy.orm import Session

from mailbot.db.models import Installation

_ROW = 1


def message_id_key(session: Session) -> bytes:
    """The key our outgoing Message-IDs are made with (see ``outgoing_message_id``). Migration 0002 makes
    it; should the row ever be removed a new one is made, which changes only the ids of letters to come."""
    row = session.get(Installation, _ROW)
    if row is None:
        row = Installation(id=_ROW, message_id_key=secrets.token_hex(32))
        session.add(row)
        session.flush()
    return bytes.fromhex(row.message_id_key)
