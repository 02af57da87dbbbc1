"""A letter written straight to the bytes SMTP carries: headers from checked values, a text part and an
optional HTML part.

Python's ``EmailMessage`` parses every header it is given and again when it writes them out; for a letter
whose every value has already passed ``mailbot.checked`` that was a fifth of the CPU time of opening a case.
This writes the same message (the same headers in the same order, the same MIME structure) directly: what a
receiving server or a mail client reads from it is what ``EmailMessage`` would have given them
(tests/test_outbox_compose.py reads it back with the standard parser).
"""

from __future__ import annotations

import binascii
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from email.header import Header

CRLF = b"\r\n"
LINE_LIMIT = 998  # RFC 5322's hard limit on a line, headers folded only above it
TEXT_LINE = 78  # a body line longer than this is sent quoted-printable, as EmailMessage does
HEADER_WORD = 76  # RFC 2047: encoded words folded into lines of this length


@dataclass(frozen=True)
class WireLetter:
    """A composed letter: its Message-ID (without ``<>``) and its bytes with CRLF line ends."""

    message_id: str
    raw: bytes


def header(name: str, value: str) -> bytes:
    """One header; text outside ASCII as RFC 2047 encoded words, so no server has to guess a charset."""
    if any(c in value for c in "\r\n\0"):  # values come through mailbot.checked; this is the last guard
        raise ValueError(f"header {name}: a line break or NUL in its value would start another header")
    if not value.isascii():
        value = Header(value, "utf-8", maxlinelen=HEADER_WORD, header_name=name).encode(linesep="\r\n")
    return f"{name}: {value}".encode("ascii") + CRLF


def folded_ids(name: str, ids: Sequence[str]) -> bytes:
    """``<id> <id> ...``, folded between ids where a line would pass the limit (ids are at most 252)."""
    lines, line = [], f"{name}:"
    if any(c in item for item in ids for c in "\r\n\0 "):
        raise ValueError(f"header {name}: a Message-ID holding a space, line break or NUL")
    for item in ids:
        if len(line) + 1 + len(item) > LINE_LIMIT:
            lines.append(line)
            line = ""
        line = f"{line} {item}"
    lines.append(line)
    return "\r\n".join(lines).encode("ascii") + CRLF


def text_part(text: str, subtype: str) -> tuple[bytes, bytes]:
    """The part's content headers and its body: 7bit when every line is ASCII and short, quoted-printable
    otherwise (safe through any server, with or without 8BITMIME)."""
    lines = text.encode("utf-8").splitlines()
    body = b"\n".join(lines) + b"\n"
    if body.isascii() and all(len(line) <= TEXT_LINE for line in lines):
        encoding = "7bit"
    else:
        encoding, body = "quoted-printable", binascii.b2a_qp(body, istext=True)
    head = header("Content-Type", f'text/{subtype}; charset="utf-8"') + header(
        "Content-Transfer-Encoding", encoding
    )
    return head, body.replace(b"\n", CRLF)


def message_bytes(headers: bytes, text: str, html: str | None) -> bytes:
    """The letter after its own headers: text alone, or text and HTML as multipart/alternative."""
    text_head, text_body = text_part(text, "plain")
    if html is None:
        return headers + text_head + header("MIME-Version", "1.0") + CRLF + text_body
    html_head, html_body = text_part(html, "html")
    boundary = f"=_{secrets.token_hex(16)}"  # "=_" never occurs in quoted-printable text
    mark = f"--{boundary}".encode("ascii")
    kind = f'multipart/alternative; boundary="{boundary}"'
    top = header("MIME-Version", "1.0") + header("Content-Type", kind)
    return (
        headers + top + CRLF
        + mark + CRLF + text_head + CRLF + text_body
        + CRLF + mark + CRLF + html_head + CRLF + html_body
        + CRLF + mark + b"--" + CRLF
    )  # fmt: skip
