"""Benchmark: the weekly digest and the twelve-month board report over 100,000 synthetic cases, on SQLite
and on a throwaway PostgreSQL cluster. Run by hand; the numbers go in the README.

    .venv/bin/python benchmarks/digest.py [--cases 100000] [--repeat 5] [--only sqlite|postgresql]

The target is under 2 seconds for each. The synthetic organisation: three years of mail, half of it
complaints (one in ten escalated to stage 2), the rest concerns, compliments and comments; a few hundred
cases open, the rest closed with outcomes; flags on a few per cent.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mailbot.app import App, build_app  # noqa: E402
from mailbot.config.digest import DigestSettings  # noqa: E402
from mailbot.config.settings import load_config  # noqa: E402
from mailbot.db.models import Case, StageRecord  # noqa: E402
from mailbot.scheduled.digest.figures import gather  # noqa: E402
from mailbot.scheduled.digest.letter import leads, render_digest  # noqa: E402
from mailbot.scheduled.digest.week import week_labelled  # noqa: E402
from mailbot.scheduled.report import as_csv, board_report  # noqa: E402
from mailbot.testing import PostgresCluster  # noqa: E402

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # Monday: digest 2026-W49 is due
FIRST_DAY = datetime(2023, 12, 1, tzinfo=UTC)
KINDS = ("complaint",) * 10 + ("concern",) * 3 + ("compliment",) * 4 + ("comment",) * 3
OUTCOMES = ("upheld", "partly upheld", "not upheld")
SERVICES = tuple(f"{kind}, {town}" for kind in ("Home care", "Supported living", "Day service")
                 for town in ("Northwich", "Chester", "Ellesmere Port", "Winsford"))  # fmt: skip
STAFF = """
[staff]
domains = ["riverside.example"]
trusted_authserv_ids = ["mx.riverside.example"]

[[staff.person]]
name = "Priya Shah"
addresses = ["priya.shah@riverside.example"]
roles = ["coordinator"]

[[staff.person]]
name = "Sam Okafor"
addresses = ["sam.okafor@riverside.example"]
roles = ["lead"]
"""


def config_text(database_url: str, directory: Path) -> str:
    return f"""
[organisation]
name = "Riverside Care Trust"
from_address = "complaints@riverside.example"

[database]
url = "{database_url}"

[storage]
directory = "{directory / "store"}"

[cases]
policies_dir = "{ROOT / "rules" / "policies"}"
templates_dir = "{ROOT / "templates"}"
classify_rules = "{ROOT / "rules" / "classify.toml"}"
policy = "lgsco-hos-code"
{STAFF}
[smtp]
host = "127.0.0.1"
port = 2525
tls = "none"

[[mailbox]]
name = "complaints"
host = "127.0.0.1"
port = 1143
tls = "none"
username = "complaints"
password_env = "UNUSED"
"""


def open_app(database_url: str, directory: Path) -> App:
    path = directory / "config.toml"
    path.write_text(config_text(database_url, directory), encoding="utf-8")
    return build_app(load_config(path, {}), clock=lambda: NOW)


# --- synthetic cases --------------------------------------------------------------------------------------


def synthetic_case(n: int, received: datetime, rng: random.Random) -> dict[str, Any]:
    kind = rng.choice(KINDS)
    in_procedure, recent = kind == "complaint", NOW - received < timedelta(days=30)
    status = ("open" if recent and rng.random() < 0.25 else "closed") if in_procedure else "recorded"
    closed = received + timedelta(days=rng.randint(10, 40)) if status == "closed" else None
    return {
        "id": n, "ref": f"CMP-{received.year}-{n:06d}", "kind": kind, "policy": "lgsco-hos-code",
        "stage": "stage1" if in_procedure else "recorded", "status": status, "mailbox": "complaints",
        "subject": "Missed visits", "complainant_name": f"Person {n}",
        "complainant_address": f"p{n}@example.net",
        "coordinator": "priya.shah@riverside.example", "received_at": received,
        "acknowledge_due": (received + timedelta(days=7)).date() if in_procedure else None,
        "acknowledged_at": received + timedelta(hours=rng.choice((2, 30, 200))) if in_procedure else None,
        "response_due": (received + timedelta(days=21)).date() if in_procedure else None,
        "flags": rng.choice([[]] * 30 + [["safeguarding"], ["persistent"], ["elected_member", "lang:cy"]]),
        "outcome": rng.choice(OUTCOMES) if closed else None, "closed_at": closed,
        "service": rng.choice(SERVICES),
        "learning": "Rota reviewed" if closed and rng.random() < 0.5 else None,
        "people_named": [],
    }  # fmt: skip


def stage_records(case: dict[str, Any], rng: random.Random) -> list[dict[str, Any]]:
    if case["kind"] != "complaint":
        return []
    received, closed = case["received_at"], case["closed_at"]
    first = {
        "case_id": case["id"], "stage": "stage1", "started_at": received,
        "acknowledge_due": case["acknowledge_due"], "acknowledged_at": case["acknowledged_at"],
        "respond_due": case["response_due"], "extended_to": None, "extension_agreed": False,
        "responded_at": received + timedelta(days=rng.randint(8, 30)) if closed else None,
        "outcome": case["outcome"],
    }  # fmt: skip
    if not closed or rng.random() > 0.1:
        return [first]
    second = {**first, "stage": "stage2", "started_at": closed - timedelta(days=5),
              "acknowledge_due": (closed - timedelta(days=1)).date(),
              "acknowledged_at": closed - timedelta(days=4),
              "respond_due": (closed + timedelta(days=20)).date(), "responded_at": closed}  # fmt: skip
    return [first, second]


def seed(app: App, count: int) -> None:
    rng = random.Random(2026)
    span = (NOW - FIRST_DAY).total_seconds()
    received = sorted(FIRST_DAY + timedelta(seconds=rng.random() * span) for _ in range(count))
    cases = [synthetic_case(n + 1, when, rng) for n, when in enumerate(received)]
    records = [record for case in cases for record in stage_records(case, rng)]
    with app.sessions.begin() as session:
        for start in range(0, len(cases), 5000):
            session.execute(insert(Case), cases[start : start + 5000])
        for start in range(0, len(records), 5000):
            session.execute(insert(StageRecord), records[start : start + 5000])
    if app.engine.dialect.name == "postgresql":
        with app.engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
    print(f"  seeded {len(cases):,} cases, {len(records):,} stage records, "
          f"{sum(c['status'] == 'open' for c in cases)} open")  # fmt: skip


# --- timing ------------------------------------------------------------------------------------------------


def timed(what: str, run: Callable[[], object], repeat: int) -> float:
    run()  # warm: first-use costs (template compilation, connection) are not the steady state
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - start)
    median = statistics.median(seconds)
    print(f"  {what:<42} median {median:6.3f} s   (best {min(seconds):.3f}, worst {max(seconds):.3f})")
    return median


def digest_once(app: App) -> None:
    settings = DigestSettings()
    week = week_labelled("2026-W49", settings, ZoneInfo(app.config.timezone))
    render_digest(app, gather(app, week, settings), leads(app)[0], settings)


def benchmark(app: App, count: int, repeat: int) -> dict[str, float]:
    seed(app, count)
    year = (date(2025, 12, 1), date(2026, 11, 30))
    return {
        "digest": timed("digest (figures in SQL, rendered)", lambda: digest_once(app), repeat),
        "report": timed("board report, 12 months (CSV)", lambda: as_csv(board_report(app, *year)), repeat),
    }


@contextmanager
def database(backend: str, directory: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{directory / 'bench.db'}"
        return
    with PostgresCluster() as cluster:
        yield cluster.create_database("bench")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args(argv)
    results: dict[str, dict[str, float]] = {}
    for backend in [args.only] if args.only else ["sqlite", "postgresql"]:
        print(f"{backend}:")
        with tempfile.TemporaryDirectory() as tmp, database(backend, Path(tmp)) as url:
            app = open_app(url, Path(tmp))
            try:
                results[backend] = benchmark(app, args.cases, args.repeat)
            finally:
                app.close()
    print(f"\n| {args.cases:,} cases | digest | board report (12 months) |\n| --- | --- | --- |")
    for backend, timing in results.items():
        print(f"| {backend} | {timing['digest']:.2f} s | {timing['report']:.2f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
