"""Benchmark: big mail at the door. Peak memory of one poll that fetches, stores and processes five
complaints with a 30 MB attachment each, and the time one complaint with a 10 MB single-line body takes.
Run by hand on real servers (Dovecot, an SMTP capture server, SQLite or a throwaway PostgreSQL); the numbers
go in the README.

    .venv/bin/python benchmarks/big_mail.py [--attachments 5] [--megabytes 30] [--body-megabytes 10]
                                            [--only sqlite|postgresql]

The poll runs in a child process (``--child``), so the peak resident set size it reports (VmHWM in
/proc/self/status) is the bot's alone: not the test servers', nor what building and delivering the mail took.
The target is under 200 MB for five 30 MB attachments in one poll.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from mailbot.app import build_app  # noqa: E402
from mailbot.config.settings import load_config  # noqa: E402
from mailbot.db.models import Attachment, Case, InboundMessage  # noqa: E402
from mailbot.scheduled import jobs  # noqa: E402
from mailbot.testing import Dovecot, PostgresCluster, SmtpCapture  # noqa: E402

PASSWORD = "secret"
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
roles = ["safeguarding_lead", "lead"]
"""
COMPLAINT = (
    "I want to make a formal complaint about the care my mother receives at home. Her carers have missed "
    "three visits in the last fortnight. The photographs of her care plan are attached.\n"
)


def config_text(database_url: str, directory: Path, imap_port: int, smtp_port: int) -> str:
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
port = {smtp_port}
tls = "none"

[[mailbox]]
name = "complaints"
host = "127.0.0.1"
port = {imap_port}
tls = "none"
username = "complaints"
password_env = "BENCH_IMAP_PASSWORD"
"""


def complaint_with_attachment(n: int, megabytes: int) -> bytes:
    message = EmailMessage()
    message["From"] = f"Relative {n} <relative{n}@example.net>"
    message["To"] = "complaints@riverside.example"
    message["Subject"] = f"Missed visits, photographs attached ({n})"
    message["Message-ID"] = make_msgid(domain="example.net")
    message.set_content(COMPLAINT)
    message.add_attachment(os.urandom(megabytes * 1024 * 1024), "application", "pdf", filename=f"plan{n}.pdf")
    return message.as_bytes()


def complaint_with_long_line(megabytes: int) -> bytes:
    message = EmailMessage()
    message["From"] = "Relative <long.line@example.net>"
    message["To"] = "complaints@riverside.example"
    message["Subject"] = "Missed visits"
    message["Message-ID"] = make_msgid(domain="example.net")
    words = "the carers missed the visit again and nobody rang "
    body = COMPLAINT + words * (megabytes * 1024 * 1024 // len(words)) + "\n"
    message.set_content(body, cte="quoted-printable")  # a line this long cannot travel as 7bit
    return message.as_bytes()


# --- the measured poll, in a child process ----------------------------------------------------------------


def child(config: Path) -> None:
    app = build_app(load_config(config, {"BENCH_IMAP_PASSWORD": PASSWORD}))
    start = time.perf_counter()
    report = jobs.poll_cycle(app)
    seconds = time.perf_counter() - start
    with app.sessions() as session:
        counts = {
            "processed": session.scalar(select(func.count()).where(InboundMessage.state == "processed")),
            "shunted": session.scalar(select(func.count()).where(InboundMessage.state == "shunted")),
            "cases": session.scalar(select(func.count(Case.id))),
            "attachments": session.scalar(select(func.count(Attachment.id))),
        }
    print(json.dumps({"peak_mb": peak_rss_mb(), "seconds": seconds, "errors": report.errors, **counts}))


def peak_rss_mb() -> float:
    """This process's peak resident set size (VmHWM). Not getrusage's ru_maxrss: Linux carries that over
    from the parent through fork and exec, so it reported the parent's size (the mail it had built)."""
    with open("/proc/self/status", encoding="ascii") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024  # kB


def run_child(config: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", str(config)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"the measured poll failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- one run ----------------------------------------------------------------------------------------------


def measure(database_url: str, directory: Path, messages: list[bytes]) -> dict[str, object]:
    with (
        Dovecot(directory / "dovecot", users={"complaints": PASSWORD}) as imap,
        SmtpCapture(outdir=directory / "sent") as smtp,
    ):
        config = directory / "config.toml"
        config.write_text(config_text(database_url, directory, imap.port, smtp.port), encoding="utf-8")
        app = build_app(load_config(config, {"BENCH_IMAP_PASSWORD": PASSWORD}))
        jobs.poll_cycle(app)  # first contact: only notes where intake starts
        app.close()
        for raw in messages:
            imap.deliver(raw)
        result = run_child(config)
        result["sent_bytes"] = sum(len(m.raw) for m in smtp.messages)
        result["sent"] = len(smtp.messages)
        return result


@contextmanager
def databases(backend: str, directory: Path) -> Iterator[Callable[[str], str]]:
    """A fresh database for each measurement, by name."""
    if backend == "sqlite":
        yield lambda name: f"sqlite:///{directory / name}.db"
        return
    with PostgresCluster() as cluster:
        yield cluster.create_database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attachments", type=int, default=5)
    parser.add_argument("--megabytes", type=int, default=30)
    parser.add_argument("--body-megabytes", type=int, default=10)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    for backend in (args.only,) if args.only else ("sqlite", "postgresql"):
        print(f"{backend}:")
        with (
            tempfile.TemporaryDirectory(prefix="mailbot-bench-") as tmp,
            databases(backend, Path(tmp)) as new_database,
        ):
            big = [complaint_with_attachment(n, args.megabytes) for n in range(args.attachments)]
            result = measure(new_database("attachments"), Path(tmp) / "attachments", big)
            del big
            report(f"{args.attachments} x {args.megabytes} MB attachments in one poll", result)
            long_line = [complaint_with_long_line(args.body_megabytes)]
            result = measure(new_database("long_line"), Path(tmp) / "long-line", long_line)
            report(f"one complaint with a {args.body_megabytes} MB single-line body", result)


def report(what: str, result: dict[str, object]) -> None:
    counts = f"{result['processed']} processed, {result['shunted']} shunted"
    sent = f"{result['sent']} mails sent, {int(str(result['sent_bytes'])) / 1e6:.2f} MB in all"
    print(f"  {what}: peak RSS {result['peak_mb']:.0f} MB, {result['seconds']:.1f} s; {counts}; {sent}")


if __name__ == "__main__":
    main()
