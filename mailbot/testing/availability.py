"""Whether a throwaway server can run here: the two errors, and what a test does when one cannot.

A test skips when a server is missing, or fails under ``MAILBOT_REQUIRE_SERVERS=1`` (as in CI)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import NoReturn

from mailbot.errors import MailbotError

REQUIRE_ENV = "MAILBOT_REQUIRE_SERVERS"


class ServerUnavailable(MailbotError):
    """A server binary or library needed for a dev server is not installed."""


class ServerStartError(MailbotError):
    """A dev server is installed but did not start (the message includes its log tail)."""


def skip_or_fail(reason: str) -> NoReturn:
    """In a test: skip with ``reason``, or fail if ``MAILBOT_REQUIRE_SERVERS=1`` (as in CI)."""
    import pytest  # imported lazily: pytest is a test-only dependency

    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason} ({REQUIRE_ENV}=1, so a missing server is an error)", pytrace=False)
    pytest.skip(reason)


def require(*checks: Callable[[], object]) -> None:
    """Run each check (e.g. ``find_dovecot``); on ServerUnavailable skip or fail the test."""
    for check in checks:
        try:
            check()
        except ServerUnavailable as exc:
            skip_or_fail(str(exc))
