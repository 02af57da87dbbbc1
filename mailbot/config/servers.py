"""The servers in the configuration: each [[mailbox]] (IMAP) and the [smtp] relay, with how to log in and
whether plain text may cross the network."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mailbot.config.auth import AUTH_METHODS, OAuthSettings, read_oauth
from mailbot.config.reader import ConfigError, TomlReader

TLS_MODES = ("tls", "starttls", "none")
MAX_IDLE_MINUTES = 28
DEFAULT_IDLE_RENEW_MINUTES = 5
SENT_COPY = ("auto", "yes", "no")  # file a copy in Sent: "auto" where the server does not file its own


@dataclass(frozen=True)
class MailboxConfig:
    name: str
    host: str
    port: int
    tls: str
    username: str
    auth: str
    password_env: str | None
    password: str | None = field(repr=False)
    folder: str
    sent_folder: str | None  # None: the folder the server marks \\Sent (SPECIAL-USE), else "Sent"
    processed_folder: str | None
    policy: str
    batch_size: int
    oauth: OAuthSettings | None = None
    file_sent_copy: str = "auto"  # auto: not where the SMTP server files its own copy (Gmail, Microsoft 365)
    idle: bool = True  # wait for new mail with IMAP IDLE in `run`; polled where false or the server lacks it
    # IDLE is begun again this often, with a look at the folder in between: servers may drop an IDLE after
    # 29 minutes (RFC 2177), and Dovecot does not announce mail that came between the last look and the IDLE,
    # so such a mail waits at most this long.
    idle_renew_minutes: int = DEFAULT_IDLE_RENEW_MINUTES

    @property
    def is_loopback(self) -> bool:
        return is_loopback(self.host)


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    tls: str
    username: str | None
    password_env: str | None
    password: str | None = field(repr=False)
    timeout_seconds: float  # connecting and each command before the message itself
    # After the message's final ".": the server may be taking it, so we wait as long as RFC 5321 asks
    # (4.5.3.2.6: ten minutes) rather than give up and not know whether it left.
    final_reply_timeout_seconds: float = 600
    auth: str = "password"
    oauth: OAuthSettings | None = None
    # Connections delivery holds open to the server at once: letters go in waves of this many, their hand-over
    # recorded in one commit. 1 (the default) suits a provider that limits them; see the README.
    connections: int = 1


MOST_CONNECTIONS = 8


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_mailboxes(
    path: Path, top: TomlReader, environ: Mapping[str, str], policy: str
) -> tuple[MailboxConfig, ...]:
    tables = top.get("mailbox", list, ..., "one or more [[mailbox]] tables")
    if not tables:
        raise top.error("mailbox", "at least one [[mailbox]] is required")
    base = path.parent.resolve()
    boxes = tuple(
        _mailbox(TomlReader(path, t, f"mailbox[{i}]"), environ, policy, base) for i, t in enumerate(tables)
    )
    names = [b.name for b in boxes]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise ConfigError(path, f"mailbox[{i}].name", f"duplicate mailbox name {name!r}")
    return boxes


def _mailbox(reader: TomlReader, environ: Mapping[str, str], policy: str, base: Path) -> MailboxConfig:
    if "password" in reader.table:
        raise reader.error(
            "password",
            'passwords are never stored in the file; name an environment variable with password_env = "..."',
        )
    host = reader.text("host")
    tls = _tls(reader, host, "tls")
    default_port = 993 if tls == "tls" else 143
    name, username = reader.text("name"), reader.text("username")
    auth = reader.choice("auth", AUTH_METHODS, "password")
    password_env = _password_env(reader, auth, required=True)
    box = MailboxConfig(
        name=name,
        host=host,
        port=reader.port("port", default_port),
        tls=tls,
        username=username,
        auth=auth,
        password_env=password_env,
        password=environ.get(password_env) if password_env else None,
        folder=reader.text("folder", "INBOX"),
        sent_folder=reader.get("sent_folder", str, None, "a folder name") or None,
        processed_folder=reader.get("processed_folder", str, None, "a folder name") or None,
        policy=reader.text("policy", policy),
        batch_size=reader.positive("batch_size", 50),
        oauth=read_oauth(reader, environ, base, auth, f"mailbox {name!r}", username),
        file_sent_copy=reader.choice("file_sent_copy", SENT_COPY, "auto"),
        idle=reader.get("idle", bool, True, "true or false"),
        idle_renew_minutes=_idle_renew_minutes(reader),
    )
    reader.finish()
    return box


def _idle_renew_minutes(reader: TomlReader) -> int:
    minutes = reader.positive("idle_renew_minutes", DEFAULT_IDLE_RENEW_MINUTES)
    if minutes > MAX_IDLE_MINUTES:
        raise reader.error(
            "idle_renew_minutes",
            f"servers may drop an IDLE after 29 minutes (RFC 2177); give 1 to {MAX_IDLE_MINUTES}, "
            f"not {minutes}",
        )
    return minutes


def _password_env(reader: TomlReader, auth: str, required: bool) -> str | None:
    """A password is named only for ``auth = "password"``; OAuth2 logins use client credentials instead."""
    if auth == "password":
        return reader.text("password_env") if required else reader.get("password_env", str, None, "a name")
    if "password_env" in reader.table:
        raise reader.error("password_env", f"is not used with auth = {auth!r}; give the client credentials")
    return None


def _tls(reader: TomlReader, host: str, default: str) -> str:
    """Plain text over a network carries complainants' words and passwords in the clear: ``tls = "none"`` is
    for a server on this machine, or where ``allow_plaintext = true`` says a person chose it."""
    tls = reader.choice("tls", TLS_MODES, default)
    allowed = reader.get("allow_plaintext", bool, False, "true or false")
    if tls == "none" and not is_loopback(host) and not allowed:
        raise reader.error(
            "tls",
            f'"none" sends mail and passwords unencrypted to {host}; use "tls" or "starttls", or set '
            "allow_plaintext = true if this network is trusted",
        )
    return tls


def read_smtp(reader: TomlReader, environ: Mapping[str, str], base: Path) -> SmtpConfig:
    if "password" in reader.table:
        raise reader.error("password", "passwords are never stored in the file; use password_env")
    tls = _tls(reader, reader.text("host"), "starttls")
    default_port = {"tls": 465, "starttls": 587, "none": 25}[tls]
    auth = reader.choice("auth", AUTH_METHODS, "password")
    # An OAuth2 login is always as a mailbox: the token is for it.
    optional_username = reader.get("username", str, None, "a string")
    username = reader.text("username") if auth != "password" else optional_username
    password_env = _password_env(reader, auth, required=False)
    if username and auth == "password" and not password_env:
        raise reader.error("password_env", "is required when smtp.username is set")
    smtp = SmtpConfig(
        host=reader.text("host"),
        port=reader.port("port", default_port),
        tls=tls,
        username=username,
        password_env=password_env,
        password=environ.get(password_env) if password_env else None,
        timeout_seconds=float(reader.positive("timeout_seconds", 60)),
        final_reply_timeout_seconds=float(reader.positive("final_reply_timeout_seconds", 600)),
        auth=auth,
        oauth=read_oauth(reader, environ, base, auth, "smtp", username or ""),
        connections=_connections(reader),
    )
    reader.finish()
    return smtp


def _connections(reader: TomlReader) -> int:
    count = reader.positive("connections", 1)
    if count > MOST_CONNECTIONS:
        raise reader.wrong("connections", f"a whole number from 1 to {MOST_CONNECTIONS}", count)
    return count
