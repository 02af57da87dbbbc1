"""Tokens for Exchange Online with msal: the app's own access (client credentials: a secret or a certificate)
or a person's delegated sign-in (a refresh token saved by ``mailbot auth login``).

Entra ID's refusals carry AADSTS codes; ``_explain`` turns the common ones into what an administrator does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mailbot.auth.http import session_for
from mailbot.auth.tokens import Fetch, Token, TokenError, token_from_reply
from mailbot.config.auth import MICROSOFT_APP_SCOPE, MICROSOFT_AUTHORITY, MICROSOFT_USER_SCOPES, OAuthSettings
from mailbot.private_files import private_directory, write_private

_PORTAL = "Microsoft Entra admin centre > App registrations > your app"
_ADVICE = {
    "AADSTS90002": "tenant {tenant!r} was not found: set tenant to the Directory (tenant) ID shown on "
    + _PORTAL
    + " > Overview, or the organisation's domain (e.g. riverside.onmicrosoft.com)",
    "AADSTS700016": "client_id {client_id!r} is not an application in tenant {tenant!r}: set client_id to "
    "the Application (client) ID on " + _PORTAL + " > Overview, and check tenant is that app's directory",
    "AADSTS7000215": "the client secret was refused (from {source}): it may be the secret's ID rather than "
    "its Value, or it was deleted. Make a new one under " + _PORTAL + " > Certificates & secrets and put "
    "its Value there",
    "AADSTS7000222": "the client secret (from {source}) has expired. Make a new one under "
    + _PORTAL
    + " > Certificates & secrets, put its Value there, then delete the old one",
    "AADSTS700027": "the certificate in certificate_file does not match one uploaded to "
    + _PORTAL
    + " > Certificates & secrets (or certificate_thumbprint is not its thumbprint)",
    "AADSTS65001": "admin consent is missing: a Global or Privileged Role Administrator must press "
    "'Grant admin consent' under " + _PORTAL + " > API permissions",
    "AADSTS700082": "the saved sign-in has expired or was revoked: run `mailbot auth login {mailbox}` again",
    "AADSTS70008": "the saved sign-in has expired: run `mailbot auth login {mailbox}` again",
    "AADSTS50173": "the saved sign-in was revoked (a password change?): run `mailbot auth login {mailbox}` "
    "again",
}


def fetcher(settings: OAuthSettings) -> Fetch:
    """A function that fetches a new token each time it is called (``TokenSource`` caches them)."""
    built: list[Any] = []  # the msal application, made on first use: making it asks the tenant's metadata

    def fetch() -> Token:
        if not built:
            built.append(_application(settings))
        app = built[0]
        if settings.delegated:
            reply = _by_refresh_token(app, settings)
        else:
            app.remove_tokens_for_client()  # our own cache decides when a new one is due, not msal's
            reply = app.acquire_token_for_client([MICROSOFT_APP_SCOPE])
        if "access_token" not in reply:
            raise TokenError(f"{settings.login}: Microsoft 365 refused a token: {_explain(settings, reply)}")
        return token_from_reply(settings, reply, time.time())

    return fetch


def _application(settings: OAuthSettings) -> Any:
    import msal
    import requests

    options: dict[str, Any] = {
        "authority": f"{settings.authority}/{settings.tenant}",
        "http_client": session_for(settings),
    }
    if settings.authority != MICROSOFT_AUTHORITY:  # a national cloud, or a test authority on this machine
        options.update(validate_authority=False, instance_discovery=False)
    try:
        if settings.delegated:
            return msal.PublicClientApplication(settings.client_id, **options)
        return msal.ConfidentialClientApplication(settings.client_id, _credential(settings), **options)
    except ValueError as exc:  # msal drops the AADSTS code here; a tenant it cannot find is the usual cause
        found = "authority configuration" in str(exc)
        reply = {"error_description": "AADSTS90002: " if found else str(exc)}
        raise TokenError(f"{settings.login}: {_explain(settings, reply)}") from None
    except requests.RequestException as exc:
        raise TokenError(
            f"{settings.login}: cannot reach {settings.authority}: {type(exc).__name__}"
        ) from None


def _credential(settings: OAuthSettings) -> str | dict[str, str]:
    if settings.certificate_file is None:
        return settings.client_secret or ""
    pem = settings.certificate_file.read_text(encoding="ascii")
    credential = {"private_key": pem, "public_certificate": pem}
    if settings.certificate_thumbprint:
        credential["thumbprint"] = settings.certificate_thumbprint.replace(":", "")
    return credential


def _by_refresh_token(app: Any, settings: OAuthSettings) -> dict[str, Any]:
    path = settings.refresh_token_file
    assert path is not None
    refresh_token = _saved_refresh_token(settings, path)
    reply = app.acquire_token_by_refresh_token(refresh_token, list(MICROSOFT_USER_SCOPES))
    if reply.get("refresh_token"):  # Entra ID rotates them; the newest is the one that lasts
        write_private(path, reply["refresh_token"].encode())
    return reply


def _saved_refresh_token(settings: OAuthSettings, path: Path) -> str:
    try:
        token = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        token = ""
    if not token:
        raise TokenError(
            f"{settings.login}: no saved sign-in in {path}: run `mailbot auth login {_mailbox(settings)}`"
        )
    return token


def device_login(settings: OAuthSettings, show: Callable[[str], None]) -> None:
    """Sign a person in with a device code (``mailbot auth login``) and save the refresh token privately."""
    app = _application(settings)
    flow = app.initiate_device_flow(list(MICROSOFT_USER_SCOPES))
    if "user_code" not in flow:
        raise TokenError(
            f"{settings.login}: Microsoft 365 refused to start a sign-in: {_explain(settings, flow)}"
        )
    show(flow["message"])
    reply = app.acquire_token_by_device_flow(flow)
    if not reply.get("refresh_token"):
        raise TokenError(f"{settings.login}: the sign-in did not finish: {_explain(settings, reply)}")
    assert settings.refresh_token_file is not None
    private_directory(settings.refresh_token_file.parent)
    write_private(settings.refresh_token_file, reply["refresh_token"].encode())


def _explain(settings: OAuthSettings, reply: dict[str, Any]) -> str:
    """Plain words for Entra ID's error: the advice for its AADSTS code, else its own first sentence."""
    description = str(reply.get("error_description") or reply.get("error") or "no reason given")
    for code, advice in _ADVICE.items():
        if f"{code}:" in description or f"{code} " in description:
            return advice.format(
                tenant=settings.tenant, client_id=settings.client_id, source=settings.secret_source,
                mailbox=_mailbox(settings),
            )  # fmt: skip
    return description.splitlines()[0][:300]


def _mailbox(settings: OAuthSettings) -> str:
    return settings.login.removeprefix("mailbox ").strip("'")
