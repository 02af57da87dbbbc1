"""A real, throwaway rspamd (Debian package ``rspamd``) on a free loopback port: only its normal worker, the
one that answers ``POST /checkv2``, with a configuration written into ``workdir``. Offline here: lookups that
need the network (RBLs, fuzzy hashes, maps) fail quickly and score nothing, so its verdicts rest on the mail
alone."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Self

from mailbot.testing.availability import ServerStartError, ServerUnavailable
from mailbot.testing.host import (
    LOOPBACK,
    START_ATTEMPTS,
    check_config_path,
    is_root,
    log_tail,
    reserved_port,
    stop_process_group,
    unprivileged_user,
)

STOCK_CONFIG = Path("/etc/rspamd/rspamd.conf")
# The one message rspamd always rejects (the GTUBE test string), for a health check and for tests.
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
_DISABLED_WORKERS = ("controller", "proxy", "fuzzy")


def find_rspamd() -> str:
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/bin", "/usr/sbin"])
    found = shutil.which("rspamd", path=search)
    if found is None or not STOCK_CONFIG.is_file():
        raise ServerUnavailable("rspamd not found: apt-get install rspamd")
    return found


class Rspamd:
    """rspamd's normal worker on 127.0.0.1; ``url`` is what ``[spam] rspamd_url`` takes."""

    host = LOOPBACK

    def __init__(self, workdir: Path, start_timeout: float = 90.0) -> None:
        self.workdir = Path(workdir).absolute()
        check_config_path(self.workdir)
        self.start_timeout = start_timeout  # the first start compiles its rules, which takes a while
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        # Its configuration and state live in a folder of its own under the system temp dir: rspamd's workers
        # run as _rspamd, who cannot enter a test's private tmp_path.
        self._state: Path | None = None
        self._log_start = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "rspamd.log"

    def start(self) -> None:
        binary = find_rspamd()
        for attempt in range(1, START_ATTEMPTS + 1):
            # rspamd binds only once its rules are loaded, some 20 s after it starts: the port is held
            # meanwhile, and a port taken all the same (by a server outside this suite) means another try.
            with reserved_port() as self.port:
                self._write_config()
                self._proc = self._spawn(binary)
                if self._wait_until_ready(last_attempt=attempt == START_ATTEMPTS):
                    return

    def stop(self) -> None:
        if self._proc is not None:
            stop_process_group(self._proc)
            self._proc = None
        if self._state is not None:
            shutil.rmtree(self._state, ignore_errors=True)
            self._state = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _write_config(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._state = Path(tempfile.mkdtemp(prefix="mailbot-rspamd-"))
        local = self._state / "local.d"
        for name in ("local.d", "override.d", "db", "run", "log"):
            (self._state / name).mkdir(parents=True, exist_ok=True)
        (local / "worker-normal.inc").write_text(f'bind_socket = "{self.host}:{self.port}";\ncount = 1;\n')
        for worker in _DISABLED_WORKERS:
            (local / f"worker-{worker}.inc").write_text("enabled = false;\n")
        (local / "options.inc").write_text("dns { timeout = 0.2s; retransmits = 0; }\n")
        (local / "logging.inc").write_text('type = "console";\nlevel = "error";\n')
        if is_root():  # rspamd drops to its own user, which must own its working folders
            owner = unprivileged_user("_rspamd", "nobody")
            for path in [self._state, *self._state.rglob("*")]:
                os.chown(path, owner.pw_uid, owner.pw_gid)

    def _spawn(self, binary: str) -> subprocess.Popen[bytes]:
        assert self._state is not None
        folders = (("LOCAL_CONFDIR", "."), ("DBDIR", "db"), ("RUNDIR", "run"), ("LOGDIR", "log"))
        variables = [f"--var={name}={self._state / folder}" for name, folder in folders]
        user = ["-u", "_rspamd", "-g", "_rspamd"] if is_root() else []
        with self.log_path.open("ab") as log:
            self._log_start = log.tell()  # what this start writes, apart from an earlier attempt's
            return subprocess.Popen(
                [binary, "-f", *user, "-c", str(STOCK_CONFIG), *variables],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )

    def _wait_until_ready(self, last_attempt: bool) -> bool:
        """True once it answers; False if its port was taken (try another)."""
        assert self._proc is not None
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                self.stop()
                if not last_attempt and "Address already in use" in self._log_since_start():
                    return False
                raise ServerStartError(f"rspamd exited during start-up; log tail:\n{log_tail(self.log_path)}")
            with contextlib.suppress(OSError):
                if b'"reject"' in self.check(f"Subject: ping\r\n\r\n{GTUBE}\r\n".encode(), timeout=5):
                    return True
            time.sleep(0.5)
        self.stop()
        raise ServerStartError(
            f"rspamd did not answer on port {self.port} within {self.start_timeout:g} s; "
            f"log tail:\n{log_tail(self.log_path)}"
        )

    def _log_since_start(self) -> str:
        with self.log_path.open("rb") as log:
            log.seek(self._log_start)
            return log.read().decode(errors="replace")

    def check(self, raw: bytes, timeout: float = 30) -> bytes:
        request = urllib.request.Request(f"{self.url}/checkv2", data=raw, method="POST")
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read()
