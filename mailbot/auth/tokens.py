"""Access tokens for one login, cached and fetched again before they expire.

A server that refuses a token we thought good (revoked, or its clock ahead of ours) gets one fresh token and
one more try: the login seams call ``renew()``, never a loop. No token or secret is ever put in a log line or
an error message; an error says which login failed and what a person can do about it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from mailbot.config.auth import OAuthSettings
from mailbot.errors import MailbotError

log = logging.getLogger(__name__)
EARLY_SECONDS = 300  # fetch a new token this long before the old one expires ...
EARLY_FRACTION = 0.2  # ... or this share of its lifetime, whichever is sooner (short-lived tokens)


class TokenError(MailbotError):
    """No token could be had for a login; the message names the login and says what to check."""


@dataclass(frozen=True)
class Token:
    value: str = field(repr=False)
    expires_at: float  # time.time() seconds
    lifetime: float

    @property
    def renew_at(self) -> float:
        return self.expires_at - min(EARLY_SECONDS, self.lifetime * EARLY_FRACTION)


Fetch = Callable[[], Token]


class TokenSource:
    """The current token for one login; thread-safe (the scheduler polls and sends from several threads)."""

    def __init__(self, settings: OAuthSettings, fetch: Fetch, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self._fetch = fetch
        self._clock = clock
        self._token: Token | None = None
        self._lock = threading.Lock()

    def token(self) -> str:
        """A token with time left on it, fetched only when the cached one is close to expiry."""
        with self._lock:
            if self._token is None or self._clock() >= self._token.renew_at:
                self._token = self._fetched("expired" if self._token else "first use")
            return self._token.value

    def renew(self) -> str:
        """A new token, whatever the cache holds: the server refused the one we had."""
        with self._lock:
            self._token = self._fetched("refused by the server")
            return self._token.value

    def _fetched(self, why: str) -> Token:
        token = self._fetch()
        log.debug(
            "%s: new %s token (%s), valid for %.0f s", self.settings.login, self.settings.method, why,
            token.lifetime,
        )  # fmt: skip
        return token


def token_from_reply(settings: OAuthSettings, reply: dict[str, object], now: float) -> Token:
    """A token endpoint's JSON reply (RFC 6749 section 5.1) as a Token."""
    value = reply.get("access_token")
    if not isinstance(value, str) or not value:
        raise TokenError(f"{settings.login}: the token endpoint answered without an access token")
    lifetime = float(str(reply.get("expires_in", 3600)))
    return Token(value, now + lifetime, lifetime)
