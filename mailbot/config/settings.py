"""Configuration: one TOML file loaded once into typed, frozen objects.

Every error a person can make in the file is reported with the file, the key and what would be accepted.
"""

from __future__ import annotations

import ipaddress
import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mailbot.config.digest import DigestSettings, settings_from_table
from mailbot.config.reader import ConfigError, TomlReader
from mailbot.config.staff import StaffDirectory, load_staff

TLS_MODES = ("tls", "starttls", "none")
AUTH_METHODS = ("password",)  # OAuth2 (Microsoft 365, Google Workspace) slots in beside this.


@dataclass(frozen=True)
class MailboxConfig:
    name: str
    host: str
    port: int
    tls: str
    username: str
    auth: str
    password_env: str
    password: str | None = field(repr=False)
    folder: str
    sent_folder: str
    processed_folder: str | None
    policy: str
    batch_size: int

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
    timeout_seconds: float


@dataclass(frozen=True)
class OrganisationConfig:
    name: str
    from_address: str
    from_name: str
    domain: str
    own_addresses: frozenset[str]
    show_staff_addresses: bool = False  # relayed replies show the coordinator's own address in the signature


@dataclass(frozen=True)
class CasesConfig:
    reference_format: str
    policies_dir: Path
    templates_dir: Path
    classify_rules: Path
    default_policy: str
    persistent_after: int  # this many new items from one address ...
    persistent_within_days: int  # ... within this many days flags the sender as persistent


@dataclass(frozen=True)
class DeliveryConfig:
    max_automatic_per_address_per_day: int
    retry_minutes: tuple[int, ...]
    give_up_after_hours: int
    # Notices to one member of staff about one sender sent one by one in a clock hour; the rest of the hour's
    # are listed in one notice at its end (outgoing/bundles.py).
    staff_notices_per_sender_per_hour: int = 3


@dataclass(frozen=True)
class Config:
    path: Path
    organisation: OrganisationConfig
    mailboxes: tuple[MailboxConfig, ...]
    smtp: SmtpConfig
    database_url: str
    storage_dir: Path
    timezone: str
    poll_interval_seconds: int
    flush_interval_seconds: int
    cases: CasesConfig
    delivery: DeliveryConfig
    staff: StaffDirectory | None = None
    forwarding: Mapping[str, str] = field(default_factory=dict)
    digest: DigestSettings | None = None  # [digest]: the weekly digest and the daily deadline watch

    def mailbox(self, name: str) -> MailboxConfig:
        for mailbox in self.mailboxes:
            if mailbox.name == name:
                return mailbox
        raise KeyError(name)

    @property
    def own_addresses(self) -> frozenset[str]:
        return self.organisation.own_addresses | {
            m.username.lower() for m in self.mailboxes if "@" in m.username
        }


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_config(path: Path | str, environ: Mapping[str, str]) -> Config:
    """Load and validate the configuration; `environ` supplies the passwords named by `password_env`."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(path, "(file)", "no such file; copy config.example.toml and edit it") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "(syntax)", str(exc)) from None
    return _build(path, TomlReader(path, data, ""), environ)


def _build(path: Path, top: TomlReader, environ: Mapping[str, str]) -> Config:
    base = path.parent.resolve()
    organisation = _organisation(top.sub("organisation", required=True))
    cases = _cases(top.sub("cases"), base)
    schedule = top.sub("schedule")
    timezone = _timezone(schedule)
    poll = schedule.positive("poll_interval_seconds", 120)
    flush = schedule.positive("flush_interval_seconds", 60)
    schedule.finish()
    database = top.sub("database")
    url = database.text("url", f"sqlite:///{base / 'var' / 'mailbot.db'}")
    database.finish()
    storage = top.sub("storage")
    storage_dir = _path(base, storage.text("directory", "var/store"))
    storage.finish()
    mailboxes = _mailboxes(path, top, environ, cases.default_policy)
    smtp = _smtp(top.sub("smtp", required=True), environ)
    delivery = _delivery(top.sub("delivery"))
    staff = _staff(top, path)
    forwarding = _forwarding(top.sub("forwarding"))
    digest = _digest(top, path)
    top.finish()
    return Config(
        path, organisation, mailboxes, smtp, url, storage_dir, timezone, poll, flush, cases, delivery, staff,
        forwarding, digest,
    )  # fmt: skip


def _staff(top: TomlReader, path: Path) -> StaffDirectory | None:

    table = top.get("staff", dict, None, "a [staff] table")
    return load_staff(table, path) if table is not None else None


def _digest(top: TomlReader, path: Path) -> DigestSettings | None:

    table = top.get("digest", dict, None, "a [digest] table")
    return settings_from_table(table, path) if table is not None else None


FORWARDED_MATTERS = ("staff_matter", "business_dispute")


def _forwarding(reader: TomlReader) -> Mapping[str, str]:
    """Where mail outside the complaints procedure is forwarded, e.g. staff_matter = "hr@…"."""
    forwarding = {matter: _address(reader, matter, None) for matter in FORWARDED_MATTERS}
    reader.finish()
    return {matter: address for matter, address in forwarding.items() if address}


def _path(base: Path, value: str) -> Path:
    candidate = Path(value).expanduser()
    return candidate if candidate.is_absolute() else base / candidate


def _timezone(reader: TomlReader) -> str:
    name = reader.text("timezone", "Europe/London")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise reader.error("timezone", f"unknown time zone {name!r} (e.g. Europe/London)") from None
    return name


def _address(reader: TomlReader, name: str, default: Any = ...) -> str:
    value = reader.text(name, default)
    if value is not None and ("@" not in value or " " in value.strip()):
        raise reader.error(name, f"expected an email address, got {value!r}")
    return value.strip().lower() if value else value


def _organisation(reader: TomlReader) -> OrganisationConfig:
    name = reader.text("name")
    from_address = _address(reader, "from_address")
    from_name = reader.text("from_name", name)
    domain = reader.text("domain", from_address.rsplit("@", 1)[1])
    extra = reader.get("own_addresses", list, [], "a list of email addresses")
    own = frozenset(str(a).strip().lower() for a in extra) | {from_address}
    show = reader.get("show_staff_addresses", bool, False, "true or false")
    reader.finish()
    return OrganisationConfig(name, from_address, from_name, domain, own, show)


def _cases(reader: TomlReader, base: Path) -> CasesConfig:
    reference_format = reader.text("reference_format", "CMP-{year}-{seq:04d}")
    _check_reference_format(reader, reference_format)
    policies = _path(base, reader.text("policies_dir", "rules/policies"))
    templates = _path(base, reader.text("templates_dir", "templates"))
    classify = _path(base, reader.text("classify_rules", "rules/classify.toml"))
    default_policy = reader.text("policy", "lgsco-hos-code")
    persistent_after = reader.positive("persistent_after", 3)
    persistent_within_days = reader.positive("persistent_within_days", 30)
    reader.finish()
    return CasesConfig(
        reference_format,
        policies,
        templates,
        classify,
        default_policy,
        persistent_after,
        persistent_within_days,
    )


def _check_reference_format(reader: TomlReader, fmt: str) -> None:
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(fmt) if name is not None}
        fmt.format(year=2026, seq=1)
    except (ValueError, KeyError, IndexError) as exc:
        raise reader.error(
            "reference_format", f"not a valid format ({exc}); e.g. 'CMP-{{year}}-{{seq:04d}}'"
        ) from None
    if fields != {"year", "seq"}:
        raise reader.error("reference_format", "must contain {year} and {seq} and nothing else in braces")


def _mailboxes(
    path: Path, top: TomlReader, environ: Mapping[str, str], policy: str
) -> tuple[MailboxConfig, ...]:
    tables = top.get("mailbox", list, ..., "one or more [[mailbox]] tables")
    if not tables:
        raise top.error("mailbox", "at least one [[mailbox]] is required")
    boxes = tuple(
        _mailbox(TomlReader(path, t, f"mailbox[{i}]"), environ, policy) for i, t in enumerate(tables)
    )
    names = [b.name for b in boxes]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise ConfigError(path, f"mailbox[{i}].name", f"duplicate mailbox name {name!r}")
    return boxes


def _mailbox(reader: TomlReader, environ: Mapping[str, str], policy: str) -> MailboxConfig:
    if "password" in reader.table:
        raise reader.error(
            "password",
            'passwords are never stored in the file; name an environment variable with password_env = "..."',
        )
    host = reader.text("host")
    tls = _tls(reader, host, "tls")
    default_port = 993 if tls == "tls" else 143
    auth = reader.choice("auth", AUTH_METHODS, "password")
    password_env = reader.text("password_env")
    box = MailboxConfig(
        name=reader.text("name"),
        host=host,
        port=reader.positive("port", default_port),
        tls=tls,
        username=reader.text("username"),
        auth=auth,
        password_env=password_env,
        password=environ.get(password_env),
        folder=reader.text("folder", "INBOX"),
        sent_folder=reader.text("sent_folder", "Sent"),
        processed_folder=reader.get("processed_folder", str, None, "a folder name") or None,
        policy=reader.text("policy", policy),
        batch_size=reader.positive("batch_size", 50),
    )
    reader.finish()
    return box


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


def _smtp(reader: TomlReader, environ: Mapping[str, str]) -> SmtpConfig:
    if "password" in reader.table:
        raise reader.error("password", "passwords are never stored in the file; use password_env")
    tls = _tls(reader, reader.text("host"), "starttls")
    default_port = {"tls": 465, "starttls": 587, "none": 25}[tls]
    username = reader.get("username", str, None, "a string")
    password_env = reader.get("password_env", str, None, "an environment variable name")
    if username and not password_env:
        raise reader.error("password_env", "is required when smtp.username is set")
    smtp = SmtpConfig(
        host=reader.text("host"),
        port=reader.positive("port", default_port),
        tls=tls,
        username=username,
        password_env=password_env,
        password=environ.get(password_env) if password_env else None,
        timeout_seconds=float(reader.positive("timeout_seconds", 60)),
    )
    reader.finish()
    return smtp


def _delivery(reader: TomlReader) -> DeliveryConfig:
    cap = reader.positive("max_automatic_per_address_per_day", 3)
    retry = reader.get("retry_minutes", list, [1, 5, 15, 60, 240], "a list of minutes")
    if not retry or not all(isinstance(m, int) and not isinstance(m, bool) and m > 0 for m in retry):
        raise reader.error("retry_minutes", f"expected a list of positive whole minutes, got {retry!r}")
    give_up = reader.positive("give_up_after_hours", 48)
    per_hour = reader.positive("staff_notices_per_sender_per_hour", 3)
    reader.finish()
    return DeliveryConfig(cap, tuple(retry), give_up, per_hour)
