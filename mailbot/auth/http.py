"""The HTTP session token requests go through: a timeout on every request, and the CA named by
``token_ca_file`` trusted even where REQUESTS_CA_BUNDLE is set (requests lets that variable win over a
session's own setting, but not over a per-request one)."""

from __future__ import annotations

import functools
from typing import Any

from mailbot.config.auth import OAuthSettings

TIMEOUT_SECONDS = 30


def session_for(settings: OAuthSettings) -> Any:
    import requests

    session = requests.Session()
    options: dict[str, Any] = {"timeout": TIMEOUT_SECONDS}
    if settings.token_ca_file is not None:
        options["verify"] = str(settings.token_ca_file)
    session.request = functools.partial(session.request, **options)  # type: ignore[method-assign]
    return session
