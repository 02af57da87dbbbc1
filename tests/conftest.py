"""Fixtures: real Dovecot and SMTP (aiosmtpd) servers, SQLite, a throwaway PostgreSQL, the shared corpus."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

import mailbot.app
from mailbot.app import App, build_app
from mailbot.config.settings import load_config
from mailbot.testing import (
    Dovecot,
    PostgresCluster,
    Rspamd,
    SmtpCapture,
    find_aiosmtpd,
    find_dovecot,
    find_postgres,
    find_rspamd,
    require,
)
from tests.corpus import CORPUS_ENV, REQUIRE_CORPUS_ENV, corpus_location

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "secret"


def _loaded_once(load: Callable[..., object]) -> Callable[..., object]:
    """``load`` remembered by the file's path and bytes (and any further file it is given, such as the
    safeguarding backstop's model): a test that writes its own rules file has it read."""
    loaded: dict[tuple[object, ...], object] = {}

    def load_or_recall(path: Path, *more: Path | None) -> object:
        try:
            key = (Path(path).resolve(), Path(path).read_bytes(), *more)
        except OSError:
            return load(path, *more)  # the loader's own error, naming the file, is what the test expects
        if key not in loaded:
            loaded[key] = load(path, *more)
        return loaded[key]

    return load_or_recall


@pytest.fixture(scope="session", autouse=True)
def rules_compiled_once() -> Iterator[None]:
    """Every app a test builds compiles safeguarding.toml and classify.toml (some 1,700 regular expressions,
    3-5 s on a busy 2-CPU machine); the result depends only on the file and is never changed after loading,
    so the session compiles each file once. Tests of the loaders themselves call them directly."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mailbot.app, "load_screening", _loaded_once(mailbot.app.load_screening))
        patch.setattr(mailbot.app, "load_chain", _loaded_once(mailbot.app.load_chain))
        yield


@pytest.fixture
def dovecot(tmp_path: Path) -> Iterator[Dovecot]:
    require(find_dovecot)
    server = Dovecot(tmp_path / "dovecot", users={"complaints": PASSWORD, "feedback": PASSWORD})
    with server:
        yield server


@pytest.fixture
def smtp_server(tmp_path: Path) -> Iterator[SmtpCapture]:
    require(find_aiosmtpd)
    with SmtpCapture(outdir=tmp_path / "sent") as server:
        yield server


@pytest.fixture(scope="session")
def rspamd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rspamd]:
    """A real rspamd for the session: its first start compiles its rules, which takes some seconds."""
    require(find_rspamd)
    with Rspamd(tmp_path_factory.mktemp("rspamd")) as server:
        yield server


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The shared corpus; a test that asks for it is skipped, with the reason, where it is absent (it is not
    part of the repository, so a clean clone may not have it beside it), and fails where
    MAILBOT_REQUIRE_CORPUS=1 says it must be read."""
    path = corpus_location()
    if not path.is_dir():
        reason = f"third-party corpus not found at {path} (see shared/corpus/README.md, or set {CORPUS_ENV})"
        if os.environ.get(REQUIRE_CORPUS_ENV) == "1":
            pytest.fail(f"{reason} ({REQUIRE_CORPUS_ENV}=1)", pytrace=False)
        pytest.skip(reason)
    return path


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    require(find_postgres)
    with PostgresCluster() as cluster:
        yield cluster


_db_counter = iter(range(1, 1_000_000))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'mailbot.db'}"
    cluster = request.getfixturevalue("pg_cluster")
    return cluster.create_database(f"test_{os.getpid()}_{next(_db_counter)}")


class Clock:
    """A clock the test moves by hand, so deadlines and retries are checked on known dates."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime.now(UTC))


def write_config(
    tmp_path: Path,
    dovecot: Dovecot,
    smtp: SmtpCapture,
    database_url: str,
    extra: str = "",
    mailboxes: str | None = None,
    policy: str = "lgsco-hos-code",
    smtp_extra: str = "",
) -> Path:
    mailbox_tables = mailboxes or mailbox_table("complaints", dovecot.port)
    text = f"""
[organisation]
name = "Riverside Care Trust"
from_address = "complaints@riverside.example"
from_name = "Riverside Care Trust Complaints"

[database]
url = "{database_url}"

[storage]
directory = "{tmp_path / "store"}"

[cases]
policies_dir = "{ROOT / "rules" / "policies"}"
templates_dir = "{ROOT / "templates"}"
classify_rules = "{ROOT / "rules" / "classify.toml"}"
policy = "{policy}"
{extra}
[smtp]
host = "127.0.0.1"
port = {smtp.port}
tls = "none"
{smtp_extra}
{mailbox_tables}
"""
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def mailbox_table(user: str, port: int, extra: str = "") -> str:
    return f"""
[[mailbox]]
name = "{user}"
host = "127.0.0.1"
port = {port}
tls = "none"
username = "{user}"
password_env = "TEST_IMAP_PASSWORD"
{extra}
"""


ENVIRON = {"TEST_IMAP_PASSWORD": PASSWORD}


@pytest.fixture
def make_app(
    tmp_path: Path,
    dovecot: Dovecot,
    smtp_server: SmtpCapture,
    database_url: str,
    clock: Clock,
) -> Iterator[Callable[..., App]]:
    apps: list[App] = []

    def factory(
        extra: str = "", mailboxes: str | None = None, policy: str = "lgsco-hos-code", smtp_extra: str = ""
    ) -> App:
        path = write_config(
            tmp_path, dovecot, smtp_server, database_url, extra, mailboxes, policy, smtp_extra=smtp_extra
        )
        app = build_app(load_config(path, ENVIRON), clock=clock)
        apps.append(app)
        return app

    yield factory
    for app in apps:
        app.close()


@pytest.fixture
def app(make_app: Callable[..., App]) -> App:
    return make_app()
