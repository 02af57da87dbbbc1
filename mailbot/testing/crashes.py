"""kill -9 at random moments: the bot run as ``mailbot poll --once`` (or ``run``) in a subprocess against the
throwaway servers, killed part-way through a phase chosen at random from measured phase timings, and a tally
of what it left behind: messages stored, acknowledgements the SMTP server took, letters held, Sent copies.

Used by ``tests/test_crashes.py`` (a few kills, in the suite) and ``benchmarks/crashes.py`` (many, with
outages, a slow server, a locked database and two workers at once).
"""

from __future__ import annotations

import email.parser
import email.policy
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from sqlalchemy import create_engine, text

from mailbot.testing.dovecot import Dovecot
from mailbot.testing.smtp import SmtpCapture

ROOT = Path(__file__).resolve().parents[2]
# The log line that opens each phase of a cycle (scheduled/jobs.py), in the order a cycle runs them.
PHASE_MARKS = (
    ("fetch", ": fetching"),
    ("process", "processing stored messages"),
    ("deliver", "delivering the outbox"),
    ("tidy", ": marking and filing"),
)
_HEADERS = email.parser.BytesHeaderParser(policy=email.policy.compat32)


def complaint(number: int) -> tuple[str, bytes]:
    """A complaint from its own sender, with a Message-ID the tally can find: (sender, raw)."""
    sender = f"relative{number:04d}@example.net"
    message = EmailMessage()
    message["From"] = f"Relative {number} <{sender}>"
    message["To"] = "complaints@riverside.example"
    message["Subject"] = f"Missed visits, complaint {number}"
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = f"<crash-{number}@example.net>"
    message.set_content(
        "I want to make a formal complaint: my mother's carers missed three visits this fortnight and "
        "nobody rang to tell us. This is not acceptable.\n"
    )
    return sender, message.as_bytes()


def bot(config: Path, env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    """``mailbot ARGS`` in a subprocess that imports this checkout's mailbot."""
    return subprocess.Popen(
        [sys.executable, "-m", "mailbot.cli", "--config", str(config), *args],
        cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def finished(process: subprocess.Popen[bytes], timeout: float = 300) -> bytes:
    """What the bot logged, once it has exited; if it runs past ``timeout``, it is killed and its log raised
    (a hung run must not leave the test waiting without a word, nor the process behind)."""
    try:
        return process.communicate(timeout=timeout)[1]
    except subprocess.TimeoutExpired:
        process.kill()
        err = process.communicate()[1].decode(errors="replace")
        raise RuntimeError(f"bot still running after {timeout:g} s, killed; its log:\n{err}") from None


def run_to_the_end(config: Path, env: dict[str, str], timeout: float = 300) -> str:
    """One ``poll --once`` left to finish; its log. Raises if it fails for a reason other than a mailbox."""
    process = bot(config, env, "poll", "--once")
    err = finished(process, timeout)
    if process.returncode not in (0, 1):
        raise RuntimeError(f"poll --once exited {process.returncode}:\n{err.decode(errors='replace')}")
    return err.decode(errors="replace")


@dataclass(frozen=True)
class Phases:
    """When each phase of a ``poll --once`` ran, in seconds after the process was started."""

    spans: tuple[tuple[str, float, float], ...]

    def random_moment(self, rng: random.Random) -> tuple[str, float]:
        """A phase chosen at random, then a moment chosen at random inside it."""
        name, start, end = rng.choice(self.spans)
        return name, rng.uniform(start, end)

    def __str__(self) -> str:
        return ", ".join(f"{name} {start:.2f}-{end:.2f} s" for name, start, end in self.spans)


def measure_phases(config: Path, env: dict[str, str]) -> Phases:
    """Run one ``poll --once`` to the end and read its phases from the timestamps of its log."""
    started = time.time()
    log = run_to_the_end(config, env)
    ended = time.time() - started
    marks: dict[str, float] = {}
    for line in log.splitlines():
        for name, mark in PHASE_MARKS:
            if mark in line and name not in marks:
                stamp = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
                marks[name] = stamp - started
    names = [name for name, _ in PHASE_MARKS if name in marks]
    ends = [marks[n] for n in names[1:]] + [ended]
    return Phases(tuple((name, marks[name], end) for name, end in zip(names, ends, strict=True)))


def kill_at(config: Path, env: dict[str, str], moment: float, *args: str) -> bool:
    """Start the bot and kill -9 it ``moment`` seconds later; False if it had finished by then."""
    process = bot(config, env, *(args or ("poll", "--once")))
    try:
        process.wait(timeout=moment)
        return False
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        return True
    finally:
        process.communicate()


@dataclass
class Tally:
    """What the runs left behind; every field but ``held_*`` and ``settled`` should be 0 except the first."""

    complaints: int = 0
    acknowledged_once: int = 0
    not_stored: int = 0  # a complaint with no row, or one never processed
    stored_twice: int = 0
    acknowledged_twice: int = 0
    unacknowledged_unseen: int = 0  # no acknowledgement reached the server and no person is shown one held
    held: int = 0  # acknowledgements whose fate nobody knows, in front of a person
    held_yet_delivered: int = 0  # of those, how many the server had in fact taken
    settled: int = 0  # letters held at some point, settled as delivered from evidence
    shunted: int = 0
    sent_copies_twice: int = 0
    unfiled: int = 0  # sent letters with no copy in Sent
    notes: list[str] = field(default_factory=list)

    @property
    def failures(self) -> int:
        return (
            self.not_stored + self.stored_twice + self.acknowledged_twice + self.unacknowledged_unseen
            + self.shunted + self.sent_copies_twice + self.unfiled
        )  # fmt: skip


def tally(database_url: str, smtp: SmtpCapture, dovecot: Dovecot, senders: dict[str, str]) -> Tally:
    """Check every complaint (``senders``: sender -> Message-ID) against the database and both servers."""
    result = Tally(complaints=len(senders))
    received = Counter(address for m in smtp.messages for address in m.rcpt_tos)
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            stored = _rows(connection, "SELECT message_id, state FROM inbound_message")
            acks = _rows(connection, "SELECT recipient, state, smtp_response, message_id FROM outbox "
                                     "WHERE purpose = 'acknowledgement'")  # fmt: skip
    finally:
        engine.dispose()
    copies = Counter(str(_HEADERS.parsebytes(raw).get("Message-ID", "")).strip("<>")
                     for _, _, raw in dovecot.messages(folder="Sent"))  # fmt: skip
    states = Counter(message_id for message_id, _ in stored)
    for sender, message_id in senders.items():
        _check_one(result, sender, message_id, states, stored, acks, received, copies)
    return result


def _rows(connection, query: str) -> list[tuple]:  # type: ignore[no-untyped-def, type-arg]
    return [tuple(row) for row in connection.execute(text(query))]


def _check_one(
    result: Tally, sender: str, message_id: str, states: Counter[str], stored: list[tuple],  # type: ignore[type-arg]
    acks: list[tuple], received: Counter[str], copies: Counter[str],  # type: ignore[type-arg]
) -> None:  # fmt: skip
    inbound = [state for mid, state in stored if mid == message_id]
    result.stored_twice += states[message_id] > 1
    result.shunted += "shunted" in inbound
    if "processed" not in inbound:
        result.not_stored += 1
        result.notes.append(f"{message_id}: stored as {inbound or 'nothing'}")
        return
    rows = [row for row in acks if row[0] == sender]
    got = received[sender]
    held = any(row[1] == "held" for row in rows)
    result.acknowledged_twice += got > 1
    result.acknowledged_once += got == 1
    result.held += held
    result.held_yet_delivered += held and got == 1
    result.settled += any((row[2] or "").startswith("no answer was recorded; delivered") for row in rows)
    if got == 0 and not held:
        result.unacknowledged_unseen += 1
        result.notes.append(f"{sender}: no acknowledgement and none held ({[row[1] for row in rows]})")
    for _, state, _, ack_id in rows:
        result.sent_copies_twice += copies[ack_id] > 1
        result.unfiled += state == "sent" and copies[ack_id] == 0
