"""A mail's own bodies and attachments: which parts are text, which HTML, which enclosed messages, and the
text a person reads when there is only HTML."""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message

from mailbot.intake import tnef
from mailbot.intake.charsets import decode_text
from mailbot.intake.headers import header_text
from mailbot.intake.html_text import html_to_text
from mailbot.intake.large_bodies import LargeBodies

_DELIMITER_LINE = re.compile(rb"^--([^\s\"]{1,70}?)[ \t]*\r?$", re.MULTILINE)
HTML_READ_LIMIT = 2_000_000
_ENCLOSED_TYPES = {"message/rfc822", "message/global", "text/rfc822-headers", "message/rfc822-headers"}


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    payload: bytes


@dataclass(frozen=True)
class Bodies:
    texts: tuple[str, ...]
    htmls: tuple[str, ...]
    attachments: tuple[Attachment, ...]
    enclosed: tuple[Message, ...]


def collect_bodies(message: Message, large: LargeBodies) -> Bodies:
    texts: list[str] = []
    htmls: list[str] = []
    attachments: list[Attachment] = []
    enclosed: list[Message] = []
    for part in _own_parts(message):
        kind = _part_role(part)
        if kind == "enclosed":
            enclosed.append(part)
        elif kind == "text":
            texts.append(_part_text(part, large))
        elif kind == "html":
            htmls.append(_part_text(part, large))
        elif (inside := _winmail(part, large)) is not None:  # Outlook's winmail.dat: its body and files
            texts += inside.texts
            htmls += inside.htmls
            attachments += [Attachment(*file) for file in inside.files]
        else:
            attachments.append(_attachment(part, large))
    return Bodies(
        tuple(t for t in texts if t.strip()),
        tuple(h for h in htmls if h.strip()),
        tuple(attachments),
        tuple(enclosed),
    )


def body_text(texts: tuple[str, ...], html: str | None) -> str:
    """The text parts, or the text of the HTML when there is none; of HTML only the first HTML_READ_LIMIT
    characters are converted (some 0.3 s a megabyte), which hold more words than anything reads."""
    if texts:
        return "\n".join(texts)
    return html_to_text(html[:HTML_READ_LIMIT]) if html else ""


def enclosed_message(part: Message, large: LargeBodies) -> Message | None:
    """The mail inside a message/* part (forwarded as attachment, or the original inside a bounce)."""
    payload = part.get_payload()
    if isinstance(payload, list):
        inner = payload[0] if payload and isinstance(payload[0], Message) else None
    else:  # text/rfc822-headers, or an enclosed message the parser left as a string
        inner = email.message_from_bytes(_part_bytes(part, large))
    return inner if inner is not None and inner.keys() else None


def _own_parts(part: Message) -> Iterator[Message]:
    """Leaf parts of this mail, stopping at enclosed messages (their bodies are theirs, not this mail's)."""
    payload = part.get_payload()
    if part.get_content_maintype() == "message":
        yield part
    elif isinstance(payload, list):
        for sub in payload:
            if isinstance(sub, Message):
                yield from _own_parts(sub)
    elif part.get_content_maintype() == "multipart":
        for sub in _recover_multipart(part):
            yield from _own_parts(sub)
    else:
        yield part


def _recover_multipart(part: Message) -> list[Message]:
    """A multipart whose boundary is missing or wrong: split on the delimiter lines the body really has,
    or read the whole body as one text part rather than lose it."""
    body = str(part.get_payload()).encode("utf-8", "surrogateescape")
    if not body.strip():
        return []
    found = _DELIMITER_LINE.search(body)
    if found is None:
        encoding = str(part.get("content-transfer-encoding", "7bit")).encode("ascii", "replace")
        return [email.message_from_bytes(b"Content-Transfer-Encoding: " + encoding + b"\n\n" + body)]
    head = b'Content-Type: multipart/mixed; boundary="' + found.group(1) + b'"\n\n'
    recovered = email.message_from_bytes(head + body).get_payload()
    return [sub for sub in recovered if isinstance(sub, Message)] if isinstance(recovered, list) else []


def _part_role(part: Message) -> str:
    content_type = part.get_content_type()
    if content_type in _ENCLOSED_TYPES:
        return "enclosed"
    if part.get_content_disposition() == "attachment" or content_type not in ("text/plain", "text/html"):
        return "attachment"
    return "text" if content_type == "text/plain" else "html"


def _winmail(part: Message, large: LargeBodies) -> tnef.TnefContents | None:
    if not tnef.is_tnef(part.get_content_type(), part.get_filename() or ""):
        return None
    return tnef.unpack(_part_bytes(part, large))


def _part_bytes(part: Message, large: LargeBodies) -> bytes:
    if part.is_multipart():
        return b"".join(_part_bytes(sub, large) for sub in part.get_payload() if isinstance(sub, Message))
    payload = large.payload(part)
    if payload is None:
        payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def _part_text(part: Message, large: LargeBodies) -> str:
    text = decode_text(_part_bytes(part, large), part.get_content_charset())
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _attachment(part: Message, large: LargeBodies) -> Attachment:
    is_message = part.get_content_maintype() == "message"
    return Attachment(
        filename=header_text(part.get_filename() or ""),
        content_type=part.get_content_type().lower(),
        payload=_flatten(part, large) if is_message else _part_bytes(part, large),
    )


def _flatten(part: Message, large: LargeBodies) -> bytes:
    """The wire form of a message/* part (e.g. message/delivery-status), for whoever reads it later."""
    try:
        return large.restore(part.as_bytes().split(b"\n\n", 1)[-1])
    except (LookupError, UnicodeError, TypeError, ValueError):
        return b""
