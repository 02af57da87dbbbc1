"""A real, throwaway Dovecot IMAP server on a free loopback port, with helpers to deliver and read mail."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Self

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from mailbot.testing.availability import ServerStartError, ServerUnavailable
from mailbot.testing.dovecot_config import mail_owner, oauth2_passdbs, render_config
from mailbot.testing.host import (
    LOOPBACK,
    START_ATTEMPTS,
    check_config_path,
    group_titles,
    log_tail,
    reserved_port,
    stop_process_group,
)

DEFAULT_USERS: Mapping[str, str] = {"complaints": "secret"}
# A unix socket path must fit in 108 bytes; Dovecot's longest is base_dir + "/token-login/imap-urlauth".
_MAX_BASE_DIR_LEN = 80
_APPENDUID = re.compile(rb"APPENDUID \d+ (\d+)")


def find_dovecot(search_path: str | None = None) -> str:
    """Path of the dovecot binary (PATH plus the sbin dirs), or ServerUnavailable."""
    if search_path is None:
        search_path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])
    found = shutil.which("dovecot", path=search_path)
    if found is None:
        raise ServerUnavailable("dovecot not found: apt-get install dovecot-imapd")
    return found


class Dovecot:
    """A real Dovecot IMAP server (plain IMAP on 127.0.0.1) living in ``workdir``."""

    host = LOOPBACK

    def __init__(
        self,
        workdir: Path,
        users: Mapping[str, str] | None = None,
        start_timeout: float = 15.0,
        introspection_urls: Mapping[str, str] | None = None,
        sent_folder: str = "Sent",
        idle: bool = True,
    ) -> None:
        """``introspection_urls`` (user -> URL) lets those users log in with an OAuth2 bearer token
        (XOAUTH2, OAUTHBEARER) that the URL vouches for, beside their password. ``sent_folder`` is the folder
        marked \\Sent (SPECIAL-USE): Exchange calls it "Sent Items"."""
        self.workdir = Path(workdir).absolute()
        check_config_path(self.workdir)
        self.users = dict(DEFAULT_USERS if users is None else users)
        _check_users(self.users)
        self.start_timeout = start_timeout
        self.introspection_urls = dict(introspection_urls or {})
        self.sent_folder = sent_folder
        self.idle = idle
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
        for attempt in range(1, START_ATTEMPTS + 1):
            with reserved_port() as self.port:
                self.config_path.write_text(self._render_config())
                self._proc = self._spawn(binary)
                if self._wait_until_ready(last_attempt=attempt == START_ATTEMPTS):
                    return

    def stop(self) -> None:
        if self._proc is not None:
            stop_process_group(self._proc)
            self._proc = None
        if not self._base_dir.is_relative_to(self.workdir):
            shutil.rmtree(self._base_dir, ignore_errors=True)

    def restart(self) -> None:
        """Stop the server (dropping every connection) and start it again on the same port, with its mail."""
        if self._proc is not None:
            stop_process_group(self._proc)
        with reserved_port(self.port):  # no other server or connection takes it while this one starts
            self._proc = self._spawn(find_dovecot())
            if not self._wait_until_ready(last_attempt=True):
                raise ServerStartError(f"dovecot did not come back on port {self.port}")

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
        owner = mail_owner()
        for user in self.users:
            home = self.mail_root / user
            home.mkdir(exist_ok=True)
            os.chown(home, owner.pw_uid, owner.pw_gid)

    def _render_config(self) -> str:
        return render_config(
            workdir=self.workdir,
            base_dir=self._base_dir,
            host=self.host,
            port=self.port,
            log=self.log_path,
            mail_root=self.mail_root,
            oauth2_passdbs=oauth2_passdbs(self.workdir, self.introspection_urls),
            sent_folder=self.sent_folder,
            idle=self.idle,
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
                if not last_attempt and "Address already in use" in log_tail(self.log_path):
                    return False
                raise ServerStartError(
                    f"dovecot exited during start-up; log tail:\n{log_tail(self.log_path)}"
                )
            with contextlib.suppress(OSError):
                if _read_greeting(self.host, self.port).startswith(b"* OK"):
                    return True
            time.sleep(0.05)
        self.stop()
        raise ServerStartError(
            f"dovecot gave no IMAP greeting on port {self.port} within {self.start_timeout:g} s; "
            f"log tail:\n{log_tail(self.log_path)}"
        )

    def idling(self, user: str = "complaints") -> int:
        """How many of ``user``'s connections wait in IDLE now: mail delivered then is announced to them
        (Dovecot does not announce mail that lands between a client's last command and its IDLE)."""
        if self._proc is None:
            return 0
        return sum(
            f"/imap [{user} " in title and title.rstrip().endswith(" IDLE]")
            for title in group_titles(self._proc.pid)
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


def _read_greeting(host: str, port: int) -> bytes:
    with socket.create_connection((host, port), timeout=2.0) as sock:
        return sock.recv(1024)
