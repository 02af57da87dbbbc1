"""The original sender of a complaint that a member of staff forwarded: from an attached message/rfc822, or
from the header block mail clients write above a forwarded message."""

from __future__ import annotations

import re
from email.utils import getaddresses

from mailbot.intake.headers import Address
from mailbot.intake.parse import ParsedMail

# Gmail, Apple Mail, Thunderbird ("Forwarded message"); Outlook ("Original Message" or a bare header block).
_MARKER = re.compile(
    r"^[ \t>]*(-{2,}\s*(Forwarded message|Original Message|Begin forwarded message)\s*-{2,}|"
    r"Begin forwarded message:)",
    re.IGNORECASE | re.MULTILINE,
)
_FROM_LINE = re.compile(r"^[ \t>]*\*?From:\*?[ \t]*(.+)$", re.IGNORECASE | re.MULTILINE)


def original_sender(mail: ParsedMail) -> Address | None:
    """Who first wrote the forwarded mail, or None when this is not a forward or the sender cannot be read."""
    for enclosed in mail.forwarded:
        if enclosed.sender and enclosed.sender.email:
            return enclosed.sender
    marker = _MARKER.search(mail.text)
    start = marker.end() if marker else _outlook_block_start(mail.text)
    if start is None:
        return None
    found = _FROM_LINE.search(mail.text, start)
    return _address(found.group(1)) if found else None


def _outlook_block_start(text: str) -> int | None:
    """Outlook forwards with no marker line: a From: line followed by Sent: within the next lines."""
    for match in _FROM_LINE.finditer(text):
        following = text[match.end() : match.end() + 300]
        if re.search(r"^[ \t>]*\*?(Sent|Date):", following, re.IGNORECASE | re.MULTILINE):
            return match.start()
    return None


def _address(value: str) -> Address | None:
    # Outlook writes "Name <a@b>" or "Name [mailto:a@b]"; Gmail "Name <a@b>".
    value = re.sub(r"\[mailto:([^\]]+)\]", r"<\1>", value.strip())
    [(name, address)] = getaddresses([value]) or [("", "")]
    if "@" not in address:
        return None
    return Address(name.strip().strip('"'), address.strip().lower())
