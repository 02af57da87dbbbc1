"""``mailbot check-config``: everything the bot will need, tried before it runs. The file must read; then each
policy named must exist and pass ``policy check``, the rules and letters must load, the database must answer,
every secret variable must be set, each mailbox must log in and have its folders, and the SMTP server must
take a login. Each problem is one line on stderr naming the file and key and what to do; exit 1 if any."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mailbot.cli.opening import config_from
from mailbot.config.reader import ConfigError
from mailbot.errors import MailbotError

if TYPE_CHECKING:
    from imapclient import IMAPClient

    from mailbot.config.servers import MailboxConfig
    from mailbot.config.settings import Config


@dataclass(frozen=True)
class Finding:
    """One line of the report: what was checked and what was found."""

    ok: bool
    text: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'} {self.text}"


def cmd_check_config(args: argparse.Namespace) -> int:
    config = config_from(args)  # a file that does not read is one line from cli.main, naming the key
    print(f"{config.path}: the file reads correctly; checking what it names")
    for line in data_lines(config):
        print(line)
    if config.staff is None:
        print(
            "warning: no [staff] directory: safeguarding alerts and bounce notices will reach nobody",
            file=sys.stderr,
        )
    failures = sum(_report(finding) for finding in all_findings(config))
    if failures:
        print(f"mailbot: {config.path}: {failures} problem(s); the bot would not run as configured",
              file=sys.stderr)  # fmt: skip
    return 1 if failures else 0


def _report(finding: Finding) -> int:
    """ok lines on stdout, FAIL lines on stderr (where errors go), each flushed so a terminal shows them in
    the order they were checked."""
    sys.stdout.flush()
    print(finding.line(), file=sys.stdout if finding.ok else sys.stderr, flush=True)
    return 0 if finding.ok else 1


def data_lines(config: Config) -> list[str]:
    """Where the policies, classification rules and letters come from: shipped with mailbot, or the
    organisation's own, named in [cases]."""
    from mailbot.config import settings

    chosen = (
        ("policies", config.cases.policies_dir, settings.SHIPPED_POLICIES),
        ("templates", config.cases.templates_dir, settings.SHIPPED_TEMPLATES),
        ("classification rules", config.cases.classify_rules, settings.SHIPPED_CLASSIFY_RULES),
    )
    return [f"{what}: {path}" + (" (shipped)" if path == shipped else "") for what, path, shipped in chosen]


def all_findings(config: Config) -> Iterator[Finding]:
    yield from policy_findings(config)
    yield from data_findings(config)
    yield database_finding(config)
    for index, box in enumerate(config.mailboxes):
        yield from mailbox_findings(config, index, box)
    yield smtp_finding(config)
    if config.spam.rspamd_url is not None:
        yield rspamd_finding(config)


def problem(config: Config, key: str, message: str) -> Finding:
    """A failure worded as the loader words its own: the file, the key, what is wrong and what to do."""
    return Finding(False, str(ConfigError(config.path, key, message)))


# --- what the file names on disk ------------------------------------------------------------------------


def policy_findings(config: Config) -> Iterator[Finding]:
    """Every policy file in the folder passes ``policy check``, and every policy named is one of them."""
    from mailbot.policy import load_policies

    try:
        policies = load_policies(config.cases.policies_dir)
    except MailbotError as exc:
        yield problem(config, "cases.policies_dir", f"{exc}; fix it and run `mailbot policy check FILE`")
        return
    available = ", ".join(sorted(policies))
    named = {("cases.policy", config.cases.default_policy)}
    named |= {  # a mailbox without a policy of its own has [cases]'s, reported once under its key
        (f"mailbox[{i}].policy", box.policy)
        for i, box in enumerate(config.mailboxes)
        if box.policy != config.cases.default_policy
    }
    missing = sorted((key, name) for key, name in named if name not in policies)
    for key, name in missing:
        yield problem(
            config, key, f"no policy {name!r} in {config.cases.policies_dir}; name one of: {available}"
        )
    if not missing:
        used = sorted({name for _, name in named})
        yield Finding(
            True, f"policies: {', '.join(used)} found; all {len(policies)} file(s) pass policy check"
        )


def data_findings(config: Config) -> Iterator[Finding]:
    """The classification and safeguarding rules and the letters load as the running bot loads them."""
    from mailbot.classify import load_chain
    from mailbot.classify.safeguarding import load_screening
    from mailbot.classify.safeguarding_model import load as load_backstop
    from mailbot.outgoing.letters import Letters

    loaders: tuple[tuple[str, Callable[[], object]], ...] = (
        ("cases.classify_rules", lambda: load_chain(config.cases.classify_rules)),
        ("cases.safeguarding_rules", lambda: load_screening(config.cases.safeguarding_rules)),
        ("cases.templates_dir", lambda: Letters(config.cases.templates_dir)),
    )
    if config.cases.safeguarding_model is not None:  # the backstop is on: its model must load too
        model = config.cases.safeguarding_model
        loaders += (("cases.safeguarding_model", lambda: load_backstop(model)),)
    for key, load in loaders:
        try:
            load()
        except (MailbotError, OSError) as exc:
            yield problem(config, key, f"{exc}; name a file or folder that loads, or remove the key")
            continue
        yield Finding(True, f"{key.removeprefix('cases.').replace('_', ' ')}: loaded")


# --- the database ---------------------------------------------------------------------------------------


def database_finding(config: Config) -> Finding:
    """The database answers (a SQLite file not yet written is fine: the first run creates it)."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from mailbot.db.session import database_exists, make_engine

    url = make_url(config.database_url)
    shown = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite" and not database_exists(config.database_url):
        return _sqlite_to_be_created(config, url.database or "", shown)
    try:
        engine = make_engine(config.database_url)
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        finally:
            engine.dispose()
    except (SQLAlchemyError, OSError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return problem(config, "database.url", f"cannot connect to {shown}: {reason}")
    return Finding(True, f"database: connected to {shown}")


def _sqlite_to_be_created(config: Config, database: str, shown: str) -> Finding:
    folder = Path(database).parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir() or not _writable(folder):
        return problem(config, "database.url", f"cannot create {database}: {folder} is not a writable folder")
    return Finding(
        True, f"database: {shown} is not there yet; `mailbot db upgrade` or the first run makes it"
    )


def _writable(folder: Path) -> bool:
    return os.access(folder, os.W_OK | os.X_OK)


# --- the mail servers -----------------------------------------------------------------------------------


def unset_secret(config: Config, key: str, variable: str | None, value: str | None) -> Finding | None:
    if variable and value is None:
        return problem(
            config,
            key,
            f"environment variable {variable} is not set; set it to the password (for a service, in the "
            "unit's EnvironmentFile)",
        )
    return None


def mailbox_findings(config: Config, index: int, box: MailboxConfig) -> Iterator[Finding]:
    """Log in; then the folder polled, the folder processed mail is moved to, and the Sent folder."""
    from imapclient.exceptions import IMAPClientError

    from mailbot.intake import mailbox

    unset = unset_secret(config, f"mailbox[{index}].password_env", box.password_env, box.password)
    if unset is not None and box.auth == "password":
        yield unset
        return
    try:
        with mailbox.connect(box) as client:
            yield Finding(True, f"{box.name}: logged in to {box.host}:{box.port} as {box.username}")
            yield from folder_findings(config, index, box, client)
    except (mailbox.MailboxError, IMAPClientError, OSError) as exc:
        yield Finding(False, f"mailbox {box.name}: {exc}")


def folder_findings(config: Config, index: int, box: MailboxConfig, client: IMAPClient) -> Iterator[Finding]:
    from imapclient.imapclient import SENT

    folders = [name for _, _, name in client.list_folders()]
    shown = ", ".join(folders)
    key = f"mailbox[{index}]"
    if box.folder in folders:
        info = client.select_folder(box.folder, readonly=True)
        yield Finding(True, f"{box.name}: {box.folder} has {int(info[b'EXISTS'])} message(s)")
    else:
        yield problem(config, f"{key}.folder", f"no folder {box.folder!r} on {box.host} (folders: {shown})")
    if box.processed_folder and box.processed_folder not in folders:
        yield problem(
            config,
            f"{key}.processed_folder",
            f"no folder {box.processed_folder!r} on {box.host} (folders: {shown}); create it or name one",
        )
    if box.sent_folder:
        if box.sent_folder not in folders:
            yield problem(
                config,
                f"{key}.sent_folder",
                f"no folder {box.sent_folder!r} on {box.host} (folders: {shown}); name one, or remove the "
                "key to use the folder the server marks \\Sent",
            )
        return
    special = client.find_special_folder(SENT)
    if special:
        yield Finding(True, f"{box.name}: Sent folder {special!r} (the server marks it \\Sent)")
    else:
        yield Finding(
            True,
            f"{box.name}: the server marks no folder \\Sent; copies go to 'Sent' (created if missing), or "
            f"set {key}.sent_folder",
        )


def smtp_finding(config: Config) -> Finding:
    import aiosmtplib

    from mailbot.outgoing import smtp

    unset = unset_secret(config, "smtp.password_env", config.smtp.password_env, config.smtp.password)
    if unset is not None and config.smtp.auth == "password":
        return unset
    try:
        return Finding(True, asyncio.run(smtp.check_login(config.smtp)))
    except (MailbotError, OSError, aiosmtplib.SMTPException) as exc:
        return Finding(False, f"smtp: {exc}")


def rspamd_finding(config: Config) -> Finding:
    """[spam] rspamd_url answers a check as the bot will ask it (an unreachable rspamd is only logged while
    the bot runs, and mail is then judged on its headers alone: worth knowing before)."""
    from mailbot.classify import rspamd

    try:
        answer = rspamd.check(config.spam.rspamd_url or "", PROBE, config.spam.rspamd_timeout_seconds)
    except rspamd.RspamdUnavailable as exc:
        return problem(
            config, "spam.rspamd_url", f"{exc}; start rspamd, correct the address, or remove the key"
        )
    return Finding(True, f"rspamd: {config.spam.rspamd_url} answered ({answer.detail})")


PROBE = b"From: check-config@mailbot.invalid\r\nSubject: mailbot check-config\r\n\r\nA test.\r\n"
