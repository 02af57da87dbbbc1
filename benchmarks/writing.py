"""Benchmark: the writing process alone. N mails of benchmarks/ingest.py are fetched from a throwaway Dovecot,
parsed and classified beforehand (as the read-ahead workers would), and then processing (opening the case,
queuing and composing the acknowledgement, one transaction a message), delivery (to aiosmtpd in its own
process) and the mailbox's tidying are timed: wall and CPU a message, and SQL statements a message. Run by
hand; the figures go in the README.

    .venv/bin/python benchmarks/writing.py [--mails 300] [--database sqlite|postgresql] [--profile]
                                           [--workers]

``--profile`` prints cProfile's top functions for each phase; ``--workers`` also prints what the read-ahead
workers' work costs a message in this process: parsing, quote stripping, the chain, the screening.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ingest

from mailbot import ahead, pipeline
from mailbot.app import App, build_app
from mailbot.classify import chain
from mailbot.config.settings import load_config
from mailbot.db.models import InboundRaw
from mailbot.intake.parse import parse_mail
from mailbot.intake.quotes import new_text
from mailbot.scheduled import jobs
from mailbot.testing import Dovecot, PostgresCluster


class Precomputed:
    """A reader whose guesses were all made before the timing starts."""

    def __init__(self, guesses: dict[int, ahead.Guess]) -> None:
        self.guesses = guesses

    def guess(self, inbound_id: int) -> ahead.Guess | None:
        return self.guesses.get(inbound_id)


def guesses(app: App, workers: bool) -> dict[int, ahead.Guess]:
    """What the workers would hand over, for every stored message; with ``workers``, what each step cost."""
    with app.sessions() as session:
        rows = [(i, bytes(raw)) for i, raw in session.execute(select(InboundRaw.inbound_id, InboundRaw.raw))]
    costs = dict.fromkeys(("parse", "quotes", "chain", "screening"), 0.0)
    screen = chain.screen

    def timed_screen(*args, **kwargs):  # type: ignore[no-untyped-def]
        start = time.process_time()
        try:
            return screen(*args, **kwargs)
        finally:
            costs["screening"] += time.process_time() - start

    chain.screen = timed_screen
    made = {}
    try:
        for inbound_id, raw in rows:
            start = time.process_time()
            mail = parse_mail(raw)
            parsed = time.process_time()
            text = new_text(mail)
            stripped = time.process_time()
            verdict = app.classify(mail, None, b"", released=False, save_model=False)
            costs["parse"] += parsed - start
            costs["quotes"] += stripped - parsed
            costs["chain"] += time.process_time() - stripped
            made[inbound_id] = ahead.Guess(mail, text, verdict)
    finally:
        chain.screen = screen
    if workers:
        costs["chain"] -= costs["screening"]
        said = ", ".join(f"{step} {seconds * 1000 / len(rows):.2f} ms" for step, seconds in costs.items())
        print(f"workers' work, CPU a message: {said}")
    return made


def timed(label: str, count: int, statements: list[int], profile: bool, work: Callable[[], object]) -> None:
    """``statements``: the SQL statements and the ORM flushes counted so far (both set to 0 here)."""
    profiler = cProfile.Profile() if profile else None
    statements[:] = [0, 0]
    wall, cpu = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    work()
    if profiler:
        profiler.disable()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    each = f"{statements[0] / count:.1f} statements and {statements[1] / count:.1f} flushes"
    print(f"{label}: {wall * 1000 / count:.2f} ms wall, {cpu * 1000 / count:.2f} ms CPU, {each} a message")
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
        print(out.getvalue())


def _cpu_seconds(pid: int) -> float:
    """A process's CPU time so far (user and system), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'mailbot.db'}"
        return
    cluster = PostgresCluster()
    cluster.start()
    try:
        yield cluster.create_database("writing")
    finally:
        cluster.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=300)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--workers", action="store_true")
    parser.add_argument("--connections", type=int, default=1, help="[smtp] connections (default 1)")
    args = parser.parse_args(argv)
    raws = ingest.mails(args.mails)
    smtp = ingest.SmtpProcess()
    try:
        with tempfile.TemporaryDirectory(prefix="writing-") as tmp, database(args.database, Path(tmp)) as url:
            run(Path(tmp), url, raws, smtp, args)
    finally:
        smtp.stop()
    return 0


def run(
    workdir: Path, url: str, raws: list[bytes], smtp: ingest.SmtpProcess, args: argparse.Namespace
) -> None:
    with Dovecot(workdir / "dovecot", users={"complaints": ingest.PASSWORD}) as dovecot:
        config = workdir / "config.toml"
        config.write_text(ingest.CONFIG.format(url=url, workdir=workdir, root=ingest.ROOT,
                                               smtp_port=smtp.port, imap_port=dovecot.port,
                                               connections=args.connections))  # fmt: skip
        os.environ.update(ingest.ENV)
        app = build_app(load_config(config, dict(os.environ)))
        jobs.poll_cycle(app)  # first contact
        ingest.append_all(dovecot, raws)
        smtp.clear()
        statements, count, report = [0, 0], len(raws), jobs.CycleReport()
        event.listen(
            app.engine, "before_cursor_execute", lambda *_: statements.__setitem__(0, statements[0] + 1)
        )
        event.listen(app.sessions, "after_flush", lambda *_: statements.__setitem__(1, statements[1] + 1))
        fetch = [lambda box=box: jobs.fetch_mailbox(app, box, report) for box in app.config.mailboxes]
        timed("fetch", count, statements, args.profile, lambda: [f() for f in fetch])
        reader = Precomputed(guesses(app, args.workers))

        @contextmanager
        def precomputed(_app: App, _ids: list[int]) -> Iterator[Precomputed]:
            yield reader

        pipeline.reading_ahead = precomputed  # type: ignore[assignment]
        timed("process", count, statements, args.profile, lambda: pipeline.process_pending(app))
        server = _cpu_seconds(smtp.pid)
        timed("deliver", count, statements, args.profile, lambda: jobs.flush(app))
        server = _cpu_seconds(smtp.pid) - server
        print(f"the SMTP server (aiosmtpd) meanwhile: {server * 1000 / count:.2f} ms CPU a letter")
        tidy = [lambda box=box: jobs.tidy_mailbox(app, box, report) for box in app.config.mailboxes]
        timed("tidy", count, statements, args.profile, lambda: [t() for t in tidy])
        print(f"accepted by the SMTP server: {smtp.accepted()} of {count}")
        app.close()


if __name__ == "__main__":
    sys.exit(main())
