"""Letters in waves, one a connection: a wave's letters go through MAIL, RCPT and DATA side by side, their
hand-over is recorded in one commit, then each sends its final ".".

With one connection (the default) a wave is one letter, as delivery always was. With several, a commit and
the SMTP round trips are shared by the wave: on SQLite, with ``synchronous=FULL``, each commit waits for the
disk, and a letter's four round trips wait for the server. A crash between the wave's commit and a letter's
final "." leaves that letter *held* (handed over, answer unknown), never sent again on a guess: the same as
for a single letter, for at most the letters of one wave.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime

from mailbot.db.models import Outbox


def next_wave(pending: list[Outbox], width: int) -> list[Outbox]:
    """Take up to ``width`` letters from the front of ``pending``, in order, stopping before a letter to
    someone already in the wave: letters to one person are never sent side by side, so they arrive in the
    order they were written."""
    wave: list[Outbox] = []
    seen: set[str] = set()
    while pending and len(wave) < width:
        to = {address.lower() for address in pending[0].recipients}
        if seen & to:
            break
        seen |= to
        wave.append(pending.pop(0))
    return wave


class HandOver:
    """The wave's hand-over, recorded once every letter of it has either had its "354" from the server or
    failed before it. ``record`` writes it for the letters given and says when, for each still ours."""

    def __init__(self, ids: Sequence[int], record: Callable[[list[int]], dict[int, datetime]]) -> None:
        self._undecided = set(ids)
        self._ready: list[int] = []
        self._record = record
        self._recorded = asyncio.Event()
        self._at: dict[int, datetime] = {}

    async def ready(self, outbox_id: int) -> datetime | None:
        """Wait for the wave; when this letter was recorded as handed over, or None (called off)."""
        self._undecided.discard(outbox_id)
        self._ready.append(outbox_id)
        self._when_all_decided()
        await self._recorded.wait()
        return self._at.get(outbox_id)

    def finished(self, outbox_id: int) -> None:
        """The letter's attempt is over (sent, refused, or failed before its "354")."""
        self._undecided.discard(outbox_id)
        self._when_all_decided()

    def _when_all_decided(self) -> None:
        if self._undecided or self._recorded.is_set():
            return
        try:
            if self._ready:
                self._at = self._record(self._ready)
        finally:
            self._recorded.set()  # even when recording failed: every letter waiting is then called off
