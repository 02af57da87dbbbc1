"""Benchmark: the retention purge over 100,000 synthetic cases (those of benchmarks/digest.py: three years of
mail), on SQLite and on a throwaway PostgreSQL cluster. Run by hand; the numbers go in the README.

    .venv/bin/python benchmarks/purge.py [--cases 100000] [--only sqlite|postgresql]

Times the plan (``privacy purge --dry-run``) over every case, and the purge a monthly run does in the steady
state: the cases whose six years ran out in the month before it. The oldest tenth of the cases (those a run
can reach) carry mail as real cases do: the complaint as received (3 KB), its text and the acknowledgement's,
the acknowledgement as sent (3 KB), and five audit entries. Checks that the twelve-month board report for
the first year is the same before and after.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from dateutil.relativedelta import relativedelta
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))

from digest import FIRST_DAY, database, open_app, seed

from mailbot.app import App
from mailbot.db.models import Case, CaseEvent, Correspondence, InboundMessage, Outbox
from mailbot.privacy.purge import run_purge
from mailbot.scheduled.report import as_csv, board_report

# A monthly run: six years and two months after the first mail, when about a month of closures (cases close
# 10 to 40 days after they arrive) has passed its six years.
PURGE_AT = FIRST_DAY + relativedelta(years=6, months=2)


RAW = b"Received: from mx\r\nFrom: someone@example.net\r\nSubject: Missed visits\r\n\r\n" + b"x" * 3000
TEXT = "Dear Sir or Madam, my mother's carers missed three visits this fortnight. " * 10
EVENTS = (
    ("{person}", "opened", "complaint under policy lgsco-hos-code"),
    ("mailbot", "acknowledgement queued", "to {person}"),
    ("mailbot", "acknowledged", "response due 2024-01-05"),
    ("priya.shah@riverside.example", "note", "Called the family; they are happy with the plan."),
    ("priya.shah@riverside.example", "outcome", "Stage 1: upheld"),
)


def seed_mail(app: App) -> int:
    """Mail on the oldest tenth of the cases, written in bulk."""
    with app.sessions.begin() as session:
        rows = session.execute(select(Case.id, Case.received_at).order_by(Case.id)).all()
        oldest = [(case_id, at) for case_id, at in rows[: len(rows) // 10]]
        for start in range(0, len(oldest), 2000):
            _mail_for(session, oldest[start : start + 2000])
    return len(oldest)


def _mail_for(session: Session, cases: list[tuple[int, datetime]]) -> None:
    session.execute(insert(InboundMessage), [
        {"id": cid, "mailbox": "complaints", "folder": "INBOX", "uidvalidity": 1, "uid": cid,
         "message_id": f"m{cid}@example.net", "sha256": f"{cid:064d}", "raw": RAW, "received_at": at,
         "fetched_at": at, "state": "processed", "send_allowed": True, "case_id": cid} for cid, at in cases
    ])  # fmt: skip
    session.execute(insert(Outbox), [
        {"id": cid, "message_id": f"ack{cid}@riverside.example", "purpose": "acknowledgement",
         "automatic": True, "case_id": cid, "mailbox": "complaints", "sender": "complaints@riverside.example",
         "recipients": [f"p{cid}@example.net"], "recipient": f"p{cid}@example.net", "raw": RAW,
         "state": "sent", "attempts": 1, "created_at": at, "next_attempt_at": at, "deliver_until": at,
         "sent_at": at}
        for cid, at in cases
    ])  # fmt: skip
    session.execute(insert(Correspondence), [
        {"case_id": cid, "direction": direction, "kind": kind, "from_address": f"p{cid}@example.net",
         "to_addresses": ["complaints@riverside.example"], "subject": "Missed visits", "date": at,
         "new_text": TEXT, "references": [], "inbound_id": cid if direction == "in" else None,
         "outbox_id": cid if direction == "out" else None}
        for cid, at in cases for direction, kind in (("in", "complaint"), ("out", "acknowledgement"))
    ])  # fmt: skip
    session.execute(insert(CaseEvent), [
        {"case_id": cid, "at": at + timedelta(minutes=n), "actor": actor.format(person=f"p{cid}@example.net"),
         "action": action, "detail": detail.format(person=f"p{cid}@example.net")}
        for cid, at in cases for n, (actor, action, detail) in enumerate(EVENTS)
    ])  # fmt: skip


def benchmark(url: str, directory: Path, count: int) -> dict[str, float]:
    app = open_app(url, directory)
    try:
        seed(app, count)
        print(f"  mail on the oldest {seed_mail(app):,} cases")
        app.clock = lambda: PURGE_AT
        first_year = (date(2023, 12, 1), date(2024, 11, 30))
        before = as_csv(board_report(app, *first_year))
        start = time.perf_counter()
        plan = run_purge(app, dry_run=True).plan
        planned = time.perf_counter() - start
        start = time.perf_counter()
        done = run_purge(app)
        purged = time.perf_counter() - start
        assert as_csv(board_report(app, *first_year)) == before, "the board report changed"
    finally:
        app.close()
    print(f"  plan over {count:,} cases: {planned:.2f} s; purge of {len(done.removed.cases):,} cases "
          f"({len(plan.cases):,} due): {purged:.2f} s; board report unchanged")  # fmt: skip
    return {"plan": planned, "purge": purged, "cases": len(done.removed.cases)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args(argv)
    results = {}
    for backend in [args.only] if args.only else ["sqlite", "postgresql"]:
        print(f"{backend}:")
        with tempfile.TemporaryDirectory() as tmp, database(backend, Path(tmp)) as url:
            results[backend] = benchmark(url, Path(tmp), args.cases)
    print(f"\n| {args.cases:,} cases | plan (dry run) | monthly purge |\n| --- | --- | --- |")
    for backend, r in results.items():
        print(f"| {backend} | {r['plan']:.2f} s | {r['purge']:.2f} s ({r['cases']:,} cases) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
