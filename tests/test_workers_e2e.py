"""Four `mailbot run` workers on one PostgreSQL over four mailboxes, mail arriving while they share the
mailboxes out: every message stored and processed once, every acknowledgement sent once, and in the end each
worker reads one mailbox."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mailbot.app import App
from mailbot.db.models import Case, InboundMessage, MailboxState, WorkerLease
from mailbot.testing import Dovecot, SmtpCapture
from tests.conftest import ENVIRON, PASSWORD, mailbox_table
from tests.mails import mail
from tests.services import print_log

BOXES = ("box1", "box2", "box3", "box4")
PER_BOX = 10
POSTGRES_ONLY = pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


def wait_for(condition: Callable[[], bool], what: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds:g} s waiting for {what}")
        time.sleep(0.2)


def count(app: App, what: object) -> int:
    with app.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(what)) or 0)  # type: ignore[arg-type]


def readers(app: App) -> dict[str, str]:
    """mailbox lease -> the process (host:pid:start) that holds it."""
    with app.sessions() as session:
        rows = session.execute(
            select(WorkerLease.name, WorkerLease.holder).where(WorkerLease.name.startswith("mailbox:"))
        )
        return {name: ":".join(holder.split(":")[:3]) for name, holder in rows}


def deliver_over_time(four: Dovecot, seconds: float) -> threading.Thread:
    def deliver() -> None:
        for n in range(PER_BOX):
            for box in BOXES:
                four.deliver(mail(sender=f"{box}.{n}@example.net", subject=f"Complaint {n}"), user=box)
            time.sleep(seconds / PER_BOX)

    thread = threading.Thread(target=deliver)
    thread.start()
    return thread


@POSTGRES_ONLY
def test_four_workers_handle_every_message_once_and_share_the_mailboxes(
    make_app: Callable[..., App], smtp_server: SmtpCapture, tmp_path: Path
) -> None:
    with Dovecot(tmp_path / "four", users=dict.fromkeys(BOXES, PASSWORD)) as four:
        # A mail that lands in the moment between a reader's last look and its IDLE is not announced by
        # Dovecot; the reader's renewal, each minute here, finds it within "every acknowledgement"'s wait.
        renewal = "idle_renew_minutes = 1"
        app = make_app(mailboxes="".join(mailbox_table(box, four.port, renewal) for box in BOXES))
        config = app.config.path
        config.write_text(
            config.read_text().replace("[smtp]", "[schedule]\npoll_interval_seconds = 3600\n\n[smtp]")
        )
        logs = [tmp_path / f"worker{i}.log" for i in range(4)]
        with ExitStack() as files:
            outs = [files.enter_context(log.open("wb")) for log in logs]
            workers = [
                subprocess.Popen(
                    [sys.executable, "-m", "mailbot.cli", "--config", str(config), "run"],
                    env={**os.environ, **ENVIRON},
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
                for out in outs
            ]
            try:
                wait_for(
                    lambda: count(app, MailboxState) == len(BOXES), "first contact with each mailbox", 60
                )
                arriving = deliver_over_time(four, seconds=20)  # while the workers share the mailboxes out
                arriving.join()
                total = len(BOXES) * PER_BOX
                wait_for(lambda: len(smtp_server.messages) >= total, "every acknowledgement", 120)
                wait_for(lambda: len(set(readers(app).values())) == 4, "one mailbox for each worker", 90)
                time.sleep(2)  # a duplicate, were one on its way, would arrive meanwhile
            except BaseException:
                for log in logs:
                    print_log(log, log.stem)
                raise
            finally:
                for process in workers:
                    process.send_signal(signal.SIGTERM)
                for process in workers:
                    process.wait(timeout=60)
    said = "\n".join(log.read_text(errors="replace") for log in logs)
    assert [p.returncode for p in workers] == [0, 0, 0, 0], said[-5000:]
    senders = sorted(m.rcpt_tos[0] for m in smtp_server.messages)
    assert senders == sorted(f"{box}.{n}@example.net" for box in BOXES for n in range(PER_BOX))
    with app.sessions() as session:
        states = session.scalars(select(InboundMessage.state)).all()
    assert len(states) == total and set(states) == {"processed"}
    assert count(app, Case) == total
    assert count(app, WorkerLease) == 0  # every worker let its leases go on SIGTERM
