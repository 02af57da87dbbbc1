"""Benchmark: peak memory (RSS) of one ``poll --once``, run as the CLI, with 10,000 mails waiting in one poll,
and with five mails carrying a 30 MB attachment each; on SQLite. Run by hand; the figures go in the README.

    .venv/bin/python benchmarks/memory.py [--mails 10000] [--large 5] [--large-mb 30] [--only many|large]

The mails are those of benchmarks/ingest.py. The peak is the kernel's (``ru_maxrss`` of the child), and the
run is checked to have acknowledged every mail.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import CONFIG, ENV, PASSWORD, ROOT, SmtpProcess, append_all, mails

from mailbot.testing import Dovecot


def large_mail(number: int, megabytes: int) -> bytes:
    message = EmailMessage()
    message["From"] = f"Relative {number} <large{number}@example.net>"
    message["To"] = "complaints@riverside.example"
    message["Subject"] = f"Complaint with the care records ({number})"
    message["Message-ID"] = f"<large-{number}@example.net>"
    message.set_content("I want to make a formal complaint; the care records are attached.\n")
    payload = random.Random(number).randbytes(megabytes * 1024 * 1024)
    message.add_attachment(payload, maintype="application", subtype="pdf", filename="records.pdf")
    return message.as_bytes()


def poll_peak(config: Path, report_every: float = 30.0) -> tuple[float, float]:
    """(peak RSS in MB, seconds) of one ``mailbot poll --once``; the peak so far is printed as it runs."""
    start = time.perf_counter()
    high_water = config.parent / "poll-vmhwm.txt"
    process = subprocess.Popen(
        [sys.executable, "-c", _POLL_THEN_HIGH_WATER, str(high_water), "--config", str(config), "poll"],
        cwd=ROOT, env={**os.environ, **ENV}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    next_report = report_every
    together = 0.0  # the poll and its read-ahead workers (mailbot.ahead), sampled each second
    while True:
        pid, status, _usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        time.sleep(1)
        together = max(together, _proportional_with_children(process.pid))
        if (elapsed := time.perf_counter() - start) > next_report:
            print(f"  after {elapsed:.0f} s: peak so far {_high_water(process.pid)}", flush=True)
            next_report += report_every
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"poll --once exited {process.returncode}")
    # Not ru_maxrss: Linux carries the parent's resident size over through fork and exec, and this parent
    # holds every mail it built (it reported 475 MB for a poll whose own peak was under 200 MB).
    if together:
        print(f"  with its read-ahead workers: {together:.0f} MB at most (proportional set size, sampled)")
    return int(high_water.read_text().split()[1]) / 1024, time.perf_counter() - start


def _proportional_with_children(pid: int) -> float:
    """MB of memory the poll and its children use, shared pages shared out (Pss): forked workers share
    most of the poll's pages, which their own resident sizes would each count in full."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0.0
    return sum(_pss(int(p)) for p in [pid, *map(int, children)]) / 1024


def _pss(pid: int) -> int:
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:")), 0)


# The poll, run as the CLI runs it, then its own peak resident size (VmHWM) written to the file named first.
_POLL_THEN_HIGH_WATER = """
import sys
from mailbot import cli
out = sys.argv.pop(1)
try:
    status = cli.main(sys.argv[1:])
finally:
    with open("/proc/self/status") as proc, open(out, "w") as written:
        written.write(next(line for line in proc if line.startswith("VmHWM")))
sys.exit(status)
"""


def _high_water(pid: int) -> str:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return "?"
    found = (line.split(":", 1)[1].strip() for line in status.splitlines() if line.startswith("VmHWM"))
    return next(found, "?")


def scenario(name: str, raws: list[bytes], smtp: SmtpProcess, tmp: Path) -> None:
    with Dovecot(tmp / "dovecot", users={"complaints": PASSWORD}) as dovecot:
        config = tmp / "config.toml"
        url = f"sqlite:///{tmp / 'mailbot.db'}"
        config.write_text(
            CONFIG.format(
                url=url, workdir=tmp, root=ROOT, smtp_port=smtp.port, imap_port=dovecot.port, connections=1
            )
        )
        poll_peak(config)  # first contact
        append_all(dovecot, raws)
        smtp.clear()
        peak, seconds = poll_peak(config)
        size = sum(map(len, raws)) / 1024 / 1024
        print(f"{name}: {len(raws):,} mails ({size:,.0f} MB) in one poll: peak RSS {peak:.0f} MB, "
              f"{seconds:.0f} s, {smtp.accepted():,} acknowledgements accepted")  # fmt: skip
        assert smtp.accepted() == len(raws), "not every mail was acknowledged"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=5)
    parser.add_argument("--large-mb", type=int, default=30)
    parser.add_argument("--only", choices=("many", "large"))
    parser.add_argument("--tmp", help="where the servers and the database live (default: the system's)")
    args = parser.parse_args(argv)
    smtp = SmtpProcess()
    try:
        if args.only in (None, "large"):
            with tempfile.TemporaryDirectory(prefix="memory-", dir=args.tmp) as tmp:
                raws = [large_mail(n, args.large_mb) for n in range(args.large)]
                scenario(f"{args.large} x {args.large_mb} MB attachments", raws, smtp, Path(tmp))
        if args.only in (None, "many"):
            with tempfile.TemporaryDirectory(prefix="memory-", dir=args.tmp) as tmp:
                scenario("many mails", mails(args.mails), smtp, Path(tmp))
    finally:
        smtp.stop()
    print(f"(this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
