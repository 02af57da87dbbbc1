"""How a mailbox or the SMTP server is logged in to: a password, or an OAuth2 token from Microsoft 365, Google
Workspace or another provider's token endpoint.

Secrets never live in the configuration file: they come from an environment variable (``*_env``) or from a
file (``*_file``) that only the service's own user can read.
"""

from __future__ import annotations

import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mailbot.config.reader import TomlReader

AUTH_METHODS = ("password", "microsoft365", "google", "oauth2")
MICROSOFT_AUTHORITY = "https://login.microsoftonline.com"
MICROSOFT_APP_SCOPE = "https://outlook.office365.com/.default"
MICROSOFT_USER_SCOPES = (
    "https://outlook.office365.com/IMAP.AccessAsUser.All",
    "https://outlook.office365.com/SMTP.Send",
)
GOOGLE_SCOPE = "https://mail.google.com/"
GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"
OAUTH_KEYS = (
    "tenant", "client_id", "client_secret_env", "client_secret_file", "certificate_file",
    "certificate_thumbprint", "service_account_file", "refresh_token_file", "token_url", "scope", "authority",
    "token_ca_file",
)  # fmt: skip


@dataclass(frozen=True)
class OAuthSettings:
    """Where a token comes from for one login (a mailbox, or SMTP)."""

    method: str  # microsoft365 | google | oauth2
    login: str  # "mailbox 'complaints'" or "smtp": named in every error
    username: str  # the mailbox the token is for (the XOAUTH2 user; Google's delegation subject)
    client_id: str | None
    client_secret: str | None = field(repr=False)
    secret_source: str  # the key that supplied the secret, e.g. "client_secret_env (MAILBOT_M365_SECRET)"
    tenant: str | None = None
    authority: str = MICROSOFT_AUTHORITY
    certificate_file: Path | None = None
    certificate_thumbprint: str | None = None
    service_account_file: Path | None = None
    refresh_token_file: Path | None = None
    token_url: str | None = None
    scope: str = ""
    token_ca_file: Path | None = None  # trust this CA for the token endpoint (a TLS-inspecting proxy)

    @property
    def delegated(self) -> bool:
        """Signed in as a person (a refresh token) rather than as the application itself."""
        return self.refresh_token_file is not None


def read_oauth(
    reader: TomlReader, environ: Mapping[str, str], base: Path, method: str, login: str, username: str
) -> OAuthSettings | None:
    """The OAuth2 keys for ``method``; every key not used by that method must be absent."""
    if method == "password":
        _refuse(reader, OAUTH_KEYS, 'is for OAuth2: set auth = "microsoft365", "google" or "oauth2"')
        return None
    secret, source = _secret(reader, environ, base)
    settings = OAuthSettings(
        method=method,
        login=login,
        username=username,
        client_id=reader.get("client_id", str, None, "the application (client) id"),
        client_secret=secret,
        secret_source=source,
        certificate_file=_private_path(reader, base, "certificate_file"),
        certificate_thumbprint=reader.get("certificate_thumbprint", str, None, "a thumbprint"),
        service_account_file=_private_path(reader, base, "service_account_file"),
        refresh_token_file=_private_path(reader, base, "refresh_token_file", may_be_missing=True),
        token_ca_file=_path(reader, base, "token_ca_file"),
        **_method_keys(reader, method),
    )
    _check_complete(reader, settings)
    return settings


def _method_keys(reader: TomlReader, method: str) -> dict[str, object]:
    if method == "microsoft365":
        unused = ("token_url", "scope", "service_account_file")
        _refuse(reader, unused, 'is not used with auth = "microsoft365"')
        return {
            "tenant": reader.text("tenant"),
            "authority": reader.text("authority", MICROSOFT_AUTHORITY).rstrip("/"),
        }
    _refuse(
        reader, ("tenant", "authority", "certificate_file", "certificate_thumbprint"),
        'is used only with auth = "microsoft365"',
    )  # fmt: skip
    if method == "google":
        _refuse(
            reader, ("scope",), 'is not used with auth = "google" (the scope is https://mail.google.com/)'
        )
        return {"token_url": reader.text("token_url", GOOGLE_TOKEN_URL), "scope": GOOGLE_SCOPE}
    _refuse(reader, ("service_account_file",), 'is used only with auth = "google"')
    return {"token_url": reader.text("token_url"), "scope": reader.get("scope", str, "", "a string")}


def _check_complete(reader: TomlReader, s: OAuthSettings) -> None:
    """Exactly one way to prove who we are, and the keys that way needs."""
    ways = {
        "a client secret (client_secret_env or client_secret_file)": s.client_secret is not None,
        "certificate_file": s.certificate_file is not None,
        "service_account_file": s.service_account_file is not None,
    }
    chosen = [name for name, given in ways.items() if given]
    if len(chosen) > 1:
        raise reader.error(chosen[1].split()[0], f"give only one of {', '.join(ways)}")
    if s.service_account_file is None and s.client_id is None:
        raise reader.error("client_id", f"is required with auth = {s.method!r} (the application's client id)")
    if not chosen and not (s.delegated and s.method == "microsoft365"):
        what = "client_secret_env, client_secret_file, certificate_file or refresh_token_file"
        if s.method == "google":
            what = "service_account_file, or client_secret_env/client_secret_file with refresh_token_file"
        raise reader.error("client_secret_env", f"no credential given: set one of {what}")


def _secret(reader: TomlReader, environ: Mapping[str, str], base: Path) -> tuple[str | None, str]:
    env = reader.get("client_secret_env", str, None, "an environment variable name")
    path = _private_path(reader, base, "client_secret_file")
    if env and path:
        raise reader.error("client_secret_file", "give client_secret_env or client_secret_file, not both")
    if env:
        if not environ.get(env):
            raise reader.error("client_secret_env", f"environment variable {env} is not set (or is empty)")
        return environ[env].strip(), f"client_secret_env ({env})"
    if path:
        value = path.read_text(encoding="utf-8").strip()
        if not value:
            raise reader.error("client_secret_file", f"{path} is empty")
        return value, f"client_secret_file ({path})"
    return None, ""


def _path(reader: TomlReader, base: Path, name: str) -> Path | None:
    value = reader.get(name, str, None, "a file path")
    if value is None:
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def _private_path(reader: TomlReader, base: Path, name: str, may_be_missing: bool = False) -> Path | None:
    """A file holding a secret must exist (unless it is written later) and be readable by its owner only."""
    path = _path(reader, base, name)
    if path is None:
        return None
    if not path.exists():
        if may_be_missing:
            return path
        raise reader.error(name, f"{path} does not exist")
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise reader.error(
            name, f"{path} can be read by other users (mode {mode:04o}); make it private: chmod 600 {path}"
        )
    return path


def _refuse(reader: TomlReader, names: tuple[str, ...], message: str) -> None:
    for name in names:
        if name in reader.table:
            raise reader.error(name, message)
