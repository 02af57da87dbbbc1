"""A progress bar for long work on a terminal (``import`` of a backlog, a big poll): how many of the messages
fetched have been processed, read from the database beside the work, so the work itself needs no hooks.
Nothing is drawn when stderr is not a terminal (a service, a pipe, a log file) or the work is small."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mailbot.app import App

WORTH_A_BAR = 20  # fewer messages than this take a few seconds: no bar
EVERY_SECONDS = 0.5


@contextmanager
def processing_progress(app: App, what: str, interactive: bool | None = None) -> Iterator[None]:
    """Show a bar while the block runs, if stderr is a terminal (``interactive`` overrides, for tests)."""
    if not (sys.stderr.isatty() if interactive is None else interactive):
        yield
        return
    stop = threading.Event()
    watcher = threading.Thread(target=_watch, args=(app, app.clock(), what, stop), daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join()


def counted(what: str, interactive: bool | None = None) -> Callable[[Sequence], Iterable]:  # type: ignore[type-arg]
    """A walk over a known list of items with a bar (``eval`` over a labelled set), on a terminal only."""

    def each(items: Sequence) -> Iterable:  # type: ignore[type-arg]
        if not (sys.stderr.isatty() if interactive is None else interactive) or len(items) < WORTH_A_BAR:
            return items
        from tqdm import tqdm

        return tqdm(items, desc=what, unit="mail", file=sys.stderr, leave=False)

    return each


def _watch(app: App, since: datetime, what: str, stop: threading.Event) -> None:
    from tqdm import tqdm

    bar = None
    while True:  # a first look at once: a backlog that is quick to process still shows its bar
        done, left = processed_and_waiting(app, since)
        if bar is None and done + left >= WORTH_A_BAR:
            bar = tqdm(total=done + left, desc=what, unit="message", file=sys.stderr, leave=False)
        if bar is not None:
            bar.total, bar.n = done + left, done
            bar.refresh()
        if stop.wait(EVERY_SECONDS):
            break
    if bar is not None:
        bar.close()


def processed_and_waiting(app: App, since: datetime) -> tuple[int, int]:
    """Messages processed (or shunted) since the work began, and those fetched and still waiting."""
    from sqlalchemy import func, select

    from mailbot.db.models import InboundMessage
    from mailbot.vocabulary import InboundState

    with app.sessions() as session:
        done = session.scalar(
            select(func.count()).where(
                InboundMessage.processed_at >= since, InboundMessage.state != InboundState.FETCHED
            )
        )
        left = session.scalar(select(func.count()).where(InboundMessage.state == InboundState.FETCHED))
    return done or 0, left or 0
