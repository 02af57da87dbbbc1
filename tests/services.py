"""`mailbot run` as a service in its own process, for the end-to-end tests: its log in a file the test reads
while it runs and prints when it fails, and waits for conditions instead of fixed sleeps."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from mailbot.app import App
from mailbot.scheduled.idle import STOP_WAIT_SECONDS
from mailbot.testing import Dovecot
from tests.conftest import ENVIRON


class Service:
    """A `mailbot run` process whose log is written to a file the test can read while it runs."""

    def __init__(self, process: subprocess.Popen[bytes], log: Path) -> None:
        self.process, self.log = process, log

    def said(self, words: str) -> bool:
        return words in self.log.read_text(errors="replace")


@contextmanager
def running(config: Path, log: Path, *options: str) -> Iterator[Service]:
    """``mailbot [OPTIONS] run``, stopped with SIGTERM at the end; its log is printed if the test fails."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "mailbot.cli", "--config", str(config), *options, "run"],
            env={**os.environ, **ENVIRON}, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        service = Service(process, log)
        try:
            yield service
        except BaseException:
            print_log(log, "the service")
            raise
        finally:
            process.send_signal(signal.SIGTERM)
            _stopped(process, log)
    assert process.returncode == 0, log.read_text()
    assert "stopping" in log.read_text()


def _stopped(process: subprocess.Popen[bytes], log: Path) -> None:
    """On SIGTERM each mailbox reader may finish what it is doing for up to STOP_WAIT_SECONDS, so that is
    waited for, and more; a service that has not stopped by then is killed and its log shown."""
    try:
        process.wait(timeout=STOP_WAIT_SECONDS + 30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError(
            f"did not stop on SIGTERM; its log:\n{log.read_text(errors='replace')}"
        ) from None


def print_log(log: Path, whose: str) -> None:
    """Shown by pytest with a failing test's output."""
    print(f"--- {whose}'s log ({log}) ---\n{log.read_text(errors='replace')}")


def with_schedule(app: App, poll_seconds: int, more: str = "") -> Path:
    """The app's config file with ``[schedule] poll_interval_seconds`` (and ``more`` tables) added."""
    config = app.config.path
    schedule = f"[schedule]\npoll_interval_seconds = {poll_seconds}\n\n{more}[smtp]"
    config.write_text(config.read_text().replace("[smtp]", schedule, 1))
    return config


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 30, every: float = 0.05) -> float:
    """Seconds it took for ``condition`` (asked ``every`` so many seconds) to hold."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > seconds:
            raise AssertionError(f"timed out after {seconds:g} s waiting for {what}")
        time.sleep(every)
    return time.monotonic() - start


def wait_until_idling(dovecot: Dovecot, user: str = "complaints", seconds: float = 30) -> None:
    """Until the reader of ``user`` waits in IDLE on the server: Dovecot does not announce a mail that lands
    between a client's last command and its IDLE (the reader's renewal finds it, minutes later), so a test
    delivers once the reader is back in IDLE, as a person's mail arrives, not in that moment."""
    wait_for(lambda: dovecot.idling(user) == 1, f"{user}'s reader to wait in IDLE", seconds)
