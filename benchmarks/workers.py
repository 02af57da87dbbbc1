"""Benchmark: 1, 2 and 4 `mailbot run` workers on one PostgreSQL over four mailboxes. Once the workers have
shared the mailboxes out, mail is APPENDed to the four at once (one connection each); throughput is mails
over the time from the first APPEND to the last acknowledgement accepted by the local SMTP server;
duplicates are acknowledgements accepted more than once, messages stored twice and cases opened twice (all
should be 0). Also the workers' CPU time (start-up included). Run by hand; the figures go in the README.

    .venv/bin/python benchmarks/workers.py [--mails 200] [--workers 1 2 4]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import threading
import time
from pathlib import Path

from service_rig import Rig, rig, running, said, wait_for
from sqlalchemy import create_engine, text

from mailbot.testing import PostgresCluster

BOXES = ("box1", "box2", "box3", "box4")
TALLY = text(
    "SELECT (SELECT count(*) FROM inbound_message),"
    " (SELECT count(DISTINCT (mailbox, uid)) FROM inbound_message),"
    " (SELECT count(*) FROM inbound_message WHERE state = 'processed'), (SELECT count(*) FROM \"case\")"
)
READERS = text(
    "SELECT count(DISTINCT split_part(holder, ':', 2)) FROM worker_lease WHERE name LIKE 'mailbox:%'"
)


def measure(made: Rig, workers: int, mails: int) -> str:
    engine = create_engine(made.database_url)
    cpu_before = _children_cpu()
    try:
        with running(made, workers) as logs:
            wait_for(
                lambda: said(logs, "first contact") == len(BOXES), "first contact with every mailbox", 180
            )
            wait_for(
                lambda: _scalar(engine, READERS) == min(workers, len(BOXES)), "the mailboxes shared", 180
            )
            start = time.monotonic()
            appending = [
                threading.Thread(target=made.append_many, args=(range(i, mails, len(BOXES)), box))
                for i, box in enumerate(BOXES)
            ]
            for thread in appending:
                thread.start()
            for thread in appending:
                thread.join()
            appended = time.monotonic() - start
            wait_for(lambda: made.acknowledged() == mails, "every acknowledgement", 600)
            last = max(times[0] for times in made.smtp.accepted.values())
            time.sleep(3)  # a duplicate, were one on its way, would arrive meanwhile
        with engine.connect() as connection:
            stored, distinct, processed, cases = connection.execute(TALLY).one()
    finally:
        engine.dispose()
    cpu = _children_cpu() - cpu_before  # the workers' CPU, start-up and waiting included
    twice = made.duplicates() + (stored - distinct) + (cases - mails)
    return (
        f"{workers} worker(s): {mails} mails (APPENDed in {appended:.1f} s) in {last - start:.1f} s = "
        f"{mails / (last - start):.1f} msg/s; "
        f"processed {processed}/{stored}, {cases} cases; duplicates {twice}; workers' CPU {cpu:.0f} s"
    )


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _scalar(engine, query) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        return int(connection.execute(query).scalar() or 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mails", type=int, default=200)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--keep", type=Path, help="a folder to keep the servers' and workers' logs in")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mailbot-workers-") as tmp:
        workdir = args.keep or Path(tmp)
        with PostgresCluster() as cluster:
            for run, workers in enumerate(args.workers):  # e.g. --workers 1 2 4 1 2 4 to interleave
                url = cluster.create_database(f"run{run}_workers{workers}")
                with rig(workdir / f"run{run}", url, BOXES) as made:
                    print(measure(made, workers, args.mails), flush=True)


if __name__ == "__main__":
    main()
