"""The new words of a reply: the quoted history removed with mail-parser-reply, the signature kept."""

# Signatures are kept on purpose: the library's signature rule cuts everything after the first "Thanks," or
# "Regards," line, which can drop the part of a complaint that matters.

from __future__ import annotations

import functools
import itertools
import re
import weakref
from collections.abc import Callable, Iterator

from mailparser_reply import EmailReplyParser
from mailparser_reply.parser import EmailMessage

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
    """mail-parser-reply's first reply, as ``EmailReplyParser(...).read(text).replies[0].full_body`` gives
    it, without the work that answer never reads: the signatures and disclaimers it finds in every part,
    and the parts after the first (it splits the whole thread), and with its header search tried only
    where a header can begin (see _reply_headers)."""
    message = EmailMessage(text=text, languages=EmailReplyParser(languages=list(languages)).languages)
    body = message.text  # as the library normalises it: line ends, blank edges of lines
    current, previous = 0, ""
    for header in _reply_headers(_header_pattern(message), body):
        position = body.find(header, current + 1 if current > 0 else current)
        content = body[current:position].strip()  # as the library has it: -1 (not found) cuts the last letter
        if content:
            return _full_body(content, previous)
        current, previous = (position if position >= 0 else 0), header
    return _full_body(body[current:].strip(), previous)


def _header_pattern(message: EmailMessage) -> re.Pattern[str]:
    """The library's ``HEADER_REGEX`` for the message's languages: it builds the pattern's text anew for
    every message (from its language tables: the same text for the same languages), once a process here."""
    key = (tuple(message.languages), message.default_language)
    pattern = _HEADER_PATTERNS.get(key)
    if pattern is None:
        pattern = _HEADER_PATTERNS[key] = message.HEADER_REGEX
    return pattern


_HEADER_PATTERNS: dict[tuple[tuple[str, ...], str], re.Pattern[str]] = {}


def _full_body(content: str, header: str) -> str:
    return content.replace(header.strip() or "", "").strip()


def _reply_headers(pattern: re.Pattern[str], text: str) -> list[str]:
    """The library's header texts in order (each group of each match that is not empty), as its ``findall``
    finds them. Every branch of its pattern begins at the start of a line or at a line break, so only those
    places are tried, not every character (a tenth of the time on a mail of 10 KB); should a version of the
    library write a branch that begins elsewhere, the whole text is searched as before."""
    if pattern.groups < 2 or not _starts_only_at_lines(pattern.pattern):
        return [group for group in itertools.chain.from_iterable(pattern.findall(text)) if group]
    found, position, length = [], 0, len(text)
    while position <= length:
        match = pattern.match(text, position)
        if match is not None and match.end() > position:
            found += [group for group in match.groups() if group]
            position = match.end()
        else:
            position = _next_line_place(text, position)
    return found


def _next_line_place(text: str, position: int) -> int:
    """The next place after ``position`` where a line starts or a line break is."""
    if position < len(text) and text[position] == "\n":
        return position + 1  # the start of the next line
    found = text.find("\n", position + 1)
    return found if found >= 0 else len(text) + 1


@functools.cache
def _starts_only_at_lines(source: str) -> bool:
    return all(_starts_at_a_line(branch) for branch in _top_level_branches(source))


def _starts_at_a_line(branch: str) -> bool:
    """Whether every match of ``branch`` begins with "^" (MULTILINE: a line start) or a line break: it does
    so itself, or it opens with a group (repeated at least once) each of whose alternatives does."""
    if branch.startswith(("^", "\\n")):
        return True
    if not branch.startswith("(") or (branch.startswith("(?") and not branch.startswith("(?:")):
        return False  # anything else, lookarounds and flags included, is not known to
    close = _group_end(branch, 0)
    inner = branch[3 if branch.startswith("(?:") else 1 : close]
    return not _may_repeat_none(branch[close + 1 :]) and _starts_only_at_lines(inner)


def _may_repeat_none(after: str) -> bool:
    least = re.match(r"\{(\d*)", after)
    return after.startswith(("?", "*")) or (least is not None and int(least.group(1) or 0) == 0)


def _group_end(source: str, opened: int) -> int:
    """Where the group opened at ``opened`` closes (or the end of the pattern)."""
    for index, char, depth in _structure(source, opened):
        if char == ")" and depth == 0:
            return index
    return len(source)


def _top_level_branches(source: str) -> list[str]:
    """The pattern's alternatives at the outermost level (escapes, character classes and groups respected)."""
    bars = [index for index, char, depth in _structure(source, 0) if char == "|" and depth == 0]
    return [source[a + 1 : b] for a, b in itertools.pairwise([-1, *bars, len(source)])]


def _structure(source: str, index: int) -> Iterator[tuple[int, str, int]]:
    """Each "(", ")" and "|" of a pattern from ``index`` that is not escaped or in a character class, with
    the depth of groups after it."""
    depth = 0
    while index < len(source):
        char = source[index]
        if char == "\\":
            index += 1  # the escaped character is skipped with it
        elif char == "[":
            index = _class_end(source, index)
        elif char in "()|":
            depth += {"(": 1, ")": -1}.get(char, 0)
            yield index, char, depth
        index += 1


def _class_end(source: str, index: int) -> int:
    """Where the character class opened at ``index`` closes ("[^]x]" and "[]x]" hold a "]")."""
    index += 1
    index += source[index : index + 1] == "^"
    index += source[index : index + 1] == "]"
    while index < len(source) and source[index] != "]":
        index += 2 if source[index] == "\\" else 1
    return index


def _without_quoted_lines(text: str) -> str:
    """Bottom-posted replies keep "> ..." lines above the new words; inline answers survive between them."""
    remaining = _QUOTED_LINE.sub("", text)
    return re.sub(r"\n{3,}", "\n\n", remaining).strip()
