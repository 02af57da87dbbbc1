"""Turn the raw bytes of one inbound mail into a frozen ParsedMail (pure, no I/O).

Anything that cannot be read as a mail at all raises UnparseableMail, so the runner can shunt it."""

from __future__ import annotations

import email
import email.header
import email.utils
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.errors import HeaderParseError
from email.message import Message
from html.parser import HTMLParser

import mailparser
from mailparser.exceptions import MailParserError

from mailbot.errors import MailbotError

log = logging.getLogger(__name__)

# Labels that mail clients get wrong in practice, mapped to the superset codec that decodes what they send.
_CHARSET_ALIASES = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "ks_c_5601-1987": "cp949",
    "shift_jis": "cp932",
    "x-sjis": "cp932",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "unknown-8bit": "utf-8",
    "x-unknown": "utf-8",
}
# Labels under which undeclared 8-bit text is most often Windows-1252 (a "£" from old Outlook, say).
_WESTERN_GUESS = {"", "us-ascii", "ascii", "utf-8", "unknown-8bit", "x-unknown"}
_FOLD = re.compile(r"(?:\r\n|\r|\n)(?=[ \t])")
_MSG_ID = re.compile(r"<([^<>]*)>")
_DELIMITER_LINE = re.compile(rb"^--([^\s\"]{1,70}?)[ \t]*\r?$", re.MULTILINE)
# RFC 5322 obsolete syntax allows white space before the colon ("Subject  : Hi"); the stdlib does not.
_OBSOLETE_FIELD_NAME = re.compile(rb"^([\x21-\x39\x3b-\x7e]+)[ \t]+:", re.MULTILINE)
_HEADER_END = re.compile(rb"\r?\n\r?\n|\r\r")
_ENCLOSED_TYPES = {"message/rfc822", "message/global", "text/rfc822-headers", "message/rfc822-headers"}
_MAX_ENCLOSED_DEPTH = 3


class UnparseableMail(MailbotError):
    """The bytes cannot be read as a mail at all; the pipeline shunts the message."""


@dataclass(frozen=True)
class Address:
    name: str
    email: str


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    payload: bytes


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


@dataclass(frozen=True)
class _Bodies:
    texts: tuple[str, ...]
    htmls: tuple[str, ...]
    attachments: tuple[Attachment, ...]
    enclosed: tuple[Message, ...]


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
    try:
        parser = mailparser.parse_from_bytes(raw)
    except MailParserError as exc:
        raise UnparseableMail(str(exc)) from exc
    except (AttributeError, TypeError, ValueError, LookupError, IndexError, KeyError) as exc:
        # Bugs inside mail-parser on odd MIME (e.g. a missing start boundary); the stdlib tree still reads.
        log.info("mail-parser failed (%r); falling back to the stdlib parser", exc)
        return email.message_from_bytes(raw), None
    return parser.message, parser


def _repair_field_names(raw: bytes) -> bytes:
    end = _HEADER_END.search(raw)
    split = end.start() if end else len(raw)
    head = raw[:split]
    fixed = _OBSOLETE_FIELD_NAME.sub(rb"\1:", head)
    return raw if fixed == head else fixed + raw[split:]


def _build(message: Message, parser: mailparser.MailParser | None, depth: int) -> ParsedMail:
    headers = tuple((name.lower(), _header_text(value)) for name, value in message.raw_items())
    bodies = _collect_bodies(message)
    html = "\n".join(bodies.htmls) or None
    return ParsedMail(
        message_id=_first_message_id(_raw_values(message, "message-id")),
        in_reply_to=_message_ids(_raw_values(message, "in-reply-to")),
        references=_message_ids(_raw_values(message, "references")),
        sender=next(iter(_addresses(message, parser, "from")), None),
        reply_to=_addresses(message, parser, "reply-to"),
        to=_addresses(message, parser, "to"),
        cc=_addresses(message, parser, "cc"),
        subject=" ".join(next((value for name, value in headers if name == "subject"), "").split()),
        date=_date(message, parser),
        text=_body_text(bodies.texts, html),
        html=html,
        attachments=bodies.attachments,
        headers=headers,
        return_path=_return_path(next(iter(_raw_values(message, "return-path")), None)),
        content_type=message.get_content_type().lower(),
        forwarded=_enclosed_mails(bodies.enclosed, depth),
    )


def _raw_values(message: Message, name: str) -> list[str]:
    """Header values as on the wire; Message.get() would turn raw 8-bit bytes into U+FFFD."""
    return [str(value) for key, value in message.raw_items() if key.lower() == name]


# --- text decoding --------------------------------------------------------------------------------------


def decode_text(data: bytes, charset: str | None) -> str:
    """Decode body or header bytes; never raises, replacing what no plausible charset can read."""
    declared = (charset or "").strip().strip("\"'").lower()
    codec = _CHARSET_ALIASES.get(declared, declared) or "utf-8"
    fallbacks = ("utf-8", "cp1252") if declared in _WESTERN_GUESS else ("utf-8",)
    for candidate in (codec, *fallbacks):
        try:
            return data.decode(candidate)
        except (LookupError, UnicodeError):
            continue
    return _decode_with_replacement(data, codec)


def _decode_with_replacement(data: bytes, codec: str) -> str:
    try:
        return data.decode(codec, "replace")
    except (LookupError, UnicodeError):
        return data.decode("utf-8", "replace")


def _header_text(value: str | email.header.Header) -> str:
    """Unfold a header and decode RFC 2047 encoded words and raw 8-bit bytes (RFC 6532 says UTF-8)."""
    text = _FOLD.sub("", str(value))
    if any("\udc80" <= char <= "\udcff" for char in text):
        text = decode_text(text.encode("utf-8", "surrogateescape"), "utf-8")
    if "=?" in text:
        text = _decode_encoded_words(text)
    return text.strip()


def _decode_encoded_words(text: str) -> str:
    try:
        chunks = email.header.decode_header(text)
    except (HeaderParseError, ValueError):
        return text
    return "".join(_decode_chunk(data, charset) for data, charset in chunks)


def _decode_chunk(data: bytes | str, charset: str | None) -> str:
    if isinstance(data, str):
        return data
    if charset is not None:
        return decode_text(data, charset)
    # decode_header hands back unencoded runs as raw-unicode-escape bytes.
    try:
        return data.decode("raw-unicode-escape")
    except UnicodeError:
        return data.decode("latin-1")


# --- identifiers, addresses, dates ----------------------------------------------------------------------


def normalise_message_id(value: str) -> str:
    """ "  <Abc@Host> " -> "Abc@Host": no brackets, no whitespace; case is kept (the left part is opaque)."""
    match = _MSG_ID.search(value)
    inner = match.group(1) if match else value
    return "".join(inner.split())


def _message_ids(values: list[str]) -> tuple[str, ...]:
    """Every <message id> in In-Reply-To or References, in order, once each; bare addresses and phrases
    ("your message of ...") that some clients put there are dropped."""
    found: dict[str, None] = {}
    for value in values:
        text = _FOLD.sub(" ", str(value))
        for candidate in _MSG_ID.findall(text):
            if ident := normalise_message_id(candidate):
                found.setdefault(ident, None)
    return tuple(found)


def _first_message_id(values: list[str]) -> str | None:
    ids = _message_ids(values)
    return ids[0] if ids else None


def _addresses(message: Message, parser: mailparser.MailParser | None, name: str) -> tuple[Address, ...]:
    raw = _raw_values(message, name)
    if not raw:
        return ()
    pairs = getattr(parser, name.replace("-", "_")) if parser else _stdlib_addresses(raw)
    found = tuple(Address(name=_header_text(n), email=addr.lower()) for n, addr in pairs if addr)
    if found or not "".join(raw).strip():
        return found
    # A From with no addr-spec at all still names somebody; keep the name so a person can see it.
    return (Address(name=_header_text(raw[0]), email=""),)


def _stdlib_addresses(raw: list[str]) -> list[tuple[str, str]]:
    return email.utils.getaddresses([_FOLD.sub("", value) for value in raw])


def _date(message: Message, parser: mailparser.MailParser | None) -> datetime | None:
    """mail-parser's strict reading first; the stdlib's lenient one for dates without a zone and the like."""
    found = parser.date if parser else None
    if found is None:
        found = _stdlib_date(next(iter(_raw_values(message, "date")), None))
    if found is None:
        return None
    return found.replace(tzinfo=UTC) if found.tzinfo is None else found.astimezone(UTC)


def _stdlib_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(_FOLD.sub(" ", str(value)))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _return_path(value: str | None) -> str | None:
    if value is None:
        return None
    text = _FOLD.sub("", str(value)).strip()
    if text.replace(" ", "") in ("", "<>"):
        return ""
    return email.utils.parseaddr(text)[1].lower() or text.strip("<>").lower()


# --- bodies and attachments -----------------------------------------------------------------------------


def _collect_bodies(message: Message) -> _Bodies:
    texts: list[str] = []
    htmls: list[str] = []
    attachments: list[Attachment] = []
    enclosed: list[Message] = []
    for part in _own_parts(message):
        kind = _part_role(part)
        if kind == "enclosed":
            enclosed.append(part)
        elif kind == "text":
            texts.append(_part_text(part))
        elif kind == "html":
            htmls.append(_part_text(part))
        else:
            attachments.append(_attachment(part))
    return _Bodies(
        tuple(t for t in texts if t.strip()),
        tuple(h for h in htmls if h.strip()),
        tuple(attachments),
        tuple(enclosed),
    )


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


def _part_bytes(part: Message) -> bytes:
    if part.is_multipart():
        return b"".join(_part_bytes(sub) for sub in part.get_payload() if isinstance(sub, Message))
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def _part_text(part: Message) -> str:
    text = decode_text(_part_bytes(part), part.get_content_charset())
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _attachment(part: Message) -> Attachment:
    return Attachment(
        filename=_header_text(part.get_filename() or ""),
        content_type=part.get_content_type().lower(),
        payload=_part_bytes(part) if part.get_content_maintype() != "message" else _flatten(part),
    )


def _flatten(part: Message) -> bytes:
    """The wire form of a message/* part (e.g. message/delivery-status), for whoever reads it later."""
    try:
        return part.as_bytes().split(b"\n\n", 1)[-1]
    except (LookupError, UnicodeError, TypeError, ValueError):
        return b""


def _body_text(texts: tuple[str, ...], html: str | None) -> str:
    if texts:
        return "\n".join(texts)
    return html_to_text(html) if html else ""


def _enclosed_mails(parts: tuple[Message, ...], depth: int) -> tuple[ParsedMail, ...]:
    if depth >= _MAX_ENCLOSED_DEPTH:
        return ()
    return tuple(_build(inner, None, depth + 1) for part in parts if (inner := _enclosed_message(part)))


def _enclosed_message(part: Message) -> Message | None:
    payload = part.get_payload()
    if isinstance(payload, list):
        inner = payload[0] if payload and isinstance(payload[0], Message) else None
    else:  # text/rfc822-headers, or an enclosed message the parser left as a string
        inner = email.message_from_bytes(_part_bytes(part))
    return inner if inner is not None and inner.keys() else None


# --- HTML to text ---------------------------------------------------------------------------------------

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


def html_to_text(html: str) -> str:
    """Readable plain text from an HTML body: no scripts or styles, one line per block, <br> kept."""
    reader = _HtmlText()
    reader.feed(html)
    reader.close()
    reader.finish()
    text = "\n".join(line.replace("\xa0", " ").rstrip() for line in reader.lines)
    text = re.sub(r"\n(?:>*\n){2,}", "\n\n", text)
    return re.sub(r"^(?:>*\s*\n)+|(?:\n>*\s*)+$", "", text).strip()
