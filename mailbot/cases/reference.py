"""Case references: issuing the next one for a year, and finding one in a subject, body or plus-address."""

from __future__ import annotations

import re
import string

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
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
    """The next reference for the year; the counter row is locked so two processes never share one."""
    locked = select(ReferenceCounter).where(ReferenceCounter.year == year).with_for_update()
    counter = session.execute(locked).scalar_one_or_none()
    if counter is None:  # the year's first case: two workers may both get here, so neither may fail
        session.execute(_insert_once(session).values(year=year, last_seq=0).on_conflict_do_nothing())
        counter = session.execute(locked).scalar_one()
    counter.last_seq += 1
    session.flush()
    return fmt.make(year, counter.last_seq)


def _insert_once(session: Session) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that does nothing where the row is there (ON CONFLICT DO NOTHING), on either database."""
    dialect = session.get_bind().dialect.name
    return postgresql.insert(ReferenceCounter) if dialect == "postgresql" else sqlite.insert(ReferenceCounter)
