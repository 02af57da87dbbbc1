"""Which process holds a claim on a row, and whether it is still alive.

A claim names its process and run as ``host:pid:start:run``; a claim left by a process that died (kill -9,
a crash, a power cut) is taken over at once rather than after a timeout. ``start`` (the process's start
time, from ``/proc``) tells a dead process from a new one that was given the same pid.
"""

from __future__ import annotations

import os
import secrets
import socket
from pathlib import Path

HOST_CHARS = 120  # the claim column holds 200 characters; host names can be up to 253


def _start_ticks(pid: int) -> str | None:
    """When the process started, in clock ticks since boot (/proc/PID/stat, field 22); None where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may itself contain spaces or ")".
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def this_process() -> str:
    """The claim this process writes; read afresh each time, so a forked child never borrows its parent's."""
    pid = os.getpid()
    return f"{socket.gethostname()[:HOST_CHARS]}:{pid}:{_start_ticks(pid) or '-'}"


def new_claim() -> str:
    """A claim for one run of work: two runs in one process (a poll and the delivery job) never share one."""
    return f"{this_process()}:{secrets.token_hex(4)}"


def is_gone(claim: str | None) -> bool | None:
    """True when the claiming process has certainly ended, False when it is running, None when this machine
    cannot tell (the claim was made on another host, by an older version, or there is no /proc)."""
    parts = (claim or "").split(":")
    if len(parts) < 3 or parts[0] != socket.gethostname()[:HOST_CHARS] or not parts[1].isdigit():
        return None
    if parts[2] in ("", "-") or not Path("/proc/self/stat").exists():
        return None
    return _start_ticks(int(parts[1])) != parts[2]
