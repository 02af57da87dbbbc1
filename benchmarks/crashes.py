"""Benchmark: kill -9 the bot 50+ times at random points, on SQLite and on PostgreSQL, among outages: the SMTP
server stopped, Dovecot stopped, an SMTP server that answers 8 s after the final "." (command timeout 5 s),
the database locked for 45 s (and, on PostgreSQL, every connection terminated), `mailbot run` killed as
well as `poll --once`, and two workers at once. Then count what was lost, sent twice, filed twice, or left
in front of a person. Run by hand; the figures go in the README.

    .venv/bin/python benchmarks/crashes.py [--kills 60] [--only sqlite|postgresql] [--server-files-sent]
                                           [--seed N]

``--server-files-sent`` makes the SMTP server file a copy of what it takes in the Sent folder, as Microsoft
365 and Gmail do, so held letters can be settled from that evidence.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mailbot.testing import Dovecot, PostgresCluster, SmtpCapture  # noqa: E402
from mailbot.testing.crashes import (  # noqa: E402
    Phases,
    Tally,
    bot,
    complaint,
    kill_at,
    measure_phases,
    run_to_the_end,
    tally,
)

PASSWORD = "secret"
ENV = {"CRASH_IMAP_PASSWORD": PASSWORD}
BATCH = 4
SLOW_ANSWER = 8.0  # seconds after the final "." (the figure); the command timeout is 5 s
LOCKED_FOR = 45.0
PENDING = text("SELECT count(*) FROM outbox WHERE state IN ('pending', 'sending')")


@dataclass
class Rig:
    workdir: Path
    dovecot: Dovecot
    smtp: SmtpCapture
    database_url: str
    senders: dict[str, str] = field(default_factory=dict)
    phases: Phases | None = None
    kills: Counter[str] = field(default_factory=Counter)

    @property
    def config(self) -> Path:
        return self.workdir / "config.toml"

    def write_config(self) -> None:
        """Written again whenever Dovecot comes back on a new port."""
        self.config.write_text(CONFIG.format(root=ROOT, rig=self), encoding="utf-8")

    def deliver(self, count: int = BATCH) -> None:
        for _ in range(count):
            number = len(self.senders)
            sender, raw = complaint(number)
            self.dovecot.deliver(raw)
            self.senders[sender] = f"crash-{number}@example.net"

    def kill(self, scenario: str, moment: float, *args: str) -> None:
        self.kills[scenario] += kill_at(self.config, ENV, moment, *args)

    def moment(self, rng: random.Random) -> float:
        assert self.phases is not None
        return self.phases.random_moment(rng)[1]


CONFIG = """
[organisation]
name = "Riverside Care Trust"
from_address = "complaints@riverside.example"
[database]
url = "{rig.database_url}"
[storage]
directory = "{rig.workdir}/store"
[cases]
policies_dir = "{root}/rules/policies"
templates_dir = "{root}/templates"
classify_rules = "{root}/rules/classify.toml"
[schedule]
poll_interval_seconds = 1
flush_interval_seconds = 1
[delivery]
retry_minutes = [1]
[smtp]
host = "127.0.0.1"
port = {rig.smtp.port}
tls = "none"
timeout_seconds = 5
[[mailbox]]
name = "complaints"
host = "127.0.0.1"
port = {rig.dovecot.port}
tls = "none"
username = "complaints"
password_env = "CRASH_IMAP_PASSWORD"
"""


# --- the scenarios: each delivers mail and kills (or troubles) the bot once ----------------------------


def kill_poll(rig: Rig, rng: random.Random) -> None:
    rig.deliver()
    rig.kill("poll --once", rig.moment(rng))


def kill_run(rig: Rig, rng: random.Random) -> None:
    rig.deliver()
    rig.kill("run", rng.uniform(1.0, 8.0), "run")


def two_workers(rig: Rig, rng: random.Random) -> None:
    rig.deliver(2 * BATCH)
    survivor = bot(rig.config, ENV, "poll", "--once")
    rig.kill("one of two workers", rig.moment(rng))
    survivor.communicate(timeout=600)


def smtp_outage(rig: Rig, rng: random.Random) -> None:
    rig.deliver()
    rig.smtp.stop()
    run_to_the_end(rig.config, ENV)  # stored and processed; the letters wait for the server
    rig.smtp.resume()
    rig.kill("after an SMTP outage", rig.moment(rng))


def imap_outage(rig: Rig, rng: random.Random) -> None:
    rig.deliver()
    rig.kill("before an IMAP outage", rig.moment(rng))
    rig.dovecot.stop()
    run_to_the_end(rig.config, ENV)  # what was stored is processed and answered all the same
    rig.dovecot.start()  # on a new port
    rig.write_config()


def slow_smtp(rig: Rig, rng: random.Random) -> None:
    rig.deliver(2)
    rig.smtp.final_reply_delay = SLOW_ANSWER
    assert rig.phases is not None
    delivering = dict((name, start) for name, start, _ in rig.phases.spans)["deliver"]
    rig.kill("while the SMTP server is slow", delivering + rng.uniform(0, 2 * SLOW_ANSWER))
    run_to_the_end(rig.config, ENV)
    rig.smtp.final_reply_delay = 0


def database_trouble(rig: Rig, rng: random.Random) -> None:
    """Locked for 45 s while a poll runs; on PostgreSQL every connection is then terminated mid-run."""
    rig.deliver()
    release = _lock(rig.database_url)
    threading.Timer(LOCKED_FOR, release).start()
    run_to_the_end(rig.config, ENV)
    if rig.database_url.startswith("postgresql"):
        rig.deliver()
        running = bot(rig.config, ENV, "poll", "--once")
        time.sleep(rig.moment(rng))
        _terminate_connections(rig.database_url)
        running.communicate(timeout=600)


def _lock(url: str) -> Callable[[], None]:
    if url.startswith("sqlite"):
        holder = sqlite3.connect(url.removeprefix("sqlite:///"), check_same_thread=False)
        holder.execute("BEGIN IMMEDIATE")
        return holder.close
    engine = create_engine(url)
    connection = engine.connect()
    connection.execute(text("LOCK TABLE inbound_message, outbox IN ACCESS EXCLUSIVE MODE"))

    def release() -> None:
        connection.rollback()
        connection.close()
        engine.dispose()

    return release


def _terminate_connections(url: str) -> None:
    engine = create_engine(url)
    with engine.connect() as connection:
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    engine.dispose()


SCENARIOS = (kill_poll,) * 6 + (kill_run,) * 2 + (two_workers,) * 2 + (smtp_outage, imap_outage, slow_smtp)


# --- one database ----------------------------------------------------------------------------------------


def drain(rig: Rig, patience: float = 300) -> None:
    """Polls left to finish until nothing is waiting for its next attempt (temporary failures wait 1 min)."""
    engine = create_engine(rig.database_url)
    deadline = time.monotonic() + patience
    try:
        while True:
            run_to_the_end(rig.config, ENV)
            with engine.connect() as connection:
                waiting = connection.execute(PENDING).scalar()
            if not waiting or time.monotonic() > deadline:
                return
            time.sleep(10)
    finally:
        engine.dispose()


def run_database(name: str, url: str, kills: int, seed: int, server_files_sent: bool) -> tuple[Tally, Rig]:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix=f"crashes-{name}-") as tmp:
        workdir = Path(tmp)
        with Dovecot(workdir / "dovecot", users={"complaints": PASSWORD}) as dovecot, SmtpCapture() as smtp:
            rig = Rig(workdir, dovecot, smtp, url)
            if server_files_sent:
                smtp.file_copy = lambda raw: _file_in_sent(rig, raw)
            rig.write_config()
            run_to_the_end(rig.config, ENV)  # first contact
            rig.deliver()
            rig.phases = measure_phases(rig.config, ENV)
            print(f"{name}: phases {rig.phases}", flush=True)
            rounds = 0
            while sum(rig.kills.values()) < kills:
                rounds += 1
                scenario = database_trouble if rounds == 5 else rng.choice(SCENARIOS)
                scenario(rig, rng)
                print(f"  round {rounds}: {scenario.__name__}; {sum(rig.kills.values())} kills", flush=True)
            drain(rig)
            return tally(url, smtp, dovecot, rig.senders), rig


def _file_in_sent(rig: Rig, raw: bytes) -> None:
    try:
        rig.dovecot.deliver(raw, folder="Sent")
    except Exception as exc:  # Dovecot stopped: the copy is lost, as a server's would be
        print(f"  (server could not file a copy: {exc})", flush=True)


def report(name: str, result: Tally, rig: Rig, minutes: float) -> str:
    lost = result.not_stored + result.unacknowledged_unseen
    return (
        f"{name}: {sum(rig.kills.values())} kills ({', '.join(f'{k} {n}' for k, n in rig.kills.items())}); "
        f"{result.complaints} complaints; lost {lost}; stored twice {result.stored_twice}; "
        f"acknowledged twice {result.acknowledged_twice}; held {result.held} (of which the server had "
        f"{result.held_yet_delivered}); settled from evidence {result.settled}; Sent copies twice "
        f"{result.sent_copies_twice}; unfiled {result.unfiled}; shunted {result.shunted}; {minutes:.1f} min"
        + "".join(f"\n  {note}" for note in result.notes)
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=60)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--server-files-sent", action="store_true")
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args()
    print(f"seed {args.seed}", flush=True)
    failures = 0
    with tempfile.TemporaryDirectory(prefix="crashes-") as tmp:
        for name in ("sqlite", "postgresql"):
            if args.only not in (None, name):
                continue
            started = time.monotonic()
            with PostgresCluster() if name == "postgresql" else nullcontext() as cluster:
                url = cluster.create_database("crashes") if cluster else f"sqlite:///{tmp}/crashes.db"
                result, rig = run_database(name, url, args.kills, args.seed, args.server_files_sent)
            print(report(name, result, rig, (time.monotonic() - started) / 60), flush=True)
            failures += result.failures
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
