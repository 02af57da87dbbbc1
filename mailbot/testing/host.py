"""The machine the throwaway servers share: free loopback ports, unprivileged accounts, plain paths, log
tails, and stopping a server's whole process group."""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from mailbot.testing.availability import ServerUnavailable

LOOPBACK = "127.0.0.1"
# A reserved port can still be taken by a server outside this suite that binds it by number; each retries.
START_ATTEMPTS = 3


@contextlib.contextmanager
def reserved_port(port: int = 0) -> Iterator[int]:
    """A port on 127.0.0.1 (a free one by default) held until the block ends, for a server started inside it.

    A port merely picked is free for anyone until the server binds it: rspamd binds some 20 s after it
    starts, and meanwhile another test's server or any outgoing connection could take it. Held by a socket
    bound with SO_REUSEADDR and not listening, the port is handed to no other bind(0) or connect(), yet a
    server binding it with SO_REUSEADDR (Dovecot, PostgreSQL, rspamd, aiosmtpd and Python's HTTP servers
    all do) gets it. So the block starts the server and waits until it answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind((LOOPBACK, port))
        yield int(holder.getsockname()[1])


def is_root() -> bool:
    return os.geteuid() == 0


def unprivileged_user(*candidates: str) -> pwd.struct_passwd:
    """First existing account among candidates; daemons refuse some work as root."""
    for name in candidates:
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise ServerUnavailable(f"none of the users {', '.join(candidates)} exist to drop root privileges to")


def check_config_path(path: Path) -> None:
    # Dovecot and postgresql.conf values are unquoted here, so keep paths simple.
    if re.search(r"[\s\"'#\\]", str(path)):
        raise ValueError(f"dev server directory must not contain spaces or quotes: {path}")


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


def stop_process_group(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM the child's whole process group until it is gone; SIGKILL it at the deadline.

    Signalling only Dovecot's master makes it sit ~1 s waiting for its children, and a
    child it forks just after our signal would miss it (the master then waits ~6 s for
    that one), so the whole group is signalled again on every round.
    """
    deadline = time.monotonic() + timeout
    while _live_group_members(proc.pid):
        if time.monotonic() > deadline:
            _signal_group(proc.pid, signal.SIGKILL)
            break
        _signal_group(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(0.02)
    proc.wait()


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signum)


def group_titles(pgid: int) -> list[str]:
    """The command lines (process titles) of the live processes in group ``pgid``."""
    titles = []
    for pid in _live_group_members(pgid):
        with contextlib.suppress(OSError):  # the process exited while we looked
            titles.append((Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode())
    return titles


def _live_group_members(pgid: int) -> list[int]:
    """PIDs in process group pgid that are not zombies (which only wait to be reaped)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # the process exited while we looked
            continue
        state, _ppid, pgrp = stat.rsplit(")", 1)[1].split()[:3]
        if int(pgrp) == pgid and state != "Z":
            members.append(int(entry.name))
    return members
