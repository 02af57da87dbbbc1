"""Turn the raw bytes of one inbound mail into a frozen ParsedMail (pure, no I/O).

Anything that cannot be read as a mail at all raises UnparseableMail, so the runner can shunt it."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from email.message import Message

import mailparser
from mailparser.exceptions import MailParserError

from mailbot.errors import MailbotError
from mailbot.intake import limits, mime
from mailbot.intake.bodies import Attachment, body_text, collect_bodies, enclosed_message
from mailbot.intake.headers import (
    Address,
    MailParserFields,
    addresses,
    header_text,
    message_ids,
    raw_values,
    return_path,
    sent_date,
    written_message_id,
)
from mailbot.intake.large_bodies import NOTHING_ELIDED, LargeBodies, elide

log = logging.getLogger(__name__)

# RFC 5322 obsolete syntax allows white space before the colon ("Subject  : Hi"); the stdlib does not.
_OBSOLETE_FIELD_NAME = re.compile(rb"^([\x21-\x39\x3b-\x7e]+)[ \t]+:", re.MULTILINE)
_HEADER_END = re.compile(rb"\r?\n\r?\n|\r\r")
_MAX_ENCLOSED_DEPTH = 3
# Received fields (each with its folded lines): mail-parser parses every hop of the relay trail, a third of
# its time, for nothing read from it here (its dates and addresses come from Date, From, To, Cc, Reply-To).
_RELAY_TRAIL = re.compile(rb"^Received[ \t]*:.*(?:\r?\n[ \t].*)*\r?\n", re.MULTILINE | re.IGNORECASE)


class UnparseableMail(MailbotError):
    """The bytes cannot be read as a mail at all; the pipeline shunts the message."""


@dataclass(frozen=True)
class ParsedMail:
    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    sender: Address | None
    reply_to: tuple[Address, ...]
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    subject: str
    date: datetime | None
    text: str
    html: str | None
    attachments: tuple[Attachment, ...]
    headers: tuple[tuple[str, str], ...]
    return_path: str | None
    content_type: str
    # Enclosed messages (forwarded as attachment, or the original inside a bounce); bodies of these are not
    # part of `text`.
    forwarded: tuple[ParsedMail, ...] = ()
    # What had to be cut or dropped to store the mail (see limits.py); the raw message keeps it all.
    notes: tuple[str, ...] = ()

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.headers if key == wanted), None)

    def header_all(self, name: str) -> tuple[str, ...]:
        wanted = name.lower()
        return tuple(value for key, value in self.headers if key == wanted)


def parse_mail(raw: bytes) -> ParsedMail:
    """Parse one raw RFC 5322 message; raises UnparseableMail when there is no mail to read."""
    if not raw or raw.isspace():  # not raw.strip(): that copies the whole message
        raise UnparseableMail("empty message")
    raw = _repair_field_names(raw)
    large = elide(raw)  # long bodies are decoded from the raw bytes: the parser never copies them
    try:
        message = mime.message_from_bytes(large.parsed)
        if not message.keys():
            raise UnparseableMail("no header fields: not an RFC 5322 message")
        return _build(message, _header_reader(raw), depth=0, large=large)
    except RecursionError as exc:
        raise UnparseableMail("MIME nesting too deep to parse") from exc


def _header_reader(raw: bytes) -> MailParserFields | None:
    """mail-parser gives the best addresses and dates. It is given the header block alone (it copies every
    attachment several times); when it trips over a mail, the stdlib's reading of the headers is used."""
    end = _HEADER_END.search(raw)
    head = raw[: end.end()] if end else raw
    fields = _RELAY_TRAIL.sub(b"", head)
    if not fields.strip():  # nothing but the relay trail: mail-parser reads it, and may refuse it
        return _whole_header_reader(head)
    try:
        return MailParserFields(mime.message_from_bytes(fields))
    except (AttributeError, TypeError, ValueError, LookupError, IndexError, KeyError) as exc:
        log.info("mail-parser failed (%r); the stdlib reads the headers instead", exc)
        return None


def _whole_header_reader(head: bytes) -> MailParserFields | None:
    try:
        return MailParserFields(mailparser.parse_from_bytes(head).message)
    except MailParserError as exc:
        raise UnparseableMail(str(exc)) from exc
    except (AttributeError, TypeError, ValueError, LookupError, IndexError, KeyError) as exc:
        log.info("mail-parser failed (%r); the stdlib reads the headers instead", exc)
        return None


def _repair_field_names(raw: bytes) -> bytes:
    end = _HEADER_END.search(raw)
    split = end.start() if end else len(raw)
    head = raw[:split]
    fixed = _OBSOLETE_FIELD_NAME.sub(rb"\1:", head)
    return raw if fixed == head else fixed + raw[split:]


def _build(
    message: Message, parser: MailParserFields | None, depth: int, large: LargeBodies = NOTHING_ELIDED
) -> ParsedMail:
    headers = tuple((name.lower(), header_text(value)) for name, value in message.raw_items())
    bodies = collect_bodies(message, large)
    html = "\n".join(bodies.htmls) or None
    notes: list[str] = []  # what limits had to cut or drop, filled as the fields below are made
    return ParsedMail(
        message_id=limits.message_id(written_message_id(raw_values(message, "message-id")), notes),
        in_reply_to=limits.message_ids(message_ids(raw_values(message, "in-reply-to")), notes, "In-Reply-To"),
        references=limits.message_ids(message_ids(raw_values(message, "references")), notes, "References"),
        sender=limits.address(next(iter(addresses(message, parser, "from")), None), notes, "From"),
        reply_to=limits.addresses(addresses(message, parser, "reply-to"), notes, "Reply-To"),
        to=limits.addresses(addresses(message, parser, "to"), notes, "To"),
        cc=limits.addresses(addresses(message, parser, "cc"), notes, "Cc"),
        subject=_subject(headers),
        date=limits.sent_date(sent_date(message, parser), notes),
        text=limits.storable(body_text(bodies.texts, html)),
        html=html,
        attachments=tuple(limits.attachment(item, notes) for item in bodies.attachments),
        headers=headers,
        return_path=return_path(next(iter(raw_values(message, "return-path")), None)),
        content_type=message.get_content_type().lower(),
        forwarded=_enclosed_mails(bodies.enclosed, depth, large),
        notes=tuple(notes),
    )


def _subject(headers: tuple[tuple[str, str], ...]) -> str:
    return limits.storable(
        " ".join(next((value for name, value in headers if name == "subject"), "").split())
    )


def _enclosed_mails(parts: tuple[Message, ...], depth: int, large: LargeBodies) -> tuple[ParsedMail, ...]:
    if depth >= _MAX_ENCLOSED_DEPTH:
        return ()
    enclosed = (enclosed_message(part, large) for part in parts)
    return tuple(_build(inner, None, depth + 1, large) for inner in enclosed if inner is not None)
