"""Benchmark: filing Sent copies in a throwaway Dovecot, one APPEND a copy against MULTIAPPEND (RFC 3502) in
commands of 50, as outgoing/sent_folder.py files them. Run by hand; the figures go in the README.

    .venv/bin/python benchmarks/sent_copies.py [--copies 100]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from ingest import PASSWORD, mails

from mailbot.outgoing.sent_folder import FILING_BATCH, SEEN
from mailbot.testing import Dovecot


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=100)
    args = parser.parse_args(argv)
    copies = mails(2 * args.copies)
    with (
        tempfile.TemporaryDirectory() as tmp,
        Dovecot(Path(tmp) / "dovecot", users={"complaints": PASSWORD}) as dv,
        dv.client() as imap,
    ):
        imap.create_folder("One")
        imap.create_folder("Many")
        start = time.perf_counter()
        for raw in copies[: args.copies]:
            imap.append("One", raw, flags=[SEEN], msg_time=datetime.now(UTC))
        one = time.perf_counter() - start
        start = time.perf_counter()
        rest = copies[args.copies :]
        for at in range(0, len(rest), FILING_BATCH):
            batch = rest[at : at + FILING_BATCH]
            imap.multiappend(
                "Many", [{"msg": raw, "flags": [SEEN], "date": datetime.now(UTC)} for raw in batch]
            )
        many = time.perf_counter() - start
    print(f"{args.copies} copies: one APPEND each {one * 1000 / args.copies:.2f} ms a copy; "
          f"MULTIAPPEND of {FILING_BATCH} {many * 1000 / args.copies:.2f} ms a copy")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
