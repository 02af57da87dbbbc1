"""OAuth2 logins for mailboxes and SMTP: Microsoft 365 (msal), Google Workspace (google-auth) and any other
OAuth2 token endpoint. ``source_for`` gives the one cached token source for a login's settings."""

from __future__ import annotations

import threading

from mailbot.auth import generic, google, microsoft
from mailbot.auth.refusals import explain_refusal
from mailbot.auth.tokens import Fetch, TokenError, TokenSource
from mailbot.config.auth import OAuthSettings

__all__ = ["TokenError", "TokenSource", "explain_refusal", "source_for"]

# One source per login for the life of the process, so a token fetched for one poll serves the next ones
# (the configuration is loaded once; equal settings are the same login).
_SOURCES: dict[OAuthSettings, TokenSource] = {}
_LOCK = threading.Lock()


def source_for(settings: OAuthSettings) -> TokenSource:
    with _LOCK:
        if settings not in _SOURCES:
            _SOURCES[settings] = TokenSource(settings, _fetcher(settings))
        return _SOURCES[settings]


def _fetcher(settings: OAuthSettings) -> Fetch:
    maker = {"microsoft365": microsoft.fetcher, "google": google.fetcher, "oauth2": generic.fetcher}
    return maker[settings.method](settings)
