"""Checks for values that arrive in a message, before they are stored or written into a header of ours.

Every check is a whitelist of what is valid, not a list of attacks seen: a Message-ID is kept only when it is
an RFC 5322 ``msg-id``; any text bound for a header loses control characters (CR and LF above all) and is
capped in length; a display name keeps no address or link. These functions are pure and do not depend on the
Python version's own header handling (CVE-2024-6923 was fixed only in later patch releases).
"""

from __future__ import annotations

import re
import unicodedata

MESSAGE_ID_LIMIT = 250  # RFC 5322 sets none, but a line holds 998 characters and References carries several
NAME_LIMIT = 64
SUBJECT_LIMIT = 200
ADDRESS_LIMIT = 254  # RFC 5321: the longest usable forward-path

_ATEXT = r"A-Za-z0-9!#$%&'*+\-/=?^_`{|}~"
# RFC 5322 section 3.6.4: id-left "@" id-right, without the obsolete forms; id-right may be a domain literal.
_DOT_ATOM = rf"[{_ATEXT}]+(?:\.[{_ATEXT}]+)*"
_MSG_ID = re.compile(rf"{_DOT_ATOM}@(?:{_DOT_ATOM}|\[[\x21-\x5a\x5e-\x7e]*\])")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_ADDRESS = re.compile(rf"{_DOT_ATOM}@{_LABEL}(?:\.{_LABEL})+")
# Anything in a display name that reads as an address, a link or a host, so a greeting cannot carry one.
_ADDRESS_LIKE = re.compile(
    r"\S*@\S*|\S*://\S*|\bwww\.\S*|\S+\.(?:com|org|net|uk|io|info|biz|ru|xyz|top)\b\S*", re.I
)


def message_id(value: str | None) -> str | None:
    """The id inside ``<...>`` when it is a valid msg-id of sensible length; otherwise None (dropped)."""
    if not value:
        return None
    inner = value.strip()
    if inner.startswith("<") and inner.endswith(">"):
        inner = inner[1:-1]
    if len(inner) > MESSAGE_ID_LIMIT or "=?" in inner:
        return None
    return inner if _MSG_ID.fullmatch(inner) else None


def header_text(value: str | None, limit: int) -> str:
    """One line of text safe for a header: control and format characters become spaces, runs of white space
    one space, and the result is cut at ``limit`` characters (with an ellipsis)."""
    if not value:
        return ""
    cleaned = "".join(" " if _is_control(ch) else ch for ch in value)
    cleaned = " ".join(cleaned.split())
    # Text reaching us is already decoded, so "=?" left in it is literal; broken up, it can never be taken for
    # an RFC 2047 encoded-word and decoded into CR/LF by the header machinery it is handed to.
    cleaned = cleaned.replace("=?", "= ?")
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1].rstrip() + "…"


def subject(value: str | None) -> str:
    return header_text(value, SUBJECT_LIMIT)


def display_name(value: str | None) -> str:
    """A person's name as we may write it in a header or a greeting: no address, link or quotes; capped."""
    name = header_text(value, NAME_LIMIT * 4)
    name = _ADDRESS_LIKE.sub(" ", name)
    name = re.sub(r"[<>\"\\;:,()\[\]]", " ", name)
    return header_text(name, NAME_LIMIT)


def address(value: str | None) -> str | None:
    """A mailbox address we may send to (``local@domain`` with a dotted domain), lower-cased; else None."""
    if not value:
        return None
    candidate = value.strip()
    if len(candidate) > ADDRESS_LIMIT or not _ADDRESS.fullmatch(candidate):
        return None
    return candidate.lower()


def same_mailbox(value: str) -> str:
    """The address a person receives at, for comparisons: lower case, no ``+tag``.

    ``Complaints+loop@Example.org`` is ``complaints@example.org``: the daily cap and "our own address" compare
    these."""
    local, _, domain = value.strip().lower().rpartition("@")
    if not local:
        return value.strip().lower()
    return f"{local.split('+', 1)[0]}@{domain}"


# Explicit bidi embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069): in a name, subject or
# quoted text they reorder what a person reads ("Tom\u202e reganaM" shows as "Tom Manager"). Ordinary
# right-to-left text needs none of them (the implicit algorithm lays it out); joiners (ZWJ, ZWNJ), which
# Persian, Indic scripts and emoji need, are left alone.
_REORDERING = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])


def shown(value: object) -> object:
    """A value as a letter or notice shows it: text loses the characters that reorder what is read; other
    values (dates, numbers) pass through. Markup stays Markup, so autoescaping treats it as before."""
    if not isinstance(value, str):
        return value
    cleaned = value.translate(_REORDERING)
    return value if cleaned == value else type(value)(cleaned)


def _is_control(ch: str) -> bool:
    # Cc: C0/C1 controls (CR, LF, TAB, NUL); Cf: format characters such as bidi overrides; Zl/Zp: separators
    return unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")
