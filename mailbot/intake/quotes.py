"""The new words of a reply: the quoted history removed with mail-parser-reply, the signature kept."""

# Signatures are kept on purpose: the library's signature rule cuts everything after the first "Thanks," or
# "Regards," line, which can drop the part of a complaint that matters.

from __future__ import annotations

import re
import weakref
from collections.abc import Callable

from mailparser_reply import EmailReplyParser

from mailbot.intake.parse import ParsedMail

# Characters of a mail's text that quote stripping and classification read: bounded work whatever the mail's
# size (a 10 MB single-line body took a minute); the whole message is kept as received.
TEXT_LIMIT = 100_000

# English first; Polish, German, French, Dutch, Italian and Spanish are common among UK care staff
# and families.
REPLY_LANGUAGES = ("en", "pl", "de", "fr", "nl", "it", "es")

# A reply header the library has no language for (Welsh "Ar ... <a@b> ysgrifennodd:", Russian clients, ...):
# one line, possibly wrapped once after "<", with a digit (the date), an <address>, and a final colon.
_DATED_ADDRESS_HEADER = re.compile(
    r"^[^\n>][^\n]{0,200}\d[^\n]{0,200}<\s*[^<>\s@]+@[^<>\s]+\s*>[^\n]{0,60}:[ \t]*$", re.MULTILINE
)
_QUOTED_LINE = re.compile(r"^[ \t]*>.*(?:\n|$)", re.MULTILINE)


def new_text(mail: ParsedMail, languages: tuple[str, ...] = REPLY_LANGUAGES) -> str:
    """What the sender wrote this time, without the earlier messages quoted below or above it."""
    global _last
    mail_then, languages_then, found = _last
    if mail_then() is mail and languages_then == languages:
        return found  # classification and routing both ask, of the same mail: the library is slow
    text = mail.text[:TEXT_LIMIT].replace("\r\n", "\n")
    found = _without_quoted_lines(_latest_reply(_cut_at_foreign_header(text), languages))
    _last = (weakref.ref(mail), languages, found)
    return found


def remember(mail: ParsedMail, found: str, languages: tuple[str, ...] = REPLY_LANGUAGES) -> None:
    """The new text of ``mail`` as it was worked out elsewhere (a worker reading ahead): not again here."""
    global _last
    _last = (weakref.ref(mail), languages, found)


def _nothing() -> None:
    return None


# The last mail asked about (held weakly: a large mail is not kept alive by it), with its answer.
_last: tuple[Callable[[], ParsedMail | None], tuple[str, ...], str] = (_nothing, (), "")


def _cut_at_foreign_header(text: str) -> str:
    found = _DATED_ADDRESS_HEADER.search(text)
    return text[: found.start()] if found and text[: found.start()].strip() else text


def _latest_reply(text: str, languages: tuple[str, ...]) -> str:
    replies = EmailReplyParser(languages=list(languages)).read(text).replies
    return replies[0].full_body if replies else ""


def _without_quoted_lines(text: str) -> str:
    """Bottom-posted replies keep "> ..." lines above the new words; inline answers survive between them."""
    remaining = _QUOTED_LINE.sub("", text)
    return re.sub(r"\n{3,}", "\n\n", remaining).strip()
