"""Benchmark: how soon a complainant hears back with `mailbot run` waiting on IMAP IDLE. Mails are APPENDed to
a throwaway Dovecot at random intervals; for each, the time from the APPEND's completion to the local SMTP
server accepting its acknowledgement. Run by hand; the figures go in the README.

    .venv/bin/python benchmarks/latency.py [--mails 50] [--mean-gap 2.0] [--seed 1]
        [--database sqlite|postgresql]

The poll interval is an hour, so every acknowledgement within it came by IDLE.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from service_rig import percentile, rig, running, said, wait_for

from mailbot.testing import PostgresCluster


def measure(workdir: Path, database_url: str, mails: int, mean_gap: float, seed: int) -> list[float]:
    rng = random.Random(seed)
    with rig(workdir, database_url, ("complaints",)) as made, running(made) as logs:
        wait_for(lambda: said(logs, "waiting for mail with IDLE") > 0, "`mailbot run` to begin IDLE", 120)
        for number in range(mails):
            time.sleep(rng.expovariate(1 / mean_gap))
            made.append(number, "complaints")
        wait_for(lambda: made.acknowledged() == mails, "every acknowledgement", 120)
        time.sleep(2)
        assert made.duplicates() == 0, f"{made.duplicates()} acknowledgement(s) sent twice"
        return [made.smtp.accepted[sender][0] - at for sender, at in made.appended.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mails", type=int, default=50)
    parser.add_argument(
        "--mean-gap", type=float, default=2.0, help="mean seconds between mails (exponential)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mailbot-latency-") as tmp:
        workdir = Path(tmp)
        if args.database == "postgresql":
            with PostgresCluster() as cluster:
                url = cluster.create_database("latency")
                took = measure(workdir, url, args.mails, args.mean_gap, args.seed)
        else:
            took = measure(
                workdir, f"sqlite:///{workdir / 'mailbot.db'}", args.mails, args.mean_gap, args.seed
            )
    print(
        f"{args.database}: {len(took)} mails, mean gap {args.mean_gap:g} s: APPEND -> acknowledgement "
        f"accepted p50 {statistics.median(took):.2f} s, p95 {percentile(took, 0.95):.2f} s, "
        f"max {max(took):.2f} s"
    )


if __name__ == "__main__":
    main()
