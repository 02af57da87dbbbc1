"""Asking a local rspamd (Debian package ``rspamd``) about a mail over its HTTP API (``POST /checkv2`` on the
normal worker, port 11333 by default). Its answer becomes a spam verdict like the header ones. If rspamd
cannot be reached the mail is judged on its headers alone and the failure is logged: holding every
complaint until a filter comes back would cost more than an unfiltered spam or two."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request

from mailbot.classify.spam import SpamVerdict
from mailbot.errors import MailbotError

log = logging.getLogger(__name__)
# Only "reject" counts by default: a lone rspamd that cannot see the connecting server or look anything up
# gives real people's mail "add header" too (measured: 3 of 21 people's mails in ../shared/corpus).
DEFAULT_SPAM_ACTIONS = ("reject",)
MAX_BYTES = 10 * 1024 * 1024  # rspamd's own default limit; larger mail is judged on its headers


class RspamdUnavailable(MailbotError):
    """rspamd did not answer, or answered something that is not its JSON."""


def ask(
    url: str, raw: bytes, timeout: float, spam_actions: tuple[str, ...] = DEFAULT_SPAM_ACTIONS
) -> tuple[SpamVerdict, ...]:
    if len(raw) > MAX_BYTES:
        return ()
    try:
        return (check(url, raw, timeout, spam_actions),)
    except RspamdUnavailable as exc:
        log.warning("rspamd at %s not asked (%s); judging on headers alone", url, exc)
        return ()


def check(
    url: str, raw: bytes, timeout: float, spam_actions: tuple[str, ...] = DEFAULT_SPAM_ACTIONS
) -> SpamVerdict:
    """rspamd's verdict on one mail; RspamdUnavailable when it cannot be had."""
    request = urllib.request.Request(url.rstrip("/") + "/checkv2", data=raw, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer = json.loads(response.read(1_000_000))
    except (OSError, urllib.error.URLError, ValueError) as exc:
        raise RspamdUnavailable(str(getattr(exc, "reason", None) or exc)) from exc
    if not isinstance(answer, dict) or "action" not in answer:
        raise RspamdUnavailable(f"{url} answered, but not as rspamd does (no action in its JSON)")
    return verdict_of(answer, spam_actions)


def verdict_of(
    answer: dict[str, object], spam_actions: tuple[str, ...] = DEFAULT_SPAM_ACTIONS
) -> SpamVerdict:
    action = str(answer.get("action", "")).lower()
    detail = f"action {action}, score {answer.get('score', '?')} / {answer.get('required_score', '?')}"
    return SpamVerdict("rspamd_live", action in spam_actions, detail)
