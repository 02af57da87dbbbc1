"""Case references: issuing the next one for a year, and finding one in a subject, body or plus-address."""

from __future__ import annotations

import re
import string
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.orm import Session

from mailbot.db.models import ReferenceCounter


class ReferenceFormat:
    """A configured format such as ``CMP-{year}-{seq:04d}`` and the pattern that recognises it in text."""

    def __init__(self, fmt: str) -> None:
        self.fmt = fmt
        self.pattern = re.compile(r"(?<![A-Za-z0-9])" + self._regex() + r"(?![A-Za-z0-9])", re.IGNORECASE)

    def _regex(self) -> str:
        parts = []
        for literal, name, _spec, _conv in string.Formatter().parse(self.fmt):
            parts.append(re.escape(literal))
            if name == "year":
                parts.append(r"\d{4}")
            elif name == "seq":
                parts.append(r"\d{1,9}")
        return "".join(parts)

    def make(self, year: int, seq: int) -> str:
        return self.fmt.format(year=year, seq=seq)

    def find_all(self, text: str) -> list[str]:
        """References in the text, in order, as written (callers compare case-insensitively)."""
        return [m.group(0) for m in self.pattern.finditer(text or "")]


def issue_reference(session: Session, fmt: ReferenceFormat, year: int) -> str:
    """The next reference for the year, in one statement: the counter row is created or incremented by the
    database and the new number returned (no read, then write), so two processes never share one. What is
    pending in the session stays so: the counter depends on none of it, and it goes with the next flush."""
    return fmt.make(year, session.connection().execute(_next_seq(session), {"year": year}).scalar_one())


_NEXT_SEQ: dict[str, Any] = {}  # the statement for each database, built once a process


def _next_seq(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect not in _NEXT_SEQ:
        # Imported here: the PostgreSQL dialect costs a command that never opens a case a quarter of a second.
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        # On the table, not the mapped class: a plain statement, not the ORM's bulk INSERT path.
        counter = ReferenceCounter.__table__
        statement = insert(counter).values(year=bindparam("year"), last_seq=1)
        _NEXT_SEQ[dialect] = statement.on_conflict_do_update(
            index_elements=[counter.c.year], set_={"last_seq": counter.c.last_seq + 1}
        ).returning(counter.c.last_seq)
    return _NEXT_SEQ[dialect]
