"""Reading ahead: the next messages parsed and classified in other processes while this one writes the
current one to the database, so that a batch uses every CPU the host has.

Parsing and classifying are pure (bytes in, verdict out) and cost most of a message's CPU time; the
database work stays here, one transaction per message, in order. A guess is only a head start: it is
used when what it assumed still holds (the mail threads into no case, it was not released from
quarantine, no rspamd is asked), and whatever goes wrong with it (a worker dies, a mail cannot be parsed
there) leaves the message to be parsed and classified here, as without reading ahead. Nothing is written
by the workers, so a crash loses nothing that was not lost before.
"""

from __future__ import annotations

import ctypes
import importlib
import logging
import multiprocessing
import os
import signal
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from sqlalchemy import func, select

from mailbot.app import App
from mailbot.classify import Classification
from mailbot.classify.kind_model import KindModel
from mailbot.classify.mail_words import prepare_scan
from mailbot.db.models import InboundMessage, InboundRaw
from mailbot.intake.parse import ParsedMail, parse_mail
from mailbot.intake.quotes import new_text

log = logging.getLogger(__name__)

WORTH_IT = 8  # messages waiting before workers are started: forking costs about as much as one message
WINDOW = 6  # messages handed to each worker ahead of the one being written: bounded memory
LARGEST = 512 * 1024  # bytes; a bigger message is read here, a piece at a time, as without reading ahead
MAX_WORKERS = 4
WAIT_SECONDS = 30.0  # for one guess; then this message and the rest of the batch are done here


@dataclass(frozen=True)
class Guess:
    """A mail parsed, its new text (without what it quotes) and its verdict as new mail (threading into no
    case)."""

    mail: ParsedMail
    text: str
    verdict: Classification


def worker_count() -> int:
    """Every CPU: the workers and this process take turns, the workers doing most of the CPU work."""
    return min(MAX_WORKERS, os.cpu_count() or 1)


def may_read_ahead(app: App, waiting: int) -> bool:
    # A local rspamd is asked with the raw bytes from this process; the guesses assume no such verdict.
    return waiting >= WORTH_IT and worker_count() > 1 and not app.config.spam.rspamd_url


_app: App | None = None  # the forked workers' copy of the bot: rules, screening, kind model
_forked_by = 0  # the process the workers were forked from
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _start_worker() -> None:
    """A worker dies with the process that forked it: one killed with kill -9 would otherwise leave its
    workers waiting for work for ever, holding its pipes (and its caller waiting on them) open."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the bot, which stops its workers itself
    with suppress(OSError, AttributeError):  # not Linux: the worker notices at its next message instead
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if _orphaned():  # the parent died before the prctl took effect
        os._exit(1)
    if _app is not None:  # the parent's pooled connections are its own: never used or closed from here
        _app.engine.dispose(close=False)


def _prepare(app: App, model: KindModel | None) -> None:
    """Done here, once, what every worker would otherwise do for itself at its first mails of every batch
    (the forked copies share it): the models' weight arrays (importing numpy), pypdf, which reads a PDF's
    text for the screening (some 0.1 s of CPU each), and the scan of the strings classify.toml's patterns
    need."""
    if app.screening.backstop is not None:
        app.screening.backstop.prepare()
    if model is not None:
        model.prepare()
    with suppress(ImportError):
        importlib.import_module("pypdf")  # imported only when first needed (attachment_text.py)
    prepare_scan()


def _orphaned() -> bool:
    return os.getppid() != _forked_by


def _guess(raw: bytes) -> Guess:
    assert _app is not None
    if _orphaned():
        os._exit(1)
    mail = parse_mail(raw)
    verdict = _app.classify(mail, None, b"", released=False, save_model=False)
    return Guess(mail, new_text(mail), verdict)


class Reader:
    """Guesses for the messages of ``ids``, asked for in order; at most WINDOW per worker in flight."""

    def __init__(self, app: App, ids: list[int], pool: ProcessPoolExecutor, workers: int) -> None:
        self._app, self._ids, self._pool = app, ids, pool
        self._next, self._limit = 0, WINDOW * workers
        self._pending: dict[int, Future[Guess]] = {}
        self.broken = False

    def guess(self, inbound_id: int) -> Guess | None:
        """The guess for this message, or None: this process parses and classifies it itself."""
        self._fill(inbound_id)
        future = self._pending.pop(inbound_id, None)
        if future is None or self.broken:
            return None
        try:
            return future.result(timeout=WAIT_SECONDS)
        except (BrokenProcessPool, TimeoutError) as exc:
            self.broken = True
            log.warning("reading ahead stopped (%s): messages are parsed and classified here", exc or "stuck")
        except Exception as exc:  # the message fails here too, if it must, and is shunted with the error
            log.debug("message %s: no guess (%s)", inbound_id, exc)
        return None

    def _fill(self, current: int) -> None:
        """Hand the workers the next messages up to the window: their bytes read in one statement."""
        if self.broken:
            return
        while self._next < len(self._ids) and self._ids[self._next] < current:
            self._next += 1  # passed over (already taken, or given to nobody): never handed out
        room = self._limit - len(self._pending)
        if room < self._limit // 2:
            return  # hand out in batches, not one statement per message
        wanted = self._ids[self._next : self._next + room]
        self._next += len(wanted)
        for inbound_id, raw in self._small_raws(wanted):
            try:
                self._pending[inbound_id] = self._pool.submit(_guess, raw)
            except BrokenProcessPool:
                self.broken = True
                return

    def _small_raws(self, ids: list[int]) -> list[tuple[int, bytes]]:
        if not ids:
            return []
        with self._app.sessions() as session:
            rows = session.execute(
                select(InboundRaw.inbound_id, InboundRaw.raw)
                .join(InboundMessage, InboundMessage.id == InboundRaw.inbound_id)
                .where(InboundRaw.inbound_id.in_(ids), InboundMessage.released_at.is_(None))
                .where(func.length(InboundRaw.raw) <= LARGEST)
            )
            return [(inbound_id, bytes(raw)) for inbound_id, raw in rows]


@contextmanager
def reading_ahead(app: App, ids: list[int]) -> Iterator[Reader | None]:
    """Workers forked from this process (they share its rules and model as they are now) for the batch;
    None when the batch is too small, the host has one CPU, or workers cannot be started."""
    if not may_read_ahead(app, len(ids)):
        yield None
        return
    global _app, _forked_by
    # The kind model is looked at here, once for the batch: the workers never open the database.
    model = app.learner.model() if app.learner is not None else None
    _app, _forked_by = app, os.getpid()
    _prepare(app, model)
    workers = worker_count()
    try:
        pool = ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("fork"), initializer=_start_worker
        )
    except (OSError, ValueError) as exc:
        log.warning("reading ahead not started (%s)", exc)
        yield None
        return
    reader = Reader(app, ids, pool, workers)
    try:
        yield reader
    finally:
        if reader.broken:  # a worker may be stuck: it is not waited for
            for pid in list(getattr(pool, "_processes", None) or {}):
                _kill(pool, pid)
        pool.shutdown(wait=not reader.broken, cancel_futures=True)
        _app = None


def _kill(pool: ProcessPoolExecutor, pid: int) -> None:
    """The executor has no public way to stop a worker before Python 3.14 (``terminate_workers``)."""
    process = pool._processes.get(pid)  # type: ignore[attr-defined]
    if process is not None:
        process.kill()
