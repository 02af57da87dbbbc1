"""Readable plain text from an HTML body, for mail that has no text part; quoting is kept as "> "."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_SKIPPED_TAGS = {"script", "style", "head", "title", "template", "noscript"}
_BLOCK_TAGS = {
    "address",
    "article",
    "aside",
    "blockquote",
    "dd",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "tr",
    "ul",
}
_PARAGRAPH_TAGS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol"}


class _HtmlText(HTMLParser):
    """Visible text of an HTML body; <blockquote> becomes "> " so quote-stripping works as on plain text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._line: list[str] = []
        self._skipping = 0
        self._quote_depth = 0
        self._line_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping += 1
        elif tag == "br":
            self._end_line(force=True)
        elif tag in _BLOCK_TAGS:
            self._end_line()
            self._quote_depth += tag == "blockquote"
            if tag == "li":
                self._line.append("- ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "hr"):
            self._end_line(force=tag == "br")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCK_TAGS:
            self._end_line()
            if tag == "blockquote":
                self._quote_depth = max(0, self._quote_depth - 1)
            if tag in _PARAGRAPH_TAGS:
                self.lines.append(">" * self._quote_depth)

    def handle_data(self, data: str) -> None:
        if self._skipping:
            return
        if not self._line:
            self._line_depth = self._quote_depth
        self._line.append(re.sub(r"\s+", " ", data))

    def finish(self) -> None:
        self._end_line()

    def _end_line(self, force: bool = False) -> None:
        text = "".join(self._line).strip()
        if text or force:
            prefix = "> " * self._line_depth if self._line else "> " * self._quote_depth
            self.lines.append((prefix + text).rstrip())
        self._line = []


_RAW_TEXT_OPENER = re.compile(r"<(script|style|noscript|template|title)\b[^>]*>", re.IGNORECASE)


def html_to_text(html: str) -> str:
    """Readable plain text from an HTML body: no scripts or styles, one line per block, <br> kept."""
    reader = _HtmlText()
    reader.feed(_without_unclosed_openers(html))
    reader.close()
    reader.finish()
    return _as_lines(reader.lines)


def _without_unclosed_openers(html: str) -> str:
    """A <script> or <style> never closed would hide everything after it, and a person's words must never be
    dropped that way: such an opener is removed, so what follows is read as ordinary HTML."""
    lowered = html.lower()
    dangling = [
        m for m in _RAW_TEXT_OPENER.finditer(html) if f"</{m.group(1).lower()}" not in lowered[m.end() :]
    ]
    for match in reversed(dangling):
        html = html[: match.start()] + " " + html[match.end() :]
    return html


def _as_lines(lines: list[str]) -> str:
    text = "\n".join(line.replace("\xa0", " ").rstrip() for line in lines)
    text = re.sub(r"\n(?:>*\n){2,}", "\n\n", text)
    return re.sub(r"^(?:>*\s*\n)+|(?:\n>*\s*)+$", "", text).strip()
