"""Tokens for Gmail (Google Workspace) with google-auth: a service account with domain-wide delegation acting
as the mailbox (``service_account_file``), or an OAuth client with a person's refresh token."""

from __future__ import annotations

import datetime
import json
import time
from typing import Any

from mailbot.auth.http import session_for
from mailbot.auth.tokens import Fetch, Token, TokenError
from mailbot.config.auth import GOOGLE_SCOPE, OAuthSettings
from mailbot.private_files import write_private

_DELEGATION = (
    "domain-wide delegation is not granted for the scope https://mail.google.com/: in the Google Admin "
    "console > Security > Access and data control > API controls > Manage Domain Wide Delegation, add the "
    "service account's Client ID ({client_id}) with exactly that scope"
)
_ADVICE = {
    "unauthorized_client": _DELEGATION,
    "Invalid JWT Signature": "the service account key in {file} was deleted or disabled: create a new key "
    "(Google Cloud console > IAM & Admin > Service Accounts > Keys) and save it there",
    "Invalid email or User ID": "{user} is not a user in the Workspace domain that granted the delegation",
    "Not a valid email": "{user} is not a user in the Workspace domain that granted the delegation",
    "Token has been expired or revoked": "the refresh token in {file} was revoked or has expired: sign in "
    "again and save the new refresh token there",
    "invalid_client": "client_id or the client secret ({source}) was refused: copy both again from Google "
    "Cloud console > APIs & Services > Credentials",
}


def fetcher(settings: OAuthSettings) -> Fetch:
    credentials = _credentials(settings)
    request = _request(settings)

    def fetch() -> Token:
        import google.auth.exceptions

        try:
            credentials.refresh(request)
        except google.auth.exceptions.RefreshError as exc:
            raise TokenError(f"{settings.login}: Google refused a token: {_explain(settings, exc)}") from None
        except google.auth.exceptions.TransportError as exc:
            raise TokenError(f"{settings.login}: cannot reach Google's token endpoint: {exc}") from None
        _keep_rotated_refresh_token(settings, credentials)
        expiry = credentials.expiry.replace(tzinfo=datetime.UTC)
        lifetime = max(1.0, (expiry - datetime.datetime.now(datetime.UTC)).total_seconds())
        return Token(credentials.token, time.time() + lifetime, lifetime)

    return fetch


def _credentials(settings: OAuthSettings) -> Any:
    if settings.service_account_file is not None:
        from google.oauth2 import service_account

        try:
            return service_account.Credentials.from_service_account_file(
                str(settings.service_account_file), scopes=[GOOGLE_SCOPE], subject=settings.username
            )
        except (ValueError, KeyError) as exc:
            raise TokenError(
                f"{settings.login}: {settings.service_account_file} is not a service account key (JSON, "
                f"as downloaded from the Google Cloud console): {exc}"
            ) from None
    from google.oauth2.credentials import Credentials

    return Credentials(
        token=None, refresh_token=_saved_refresh_token(settings), token_uri=settings.token_url,
        client_id=settings.client_id, client_secret=settings.client_secret, scopes=[GOOGLE_SCOPE],
    )  # fmt: skip


def _saved_refresh_token(settings: OAuthSettings) -> str:
    path = settings.refresh_token_file
    token = path.read_text(encoding="ascii").strip() if path is not None and path.exists() else ""
    if not token:
        raise TokenError(
            f"{settings.login}: no refresh token in {path}: save the one your sign-in gave there"
        )
    return token


def _keep_rotated_refresh_token(settings: OAuthSettings, credentials: Any) -> None:
    path = settings.refresh_token_file
    new = getattr(credentials, "refresh_token", None)
    if path is not None and new and new != _saved_refresh_token(settings):
        write_private(path, new.encode())


def _request(settings: OAuthSettings) -> Any:
    import google.auth.transport.requests

    return google.auth.transport.requests.Request(session_for(settings))


def _explain(settings: OAuthSettings, exc: Exception) -> str:
    text = str(exc.args[0]) if exc.args else str(exc)
    for marker, advice in _ADVICE.items():
        if marker in text:
            return advice.format(
                client_id=settings.client_id or _key_client_id(settings), user=settings.username,
                file=settings.service_account_file or settings.refresh_token_file,
                source=settings.secret_source,
            )  # fmt: skip
    return text.splitlines()[0][:300] if text else type(exc).__name__


def _key_client_id(settings: OAuthSettings) -> str:
    """The service account's numeric Client ID, which the delegation is granted to."""
    try:
        return str(json.loads(settings.service_account_file.read_text())["client_id"])  # type: ignore[union-attr]
    except (OSError, ValueError, KeyError, AttributeError):
        return "the client_id in the key file"
