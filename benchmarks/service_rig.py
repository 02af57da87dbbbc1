"""What benchmarks/latency.py and benchmarks/workers.py share: a throwaway Dovecot with some mailboxes, an
SMTP server that notes when it accepted each letter, a configuration, and `mailbot run` processes to start
and stop with SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mailbot.testing import Dovecot, SmtpCapture  # noqa: E402
from mailbot.testing.crashes import complaint  # noqa: E402

PASSWORD = "secret"
ENV = {"BENCH_IMAP_PASSWORD": PASSWORD}

CONFIG = """
[organisation]
name = "Riverside Care Trust"
from_address = "complaints@riverside.example"
[database]
url = "{database_url}"
[storage]
directory = "{workdir}/store"
[cases]
policies_dir = "{root}/rules/policies"
templates_dir = "{root}/templates"
classify_rules = "{root}/rules/classify.toml"
[schedule]
poll_interval_seconds = 3600
[smtp]
host = "127.0.0.1"
port = {smtp_port}
tls = "none"
"""
MAILBOX = """
[[mailbox]]
name = "{user}"
host = "127.0.0.1"
port = {port}
tls = "none"
username = "{user}"
password_env = "BENCH_IMAP_PASSWORD"
"""


class StampedSmtp(SmtpCapture):
    """The local SMTP server, noting when (time.monotonic) it accepted a letter for each recipient."""

    def __init__(self, outdir: Path) -> None:
        super().__init__(outdir=outdir)
        self.accepted: dict[str, list[float]] = {}
        self._stamping = threading.Lock()

    def _record(self, mail_from: str, rcpt_tos: tuple[str, ...], raw: bytes, auth_user: str | None) -> int:
        now = time.monotonic()
        with self._stamping:
            for rcpt in rcpt_tos:
                self.accepted.setdefault(rcpt, []).append(now)
        return super()._record(mail_from, rcpt_tos, raw, auth_user)


@dataclass
class Rig:
    workdir: Path
    dovecot: Dovecot
    smtp: StampedSmtp
    database_url: str
    users: tuple[str, ...]
    appended: dict[str, float] = field(default_factory=dict)  # sender -> when its APPEND completed

    @property
    def config(self) -> Path:
        return self.workdir / "config.toml"

    def write_config(self) -> None:
        boxes = "".join(MAILBOX.format(user=u, port=self.dovecot.port) for u in self.users)
        text = CONFIG.format(
            database_url=self.database_url, workdir=self.workdir, root=ROOT, smtp_port=self.smtp.port
        )
        self.config.write_text(text + boxes, encoding="utf-8")

    def append(self, number: int, user: str) -> str:
        """One complaint APPENDed to a mailbox; returns its sender, whose acknowledgement we wait for."""
        sender, raw = complaint(number)
        self.dovecot.deliver(raw, user=user)
        self.appended[sender] = time.monotonic()
        return sender

    def append_many(self, numbers: range, user: str) -> None:
        """Complaints APPENDed one after another on one connection, as fast as the server takes them."""
        with self.dovecot.client(user) as imap:
            for number in numbers:
                sender, raw = complaint(number)
                imap.append("INBOX", raw)
                self.appended[sender] = time.monotonic()

    def acknowledged(self) -> int:
        return sum(1 for sender in self.appended if sender in self.smtp.accepted)

    def duplicates(self) -> int:
        return sum(len(times) - 1 for times in self.smtp.accepted.values() if len(times) > 1)


@contextmanager
def rig(workdir: Path, database_url: str, users: tuple[str, ...]) -> Iterator[Rig]:
    with ExitStack() as stack:
        dovecot = stack.enter_context(Dovecot(workdir / "dovecot", users=dict.fromkeys(users, PASSWORD)))
        smtp = stack.enter_context(StampedSmtp(workdir / "sent"))
        made = Rig(workdir, dovecot, smtp, database_url, users)
        made.write_config()
        yield made


@contextmanager
def running(made: Rig, workers: int = 1) -> Iterator[list[Path]]:
    """``workers`` `mailbot run` processes; yields their log files; SIGTERM on the way out."""
    logs = [made.workdir / f"run{i}.log" for i in range(workers)]
    with ExitStack() as stack:
        outs = [stack.enter_context(log.open("wb")) for log in logs]
        processes = [
            subprocess.Popen(
                [sys.executable, "-m", "mailbot.cli", "--config", str(made.config), "run"],
                cwd=ROOT,
                env={**os.environ, **ENV},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
            for out in outs
        ]
        try:
            yield logs
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                process.wait(timeout=120)


def said(logs: list[Path], words: str) -> int:
    return sum(log.read_text(errors="replace").count(words) for log in logs)


def wait_for(condition: Callable[[], bool], what: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {seconds:g} s waiting for {what}")
        time.sleep(0.02)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]
