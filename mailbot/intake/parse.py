"""Turn the raw bytes of one inbound mail into a frozen ParsedMail (pure, no I/O).

Anything that cannot be read as a mail at all raises UnparseableMail, so the runner can shunt it."""

from __future__ import annotations

import email
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from email.message import Message

import mailparser
from mailparser.exceptions import MailParserError

from mailbot.errors import MailbotError
from mailbot.intake.bodies import Attachment, body_text, collect_bodies, enclosed_message
from mailbot.intake.headers import (
    Address,
    addresses,
    header_text,
    message_ids,
    own_message_id,
    raw_values,
    return_path,
    sent_date,
)

log = logging.getLogger(__name__)

# RFC 5322 obsolete syntax allows white space before the colon ("Subject  : Hi"); the stdlib does not.
_OBSOLETE_FIELD_NAME = re.compile(rb"^([\x21-\x39\x3b-\x7e]+)[ \t]+:", re.MULTILINE)
_HEADER_END = re.compile(rb"\r?\n\r?\n|\r\r")
_MAX_ENCLOSED_DEPTH = 3


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

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.headers if key == wanted), None)

    def header_all(self, name: str) -> tuple[str, ...]:
        wanted = name.lower()
        return tuple(value for key, value in self.headers if key == wanted)


def parse_mail(raw: bytes) -> ParsedMail:
    """Parse one raw RFC 5322 message; raises UnparseableMail when there is no mail to read."""
    if not raw.strip():
        raise UnparseableMail("empty message")
    try:
        message, parser = _read(raw)
        if not message.keys():
            raise UnparseableMail("no header fields: not an RFC 5322 message")
        return _build(message, parser, depth=0)
    except RecursionError as exc:
        raise UnparseableMail("MIME nesting too deep to parse") from exc


def _read(raw: bytes) -> tuple[Message, mailparser.MailParser | None]:
    """mail-parser gives the best addresses and dates; when it trips over a mail we keep the stdlib tree."""
    raw = _repair_field_names(raw)
    message = email.message_from_bytes(raw)  # the tree mail-parser would build, built once
    try:
        # Only the header fields: mail-parser's reading of bodies and attachments is not used, and cost a
        # copy of every attachment and a third of the parse time.
        parser = mailparser.MailParser.from_bytes(_header_block(raw))
    except MailParserError as exc:
        raise UnparseableMail(str(exc)) from exc
    except (AttributeError, TypeError, ValueError, LookupError, IndexError, KeyError) as exc:
        # Bugs inside mail-parser on odd MIME (e.g. a missing start boundary); the stdlib tree still reads.
        log.info("mail-parser failed (%r); falling back to the stdlib parser", exc)
        return message, None
    return message, parser


def _header_block(raw: bytes) -> bytes:
    end = _HEADER_END.search(raw)
    return raw if end is None else raw[: end.end()]


def _repair_field_names(raw: bytes) -> bytes:
    end = _HEADER_END.search(raw)
    split = end.start() if end else len(raw)
    head = raw[:split]
    fixed = _OBSOLETE_FIELD_NAME.sub(rb"\1:", head)
    return raw if fixed == head else fixed + raw[split:]


def _build(message: Message, parser: mailparser.MailParser | None, depth: int) -> ParsedMail:
    headers = tuple((name.lower(), header_text(value)) for name, value in message.raw_items())
    bodies = collect_bodies(message)
    html = "\n".join(bodies.htmls) or None
    return ParsedMail(
        message_id=own_message_id(raw_values(message, "message-id")),
        in_reply_to=message_ids(raw_values(message, "in-reply-to")),
        references=message_ids(raw_values(message, "references")),
        sender=next(iter(addresses(message, parser, "from")), None),
        reply_to=addresses(message, parser, "reply-to"),
        to=addresses(message, parser, "to"),
        cc=addresses(message, parser, "cc"),
        subject=" ".join(next((value for name, value in headers if name == "subject"), "").split()),
        date=sent_date(message, parser),
        text=body_text(bodies.texts, html),
        html=html,
        attachments=bodies.attachments,
        headers=headers,
        return_path=return_path(next(iter(raw_values(message, "return-path")), None)),
        content_type=message.get_content_type().lower(),
        forwarded=_enclosed_mails(bodies.enclosed, depth),
    )


def _enclosed_mails(parts: tuple[Message, ...], depth: int) -> tuple[ParsedMail, ...]:
    if depth >= _MAX_ENCLOSED_DEPTH:
        return ()
    return tuple(_build(inner, None, depth + 1) for part in parts if (inner := enclosed_message(part)))
