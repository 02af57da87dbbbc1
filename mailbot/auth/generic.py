"""Tokens from any OAuth2 token endpoint (RFC 6749): client credentials, or a refresh token when the
provider only grants mailbox access to a person who signed in."""

from __future__ import annotations

import time
from typing import Any

from mailbot.auth.http import session_for
from mailbot.auth.tokens import Fetch, Token, TokenError, token_from_reply
from mailbot.config.auth import OAuthSettings
from mailbot.private_files import write_private


def fetcher(settings: OAuthSettings) -> Fetch:
    def fetch() -> Token:
        reply = _post(settings, _grant(settings))
        if "access_token" not in reply:
            error = reply.get("error_description") or reply.get("error") or "no reason given"
            raise TokenError(f"{settings.login}: {settings.token_url} refused a token: {str(error)[:300]}")
        if settings.refresh_token_file is not None and reply.get("refresh_token"):
            write_private(settings.refresh_token_file, str(reply["refresh_token"]).encode())
        return token_from_reply(settings, reply, time.time())

    return fetch


def _grant(settings: OAuthSettings) -> dict[str, str]:
    form = {"client_id": settings.client_id or ""}
    if settings.client_secret:
        form["client_secret"] = settings.client_secret
    if settings.scope:
        form["scope"] = settings.scope
    if settings.refresh_token_file is None:
        return form | {"grant_type": "client_credentials"}
    path = settings.refresh_token_file
    token = path.read_text(encoding="ascii").strip() if path.exists() else ""
    if not token:
        raise TokenError(
            f"{settings.login}: no refresh token in {path}: save the one your sign-in gave there"
        )
    return form | {"grant_type": "refresh_token", "refresh_token": token}


def _post(settings: OAuthSettings, form: dict[str, str]) -> dict[str, Any]:
    import requests

    try:
        response = session_for(settings).post(str(settings.token_url), data=form)
    except requests.RequestException as exc:
        raise TokenError(
            f"{settings.login}: cannot reach {settings.token_url}: {type(exc).__name__}"
        ) from None
    try:
        reply = response.json()
    except ValueError:
        reply = {}
    if not isinstance(reply, dict):
        reply = {}
    if not response.ok and "error" not in reply:
        reply["error"] = f"HTTP {response.status_code}"
    return reply
