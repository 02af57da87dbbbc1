"""The standard library's MIME parser (``email.message_from_bytes``), without compiling a regular expression
for every multipart boundary.

The feed parser compiles ``(?P<sep>--BOUNDARY)(?P<end>--)?(?P<ws>[ \\t]*)(?P<linesep>\\r\\n|\\r|\\n)?$``
for each multipart it meets, and every mail's boundary is new, so the ``re`` module's cache never holds
it: about a fifth of parsing's CPU. Here the parser's own code runs with a ``re`` whose ``compile``
answers that one pattern with a matcher that compares the delimiter as a string and matches the fixed
rest of the pattern with one expression compiled once: the same matches, the same groups. Any other
pattern, or one not built as expected, is compiled by ``re`` as before.
"""

from __future__ import annotations

import re
import types
from email import feedparser
from email._policybase import compat32
from email.message import Message
from io import StringIO

_OPENING = "(?P<sep>"
_REST = r")(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$"
_AFTER_DELIMITER = re.compile(_REST[1:])
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)
_CHUNK = 8192  # characters fed at a time, as email.parser.Parser reads them


class _Delimiter:
    """``re.compile(_OPENING + re.escape(delimiter) + _REST)``, for its ``match``."""

    def __init__(self, delimiter: str) -> None:
        self.delimiter, self.length = delimiter, len(delimiter)

    def match(self, line: str) -> re.Match[str] | None:
        # The delimiter is a literal: startswith says what the escaped pattern would; the groups the parser
        # reads ("end", "linesep") come from the fixed rest, matched where the delimiter ends.
        return _AFTER_DELIMITER.match(line, self.length) if line.startswith(self.delimiter) else None


class _ReForDelimiters(types.SimpleNamespace):
    """The ``re`` module as the feed parser sees it, with delimiter patterns answered by _Delimiter."""

    def __getattr__(self, name: str) -> object:
        return getattr(re, name)

    @staticmethod
    def compile(pattern: str, flags: int = 0) -> re.Pattern[str] | _Delimiter:
        if flags == 0 and pattern.startswith(_OPENING) and pattern.endswith(_REST):
            escaped = pattern[len(_OPENING) : -len(_REST)]
            delimiter = _ESCAPED.sub(r"\1", escaped)
            if re.escape(delimiter) == escaped:  # built as the parser builds it: nothing else is answered
                return _Delimiter(delimiter)
        return re.compile(pattern, flags)


class _FeedParser(feedparser.FeedParser):
    """The standard library's feed parser, its ``_parsegen`` run with _ReForDelimiters as its ``re``."""


_parsegen = feedparser.FeedParser._parsegen
_FeedParser._parsegen = types.FunctionType(  # type: ignore[method-assign]
    _parsegen.__code__,
    {**vars(feedparser), "re": _ReForDelimiters()},
    _parsegen.__name__,
    _parsegen.__defaults__,
    _parsegen.__closure__,
)


def message_from_bytes(data: bytes, headers_only: bool = False) -> Message:
    """What ``email.message_from_bytes(data)`` gives (compat32, ``Message``), fed the same way."""
    parser = _FeedParser(policy=compat32)  # as email.parser.Parser makes it: a Message factory
    if headers_only:
        parser._set_headersonly()
    text = StringIO(data.decode("ASCII", errors="surrogateescape"))
    while chunk := text.read(_CHUNK):
        parser.feed(chunk)
    return parser.close()
