"""A throwaway PostgreSQL cluster on a free loopback port, with a fresh database per caller."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
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
    unprivileged_user,
)


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


_INITDB_OPTIONS = ("--auth=trust", "--encoding=UTF8", "--no-locale", "--no-sync", "--no-instructions")

_PG_CONF = """
# Throwaway test cluster written by mailbot.testing: speed over durability.
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
        self._os_user = unprivileged_user("postgres", "nobody").pw_name if is_root() else None

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
        check_config_path(self.directory)
        if self._os_user is not None:
            owner = pwd.getpwnam(self._os_user)
            os.chown(self.directory, owner.pw_uid, owner.pw_gid)
        self._run("initdb", "-D", str(self.data_dir), "-U", self.superuser, *_INITDB_OPTIONS)
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(_PG_CONF.format(host=self.host, socket_dir=self.directory))

    def _start_server(self) -> None:
        for attempt in range(1, START_ATTEMPTS + 1):
            with reserved_port() as self.port:  # until it listens (pg_ctl -w waits for that)
                wait = ["-w", "-t", str(int(self.start_timeout))]
                options = ["-l", str(self.log_path), "-o", f"-p {self.port}"]
                result = self._run("pg_ctl", "-D", str(self.data_dir), *wait, *options, "start", check=False)
            if result.returncode == 0:
                return
            log = log_tail(self.log_path)
            if "Address already in use" not in log or attempt == START_ATTEMPTS:
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
