"""The pieces under "every letter once" that need no server: the DATA block as the wire carries it, and
telling a claim by a dead process from one by a live process."""

from __future__ import annotations

import os
import socket
import subprocess

from mailbot import worker
from mailbot.outgoing.handover import data_block


def test_the_data_block_has_crlf_line_ends_doubled_leading_dots_and_one_final_dot() -> None:
    raw = b"Subject: x\n\n.hidden line\r\nsecond\rthird\n..two dots"
    assert data_block(raw) == b"Subject: x\r\n\r\n..hidden line\r\nsecond\r\nthird\r\n...two dots\r\n.\r\n"
    assert data_block(b"ends well\r\n") == b"ends well\r\n.\r\n"


def test_a_claim_names_this_process_and_is_alive_while_it_runs() -> None:
    claim = worker.new_claim()
    host, pid, _started, run = claim.split(":")
    assert (host, int(pid)) == (socket.gethostname(), os.getpid()) and len(run) == 8
    assert worker.new_claim() != claim  # each run its own
    assert worker.is_gone(claim) is False


def test_a_claim_by_a_finished_process_is_gone_and_one_from_elsewhere_cannot_be_told() -> None:
    finished = subprocess.Popen(["sleep", "0"])
    finished.wait()
    mine = worker.this_process().split(":")
    assert worker.is_gone(f"{mine[0]}:{finished.pid}:{mine[2]}:00000000") is True
    # The same pid with another start time is a new process that was given a dead one's pid.
    assert worker.is_gone(f"{mine[0]}:{os.getpid()}:1:00000000") is True
    assert worker.is_gone("another-host:1:2:00000000") is None
    assert worker.is_gone(None) is None  # a claim written before claims were named
