"""Real, throwaway Dovecot IMAP, SMTP capture and PostgreSQL servers on free loopback ports.

For the test-suite's fixtures and for ``make demo`` (``python -m mailbot.testing.servers``)."""

from __future__ import annotations

import argparse
import contextlib
import errno
import grp
import importlib.util
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any, NoReturn, Self

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from mailbot.errors import MailbotError

LOOPBACK = "127.0.0.1"
REQUIRE_ENV = "MAILBOT_REQUIRE_SERVERS"
DEFAULT_USERS: Mapping[str, str] = {"complaints": "secret"}
_START_ATTEMPTS = 3
# A unix socket path must fit in 108 bytes; Dovecot's longest is base_dir + "/token-login/imap-urlauth".
_MAX_BASE_DIR_LEN = 80


class ServerUnavailable(MailbotError):
    """A server binary or library needed for a dev server is not installed."""


class ServerStartError(MailbotError):
    """A dev server is installed but did not start (the message includes its log tail)."""


# --------------------------------------------------------------------------- helpers


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def skip_or_fail(reason: str) -> NoReturn:
    """In a test: skip with ``reason``, or fail if ``MAILBOT_REQUIRE_SERVERS=1`` (as in CI)."""
    import pytest  # imported lazily: pytest is a test-only dependency

    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason} ({REQUIRE_ENV}=1, so a missing server is an error)", pytrace=False)
    pytest.skip(reason)


def require(*checks: Callable[[], object]) -> None:
    """Run each check (e.g. ``find_dovecot``); on ServerUnavailable skip or fail the test."""
    for check in checks:
        try:
            check()
        except ServerUnavailable as exc:
            skip_or_fail(str(exc))


def _is_root() -> bool:
    return os.geteuid() == 0


def _tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


def _stop_process_group(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
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


def _read_greeting(host: str, port: int) -> bytes:
    with socket.create_connection((host, port), timeout=2.0) as sock:
        return sock.recv(1024)


def _unprivileged_user(*candidates: str) -> pwd.struct_passwd:
    """First existing account among candidates; daemons refuse some work as root."""
    for name in candidates:
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise ServerUnavailable(f"none of the users {', '.join(candidates)} exist to drop root privileges to")


def _check_config_path(path: Path) -> None:
    # Dovecot and postgresql.conf values are unquoted here, so keep paths simple.
    if re.search(r"[\s\"'#\\]", str(path)):
        raise ValueError(f"dev server directory must not contain spaces or quotes: {path}")


# --------------------------------------------------------------------------- Dovecot


def find_dovecot(search_path: str | None = None) -> str:
    """Path of the dovecot binary (PATH plus the sbin dirs), or ServerUnavailable."""
    if search_path is None:
        search_path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])
    found = shutil.which("dovecot", path=search_path)
    if found is None:
        raise ServerUnavailable("dovecot not found: apt-get install dovecot-imapd")
    return found


_APPENDUID = re.compile(rb"APPENDUID \d+ (\d+)")

_DOVECOT_CONF = """\
# Throwaway config written by mailbot.testing.servers; never used outside {workdir}.
protocols = imap
listen = {host}
base_dir = {base_dir}
state_dir = {workdir}/state
instance_name = mailbot-dovecot-{port}
log_path = {log}
info_log_path = {log}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_verbose = yes
auth_failure_delay = 0
# Trusted loopback clients are exempt from the failed-login penalty delay.
login_trusted_networks = 127.0.0.0/8
mail_fsync = never
mail_location = maildir:~/Maildir
{privileges}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {workdir}/users
}}
userdb {{
  driver = static
  args = home={home}
}}
service imap-login {{
  inet_listener imap {{
    address = {host}
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
protocol imap {{
  mail_max_userip_connections = 100
}}
namespace inbox {{
  inbox = yes
  mailbox Sent {{
    auto = subscribe
    special_use = \\Sent
  }}
  mailbox Processed {{
    auto = subscribe
  }}
}}
"""

# Dovecot refuses mail access as root outright ("Mail access not allowed for root"),
# so mail processes run as nobody. They are chrooted into the mail root, which root
# can enter even when a parent is 0700 (pytest's /tmp/pytest-of-root); after the
# chroot nobody only needs the user homes, which we chown to it.
_ROOT_PRIVILEGES = """\
mail_uid = {uid}
mail_gid = {gid}
first_valid_uid = 1
first_valid_gid = 1
mail_chroot = {mail_root}
valid_chroot_dirs = {mail_root}
# The passwd-file lives under the workdir, whose parents may be root-only.
service auth {{
  user = root
}}"""

# Not root: every Dovecot process runs as us, so no chroot and no user switching.
_USER_PRIVILEGES = """\
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
mail_uid = {uid}
mail_gid = {gid}
first_valid_uid = {uid}
first_valid_gid = {gid}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}"""


class Dovecot:
    """A real Dovecot IMAP server (plain IMAP on 127.0.0.1) living in ``workdir``."""

    host = LOOPBACK

    def __init__(
        self, workdir: Path, users: Mapping[str, str] | None = None, start_timeout: float = 15.0
    ) -> None:
        self.workdir = Path(workdir).absolute()
        _check_config_path(self.workdir)
        self.users = dict(DEFAULT_USERS if users is None else users)
        _check_users(self.users)
        self.start_timeout = start_timeout
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._base_dir = self.workdir / "run"

    @property
    def config_path(self) -> Path:
        return self.workdir / "dovecot.conf"

    @property
    def log_path(self) -> Path:
        return self.workdir / "dovecot.log"

    @property
    def mail_root(self) -> Path:
        return self.workdir / "mail"

    def url(self, user: str = "complaints") -> str:
        return f"imap://{user}@{self.host}:{self.port}"

    def start(self) -> None:
        binary = find_dovecot()
        self._prepare_dirs()
        for attempt in range(1, _START_ATTEMPTS + 1):
            self.port = free_port()
            self.config_path.write_text(self._render_config())
            self._proc = self._spawn(binary)
            if self._wait_until_ready(last_attempt=attempt == _START_ATTEMPTS):
                return

    def stop(self) -> None:
        if self._proc is not None:
            _stop_process_group(self._proc)
            self._proc = None
        if not self._base_dir.is_relative_to(self.workdir):
            shutil.rmtree(self._base_dir, ignore_errors=True)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _prepare_dirs(self) -> None:
        for name in ("run", "state", "mail"):
            (self.workdir / name).mkdir(parents=True, exist_ok=True)
        self._base_dir = self.workdir / "run"
        if len(str(self._base_dir)) > _MAX_BASE_DIR_LEN:
            # Deep workdirs would overflow Dovecot's socket paths; sockets go to a short temp dir.
            self._base_dir = Path(tempfile.mkdtemp(prefix="mailbot-dovecot-"))
        users_file = self.workdir / "users"
        users_file.write_text("".join(f"{u}:{{PLAIN}}{p}\n" for u, p in self.users.items()))
        users_file.chmod(0o600)
        owner = self._mail_owner()
        for user in self.users:
            home = self.mail_root / user
            home.mkdir(exist_ok=True)
            os.chown(home, owner.pw_uid, owner.pw_gid)

    @staticmethod
    def _mail_owner() -> pwd.struct_passwd:
        return _unprivileged_user("nobody") if _is_root() else pwd.getpwuid(os.getuid())

    def _render_config(self) -> str:
        owner = self._mail_owner()
        if _is_root():
            privileges = _ROOT_PRIVILEGES.format(uid=owner.pw_uid, gid=owner.pw_gid, mail_root=self.mail_root)
            home = "/%u"  # relative to mail_chroot
        else:
            privileges = _USER_PRIVILEGES.format(
                user=owner.pw_name,
                group=grp.getgrgid(owner.pw_gid).gr_name,
                uid=owner.pw_uid,
                gid=owner.pw_gid,
            )
            home = f"{self.mail_root}/%u"
        return _DOVECOT_CONF.format(
            workdir=self.workdir,
            base_dir=self._base_dir,
            host=self.host,
            port=self.port,
            log=self.log_path,
            privileges=privileges,
            home=home,
        )

    def _spawn(self, binary: str) -> subprocess.Popen[bytes]:
        # stderr shares the log file so early config errors land in the same tail.
        with self.log_path.open("ab") as log:
            return subprocess.Popen(
                [binary, "-F", "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,  # a terminal Ctrl-C must not bypass stop()
            )

    def _wait_until_ready(self, last_attempt: bool) -> bool:
        """True once the greeting arrives; False if the port was taken (try another)."""
        assert self._proc is not None
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                self.stop()  # reaps any children the dead master left behind
                if not last_attempt and "Address already in use" in _tail(self.log_path):
                    return False
                raise ServerStartError(f"dovecot exited during start-up; log tail:\n{_tail(self.log_path)}")
            with contextlib.suppress(OSError):
                if _read_greeting(self.host, self.port).startswith(b"* OK"):
                    return True
            time.sleep(0.05)
        self.stop()
        raise ServerStartError(
            f"dovecot gave no IMAP greeting on port {self.port} within {self.start_timeout:g} s; "
            f"log tail:\n{_tail(self.log_path)}"
        )

    @contextlib.contextmanager
    def client(self, user: str = "complaints") -> Iterator[IMAPClient]:
        """A logged-in IMAPClient for ``user``; logs out on exit."""
        with IMAPClient(self.host, port=self.port, ssl=False, timeout=10) as imap:
            imap.login(user, self.users[user])
            yield imap

    def deliver(
        self, raw: bytes, user: str = "complaints", folder: str = "INBOX", flags: Iterable[str | bytes] = ()
    ) -> int:
        """APPEND ``raw`` to ``folder`` and return its UID."""
        with self.client(user) as imap:
            response = imap.append(folder, raw, flags=tuple(flags))
        match = _APPENDUID.search(response)
        if match is None:
            raise IMAPClientError(f"dovecot APPEND gave no APPENDUID: {response!r}")
        return int(match.group(1))

    def messages(
        self, user: str = "complaints", folder: str = "INBOX"
    ) -> list[tuple[int, tuple[bytes, ...], bytes]]:
        """``(uid, flags, raw)`` for every message in ``folder``, read without setting \\Seen."""
        with self.client(user) as imap:
            imap.select_folder(folder, readonly=True)
            uids = imap.search("ALL")
            fetched = imap.fetch(uids, ["FLAGS", "BODY.PEEK[]"]) if uids else {}
        return sorted((uid, tuple(data[b"FLAGS"]), data[b"BODY[]"]) for uid, data in fetched.items())


def _check_users(users: Mapping[str, str]) -> None:
    for user, password in users.items():
        if not user or re.search(r"[\s:/]", user) or re.search(r"[\s:]", password):
            raise ValueError(f"unsupported IMAP user or password for {user!r} (no spaces, ':' or '/')")


# --------------------------------------------------------------------------- SMTP


@dataclass(frozen=True)
class CapturedMessage:
    """One message accepted by SmtpCapture."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    message: EmailMessage
    auth_user: str | None = None
    path: Path | None = None


class _CaptureHandler:
    """aiosmtpd handler hooks (aiosmtpd fixes their names); state lives in the SmtpCapture."""

    def __init__(self, capture: SmtpCapture) -> None:
        self.capture = capture

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        # Enforced here rather than with aiosmtpd's auth_required, which warns without TLS.
        if self.capture.auth and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        rejection = self.capture._rejection_for(address)
        if rejection is not None:
            return rejection
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        failure = self.capture._take_failure()
        if failure is not None:
            return failure
        # auth_data is the LoginPassword our authenticator returned (None without AUTH).
        login = getattr(session.auth_data, "login", None)
        self.capture._record(
            envelope.mail_from,
            tuple(envelope.rcpt_tos),
            envelope.original_content,
            login.decode(errors="replace") if isinstance(login, bytes) else None,
        )
        return "250 2.0.0 Message accepted"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
        from aiosmtpd.smtp import AuthResult, LoginPassword

        ok = isinstance(auth_data, LoginPassword) and self.capture.auth.get(
            auth_data.login.decode(errors="replace")
        ) == auth_data.password.decode(errors="replace")
        # handled=False makes aiosmtpd answer "535 5.7.8 Authentication credentials invalid".
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


def _smtp_reply(code: int, text: str) -> str:
    if not 400 <= code <= 599:
        raise ValueError(f"failure code must be 4xx (temporary) or 5xx (permanent), not {code}")
    return f"{code} {text}"


class SmtpCapture:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that records every accepted message.

    Failure injection: ``fail_next`` answers the end of the next n DATA commands with
    the given code (nothing is recorded for them); ``reject_recipient`` answers RCPT TO
    for one address with the given code, until ``reset_failures``.
    """

    host = LOOPBACK

    def __init__(self, outdir: Path | None = None, auth: Mapping[str, str] | None = None) -> None:
        self.outdir = None if outdir is None else Path(outdir)
        self.auth: dict[str, str] = dict(auth or {})
        self.port = 0
        self._lock = threading.Lock()
        self._messages: list[CapturedMessage] = []
        self._failures: list[str] = []
        self._rejections: dict[str, str] = {}
        self._controller: Any = None

    @property
    def messages(self) -> list[CapturedMessage]:
        """A snapshot of the messages accepted so far, oldest first."""
        with self._lock:
            return list(self._messages)

    def clear(self) -> None:
        """Forget the recorded messages (.eml files already written stay)."""
        with self._lock:
            self._messages.clear()

    def fail_next(self, n: int = 1, code: int = 451, text: str = "4.3.0 Try again later") -> None:
        """Answer the next ``n`` DATA commands with ``code text`` instead of accepting."""
        reply = _smtp_reply(code, text)
        with self._lock:
            self._failures.extend([reply] * n)

    def reject_recipient(self, address: str, code: int = 550, text: str = "5.1.1 No such user") -> None:
        """Answer RCPT TO:<address> (case-insensitive) with ``code text``."""
        reply = _smtp_reply(code, text)
        with self._lock:
            self._rejections[address.lower()] = reply

    def reset_failures(self) -> None:
        with self._lock:
            self._failures.clear()
            self._rejections.clear()

    # The three methods below are called by _CaptureHandler on the server thread.

    def _take_failure(self) -> str | None:
        with self._lock:
            return self._failures.pop(0) if self._failures else None

    def _rejection_for(self, address: str) -> str | None:
        with self._lock:
            return self._rejections.get(address.lower())

    def _record(self, mail_from: str, rcpt_tos: tuple[str, ...], raw: bytes, auth_user: str | None) -> None:
        message = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(message, EmailMessage)
        with self._lock:
            path = self._write_eml(len(self._messages) + 1, raw)
            self._messages.append(CapturedMessage(mail_from, rcpt_tos, raw, message, auth_user, path))

    def _write_eml(self, seq: int, raw: bytes) -> Path | None:
        if self.outdir is None:
            return None
        # mkstemp keeps names unique even if several captures share one outdir.
        fd, name = tempfile.mkstemp(prefix=f"{seq:04d}-", suffix=".eml", dir=self.outdir)
        with os.fdopen(fd, "wb") as out:
            out.write(raw)
        return Path(name)

    def start(self) -> None:
        if self.outdir is not None:
            self.outdir.mkdir(parents=True, exist_ok=True)
        for attempt in range(1, _START_ATTEMPTS + 1):
            try:
                self._start_controller()
                return
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE or attempt == _START_ATTEMPTS:
                    raise ServerStartError(f"SMTP capture could not listen: {exc}") from exc

    def _start_controller(self) -> None:
        find_aiosmtpd()
        from aiosmtpd.controller import Controller

        self.port = free_port()
        handler = _CaptureHandler(self)
        controller = Controller(
            handler,
            hostname=self.host,
            port=self.port,
            server_hostname="localhost",  # the default getfqdn() can stall on DNS
            authenticator=handler.authenticate if self.auth else None,
            auth_require_tls=False,
        )
        try:
            controller.start()
        except OSError:
            controller.loop.close()  # the failed server thread never closes its loop
            raise
        self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------- PostgreSQL


def find_postgres(search_path: str | None = None, lib_root: Path = Path("/usr/lib/postgresql")) -> Path:
    """Directory holding initdb and pg_ctl: from PATH, else the newest ``lib_root/*/bin``."""
    initdb = shutil.which("initdb", path=search_path)
    if initdb is not None and shutil.which("pg_ctl", path=search_path):
        return Path(initdb).resolve().parent
    bindirs = [p.parent for p in lib_root.glob("*/bin/initdb") if (p.parent / "pg_ctl").exists()]
    versioned = [p for p in bindirs if p.parent.name.isdigit()]
    if not versioned:
        raise ServerUnavailable("PostgreSQL initdb/pg_ctl not found: apt-get install postgresql")
    return max(versioned, key=lambda p: int(p.parent.name))


def find_aiosmtpd() -> None:
    """ServerUnavailable unless aiosmtpd (a test-only dependency) is importable."""
    if importlib.util.find_spec("aiosmtpd") is None:
        raise ServerUnavailable("aiosmtpd not installed: pip install aiosmtpd")


_INITDB_OPTIONS = ("--auth=trust", "--encoding=UTF8", "--no-locale", "--no-sync", "--no-instructions")

_PG_CONF = """
# Throwaway test cluster written by mailbot.testing.servers: speed over durability.
listen_addresses = '{host}'
unix_socket_directories = '{socket_dir}'
fsync = off
synchronous_commit = off
full_page_writes = off
"""


class PostgresCluster:
    """A throwaway PostgreSQL cluster on 127.0.0.1 with trust auth for superuser ``mailbot``.

    Its directory is a fresh ``tempfile.mkdtemp`` under ``parent`` (default: the system
    temp dir), removed by ``stop``. As root, the server runs as ``postgres`` (or
    ``nobody``), so ``parent`` must be traversable by that user.
    """

    host = LOOPBACK
    superuser = "mailbot"

    def __init__(self, parent: Path | None = None, start_timeout: float = 30.0) -> None:
        self.parent = parent
        self.start_timeout = start_timeout
        self.port = 0
        self.directory: Path | None = None
        self._bindir: Path | None = None
        self._os_user = _unprivileged_user("postgres", "nobody").pw_name if _is_root() else None

    @property
    def data_dir(self) -> Path:
        assert self.directory is not None, "cluster not started"
        return self.directory / "data"

    @property
    def log_path(self) -> Path:
        assert self.directory is not None, "cluster not started"
        return self.directory / "postgres.log"

    def url(self, dbname: str = "mailbot") -> str:
        """SQLAlchemy URL for ``dbname`` (psycopg 3 driver)."""
        return f"postgresql+psycopg://{self.superuser}@{self.host}:{self.port}/{dbname}"

    def start(self) -> None:
        self._bindir = find_postgres()
        self.directory = Path(tempfile.mkdtemp(prefix="mailbot-pg-", dir=self.parent))
        try:
            self._initdb()
            self._start_server()
            self.create_database("mailbot")
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        if self.directory is None:
            return
        if (self.data_dir / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.directory, ignore_errors=True)
        self.directory = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def create_database(self, name: str) -> str:
        """CREATE DATABASE ``name`` and return its SQLAlchemy URL."""
        import psycopg
        from psycopg import sql

        conninfo = {"host": self.host, "port": self.port, "user": self.superuser, "dbname": "postgres"}
        with psycopg.connect(**conninfo, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def _initdb(self) -> None:
        assert self.directory is not None
        _check_config_path(self.directory)
        if self._os_user is not None:
            owner = pwd.getpwnam(self._os_user)
            os.chown(self.directory, owner.pw_uid, owner.pw_gid)
        self._run("initdb", "-D", str(self.data_dir), "-U", self.superuser, *_INITDB_OPTIONS)
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(_PG_CONF.format(host=self.host, socket_dir=self.directory))

    def _start_server(self) -> None:
        for attempt in range(1, _START_ATTEMPTS + 1):
            self.port = free_port()
            wait = ["-w", "-t", str(int(self.start_timeout))]
            options = ["-l", str(self.log_path), "-o", f"-p {self.port}"]
            result = self._run("pg_ctl", "-D", str(self.data_dir), *wait, *options, "start", check=False)
            if result.returncode == 0:
                return
            log = _tail(self.log_path)
            if "Address already in use" not in log or attempt == _START_ATTEMPTS:
                raise ServerStartError(f"pg_ctl start failed:\n{result.stdout}\nlog tail:\n{log}")

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        assert self._bindir is not None and self.directory is not None
        command = [str(self._bindir / tool), *args]
        if self._os_user is not None:
            # PostgreSQL refuses to run as root.
            command = ["runuser", "-u", self._os_user, "--", *command]
        result = subprocess.run(
            command,
            cwd=self.directory,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )
        if check and result.returncode != 0:
            raise ServerStartError(f"{tool} failed ({result.returncode}):\n{result.stdout}")
        return result


# --------------------------------------------------------------------------- demo CLI


def _raise_interrupt(signum: int, frame: object) -> NoReturn:
    raise KeyboardInterrupt


def _announcement(imap: Dovecot, smtp: SmtpCapture) -> dict[str, object]:
    user, password = next(iter(imap.users.items()))
    return {
        "imap_port": imap.port,
        "smtp_port": smtp.port,
        "host": LOOPBACK,
        "sent_dir": str(smtp.outdir),
        "user": user,
        "password": password,
    }


def main(argv: list[str] | None = None) -> int:
    """Run Dovecot and an SmtpCapture until SIGTERM/SIGINT, announcing them as one JSON line."""
    parser = argparse.ArgumentParser(prog="python -m mailbot.testing.servers", description=main.__doc__)
    parser.add_argument("--workdir", type=Path, required=True, help="directory for server state and mail")
    args = parser.parse_args(argv)
    workdir: Path = args.workdir.absolute()
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        with Dovecot(workdir / "dovecot") as imap, SmtpCapture(outdir=workdir / "sent") as smtp:
            print(json.dumps(_announcement(imap, smtp)), flush=True)
            while True:
                signal.pause()
    except KeyboardInterrupt:
        pass
    except (ServerUnavailable, ServerStartError) as exc:
        print(f"devservers: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
