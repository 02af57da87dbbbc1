"""Readable plain text from an HTML body, for mail that has no text part, by inscriptis (a maintained HTML to
text converter that lays out tables and numbered lists as a reader sees them); quoting is kept as "> "."""

from __future__ import annotations

import re

from inscriptis import get_annotated_text
from inscriptis.css_profiles import CSS_PROFILES
from inscriptis.model.config import ParserConfig

# "strict" lays blocks out without the browser's margins; each <blockquote> is marked, so its lines can be
# written as "> " quotes for the quote stripper, as a mail client quotes plain text. Table cells are kept
# apart by " | ": "3 Nov | 08:00 | none came" is a row a coordinator can read, "3 Nov08:00none came" is not.
_QUOTE = "quote"
_CONFIG = ParserConfig(
    css=CSS_PROFILES["strict"], annotation_rules={"blockquote": [_QUOTE]}, table_cell_separator=" | "
)


_RAW_TEXT_OPENER = re.compile(r"<(script|style|noscript|template|title)\b[^>]*>", re.IGNORECASE)


def html_to_text(html: str) -> str:
    """Readable plain text from an HTML body: no scripts or styles, one line per block, <br> kept, tables a
    row a line with their cells apart, list items with their numbers or bullets, quotes as "> "."""
    converted = get_annotated_text(_without_unclosed_openers(html), _CONFIG)
    if not converted:  # nothing but white space
        return ""
    quotes = [(start, end) for start, end, label in converted["label"] if label == _QUOTE]
    return _as_lines(_quoted(converted["text"], quotes))


def _quoted(text: str, quotes: list[tuple[int, int]]) -> list[str]:
    """Each line with one "> " for every blockquote it is in; a blank line in a quote keeps its ">"."""
    lines, offset = [], 0
    for line in text.split("\n"):
        depth = sum(start <= offset < end for start, end in quotes)
        lines.append(("> " * depth + line.rstrip()) if line.strip() else ">" * depth)
        offset += len(line) + 1
    return lines


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
