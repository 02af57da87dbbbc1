"""Configuration: one TOML file loaded once into typed, frozen objects.

Every error a person can make in the file is reported with the file, the key and what would be accepted.
"""

from __future__ import annotations

import re
import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mailbot.config.digest import DigestSettings, settings_from_table
from mailbot.config.reader import ConfigError, TomlReader
from mailbot.config.retention import RetentionSettings, retention_from
from mailbot.config.servers import MailboxConfig, SmtpConfig, read_mailboxes, read_smtp
from mailbot.config.staff import StaffDirectory, load_staff
from mailbot.config.watching import WatchingSettings, watching_from
from mailbot.vocabulary import FORWARDED_MATTERS

# The policies, classification rules and letters shipped inside the package, used unless [cases] names the
# organisation's own. Resolved, because in a checkout mailbot/rules and mailbot/templates are links to the
# top-level folders, and a person reading an error should see the real path.
SHIPPED = Path(str(resources.files("mailbot")))
SHIPPED_POLICIES = (SHIPPED / "rules" / "policies").resolve()
SHIPPED_TEMPLATES = (SHIPPED / "templates").resolve()
SHIPPED_CLASSIFY_RULES = (SHIPPED / "rules" / "classify.toml").resolve()


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
    safeguarding_rules: Path  # the safeguarding indicators; beside classify_rules unless named
    default_policy: str
    persistent_after: int  # this many new items from one address ...
    persistent_within_days: int  # ... within this many days flags the sender as persistent
    # When the kind of new feedback is unsure: "complaint" runs it on the complaint clock (the protective
    # reading most policies state: "if in doubt, treat it as a complaint"); "best_guess" keeps the guess.
    when_unsure: str = "complaint"
    # The safeguarding backstop's model (classify/safeguarding_model.py); None when [cases]
    # safeguarding_backstop = false, and the indicators screen alone.
    safeguarding_model: Path | None = None


@dataclass(frozen=True)
class DeliveryConfig:
    max_automatic_per_address_per_day: int
    retry_minutes: tuple[int, ...]
    give_up_after_hours: int
    # Notices to one member of staff about one sender sent one by one in a clock hour; the rest of the hour's
    # are listed in one notice at its end (outgoing/bundles.py).
    staff_notices_per_sender_per_hour: int = 3


@dataclass(frozen=True)
class IntakeConfig:
    # Senders (web forms, relays) whose Reply-To names the person who wrote; for anyone else we acknowledge
    # the From address. Lower case; compared as mailboxes (checked.same_mailbox) where they are used.
    reply_to_trusted_senders: frozenset[str] = frozenset()


@dataclass(frozen=True)
class SpamConfig:
    """[spam]: whose verdicts count, and an optional local rspamd to ask."""

    trusted_servers: frozenset[str]  # receiving servers whose spam headers count; default [staff]'s ids
    rspamd_url: str | None  # e.g. "http://127.0.0.1:11333": rspamd's normal worker, asked over HTTP
    rspamd_timeout_seconds: float
    rspamd_spam_actions: tuple[str, ...] = ("reject",)  # rspamd's actions that mean spam here


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
    intake: IntakeConfig = field(default_factory=IntakeConfig)
    spam: SpamConfig = field(default_factory=lambda: SpamConfig(frozenset(), None, 10.0))
    retention: RetentionSettings = field(default_factory=RetentionSettings)  # [retention]: how long kept
    watching: WatchingSettings = field(default_factory=WatchingSettings)  # [metrics] and [logging]

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
    url = _database_url(database, f"sqlite:///{base / 'var' / 'mailbot.db'}")
    database.finish()
    storage = top.sub("storage")
    storage_dir = _path(base, storage.text("directory", "var/store"))
    storage.finish()
    mailboxes = read_mailboxes(path, top, environ, cases.default_policy)
    smtp = read_smtp(top.sub("smtp", required=True), environ, base)
    delivery = _delivery(top.sub("delivery"))
    staff = _staff(top, path)
    forwarding = _forwarding(top.sub("forwarding"))
    digest = _digest(top, path)
    intake = _intake(top.sub("intake"), staff)
    spam = _spam(top.sub("spam"), staff)
    retention = retention_from(top.sub("retention"))
    watching = watching_from(top.sub("metrics"), top.sub("logging"))
    top.finish()
    return Config(
        path, organisation, mailboxes, smtp, url, storage_dir, timezone, poll, flush, cases, delivery, staff,
        forwarding, digest, intake, spam, retention, watching,
    )  # fmt: skip


# The databases mailbot runs on, as SQLAlchemy names them: "sqlite", "postgresql" or "postgresql+DRIVER".
_DATABASE_SCHEME = re.compile(r"(sqlite|postgresql(\+[a-z0-9]+)?)://")


def _database_url(reader: TomlReader, default: str) -> str:
    """Only the scheme is shown back: the rest of a URL may hold a password."""
    url = reader.text("url", default)
    if not _DATABASE_SCHEME.match(url):
        scheme = url.split("://", 1)[0] + "://" if "://" in url else url[:12]
        raise reader.error(
            "url",
            f'expected "sqlite:///PATH" or "postgresql+psycopg://USER@HOST/DATABASE", got one starting '
            f"{scheme!r}",
        )
    return url


def _spam(reader: TomlReader, staff: StaffDirectory | None) -> SpamConfig:
    """Spam verdicts count only from servers named here (by default the servers [staff] trusts for
    Authentication-Results); "microsoft365" trusts Exchange Online's SCL and X-Forefront-Antispam-Report."""
    default = sorted(staff.trusted_authserv_ids) if staff else []
    servers = reader.strings("trusted_servers", default, "a list of receiving server names")
    url = reader.get("rspamd_url", str, None, 'rspamd\'s HTTP address, e.g. "http://127.0.0.1:11333"')
    if url is not None and not url.startswith(("http://", "https://")):
        raise reader.error(
            "rspamd_url", f'expected an http:// address such as "http://127.0.0.1:11333", got {url!r}'
        )
    timeout = float(reader.positive("rspamd_timeout_seconds", 10))
    actions = reader.choices("rspamd_spam_actions", RSPAMD_ACTIONS) or ("reject",)
    reader.finish()
    return SpamConfig(frozenset(s.strip().lower() for s in servers), url, timeout, actions)


RSPAMD_ACTIONS = ("reject", "soft reject", "rewrite subject", "add header", "greylist")


def _staff(top: TomlReader, path: Path) -> StaffDirectory | None:

    table = top.get("staff", dict, None, "a [staff] table")
    return load_staff(table, path) if table is not None else None


def _digest(top: TomlReader, path: Path) -> DigestSettings | None:

    table = top.get("digest", dict, None, "a [digest] table")
    return settings_from_table(table, path) if table is not None else None


def _intake(reader: TomlReader, staff: StaffDirectory | None) -> IntakeConfig:
    """Whose Reply-To we follow. Only a sender our receiving server vouches for (by [staff]
    trusted_authserv_ids) is believed, or anyone could write "From: forms@..." and have us write to a third
    party."""
    what = 'a list of email addresses, e.g. ["forms@example.org"]'
    senders = reader.get("reply_to_trusted_senders", list, [], what)
    for sender in senders:
        if not isinstance(sender, str) or "@" not in sender or " " in sender.strip():
            raise reader.error("reply_to_trusted_senders", f"expected {what}, got {sender!r}")
    if senders and staff is None:
        raise reader.error(
            "reply_to_trusted_senders",
            "needs a [staff] table with trusted_authserv_ids: a Reply-To is followed only when our receiving "
            "server vouches for the sender",
        )
    reader.finish()
    return IntakeConfig(frozenset(s.strip().lower() for s in senders))


# Where [forwarding] sends what is kept outside the complaints stages: the matters the procedure excludes,
# and the two requests with their own law, each to its officer.
FORWARDING_KEYS = (*FORWARDED_MATTERS, "subject_access", "foi")


def _forwarding(reader: TomlReader) -> Mapping[str, str]:
    """Where mail outside the complaints procedure is forwarded, e.g. staff_matter = "hr@…"."""
    forwarding = {matter: _address(reader, matter, None) for matter in FORWARDING_KEYS}
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
    policies = _own_or_shipped(reader, base, "policies_dir", SHIPPED_POLICIES)
    templates = _own_or_shipped(reader, base, "templates_dir", SHIPPED_TEMPLATES)
    classify = _own_or_shipped(reader, base, "classify_rules", SHIPPED_CLASSIFY_RULES)
    safeguarding = _path(
        base, reader.text("safeguarding_rules", str(classify.with_name("safeguarding.toml")))
    )
    default_policy = reader.text("policy", "lgsco-hos-code")
    persistent_after = reader.positive("persistent_after", 3)
    persistent_within_days = reader.positive("persistent_within_days", 30)
    when_unsure = reader.choice("when_unsure", ("complaint", "best_guess"), "complaint")
    backstop = _backstop_model(reader, base, safeguarding)
    reader.finish()
    return CasesConfig(
        reference_format,
        policies,
        templates,
        classify,
        safeguarding,
        default_policy,
        persistent_after,
        persistent_within_days,
        when_unsure,
        backstop,
    )


def _backstop_model(reader: TomlReader, base: Path, safeguarding: Path) -> Path | None:
    """The backstop's model: as named, else beside the indicators when one is there, else the shipped one."""
    if not reader.get("safeguarding_backstop", bool, True, "true or false"):
        reader.text("safeguarding_model", None)  # read, so naming a model with the backstop off is no error
        return None
    beside = safeguarding.with_name("safeguarding_model.json")
    shipped = SHIPPED_CLASSIFY_RULES.with_name("safeguarding_model.json")
    return _path(base, reader.text("safeguarding_model", str(beside if beside.exists() else shipped)))


def _own_or_shipped(reader: TomlReader, base: Path, key: str, shipped: Path) -> Path:
    own = reader.text(key, None)
    return _path(base, own) if own is not None else shipped


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


def _delivery(reader: TomlReader) -> DeliveryConfig:
    cap = reader.positive("max_automatic_per_address_per_day", 3)
    retry = reader.get("retry_minutes", list, [1, 5, 15, 60, 240], "a list of minutes")
    if not retry or not all(isinstance(m, int) and not isinstance(m, bool) and m > 0 for m in retry):
        raise reader.error("retry_minutes", f"expected a list of positive whole minutes, got {retry!r}")
    give_up = reader.positive("give_up_after_hours", 48)
    per_hour = reader.positive("staff_notices_per_sender_per_hour", 3)
    reader.finish()
    return DeliveryConfig(cap, tuple(retry), give_up, per_hour)
