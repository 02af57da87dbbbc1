"""Header fields as their writer meant them: unfolded and decoded, message ids, addresses, dates.

Values come off the wire untouched (``raw_values``) so raw 8-bit bytes are decoded here, not lost."""

from __future__ import annotations

import email.header
import email.utils
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.errors import HeaderParseError
from email.message import Message

from mailparser.const import ADDRESSES_HEADERS
from mailparser.dates import date_diagnostics, parse_mail_date
from mailparser.utils import get_addresses

from mailbot import checked
from mailbot.intake.charsets import decode_text

_FOLD = re.compile(r"(?:\r\n|\r|\n)(?=[ \t])")
_MSG_ID = re.compile(r"<([^<>]*)>")
# A References header names the thread's first mail and its latest ones; a longer list is trimmed the way mail
# clients trim it (RFC 5322 section 3.6.4), so no header can make threading look up thousands of ids.
THREAD_IDS_KEPT = 100


@dataclass(frozen=True)
class Address:
    name: str
    email: str


def raw_values(message: Message, name: str) -> list[str]:
    """Header values as on the wire; Message.get() would turn raw 8-bit bytes into U+FFFD."""
    return [str(value) for key, value in message.raw_items() if key.lower() == name]


# --- text decoding --------------------------------------------------------------------------------------


def header_text(value: str | email.header.Header) -> str:
    """Unfold a header and decode RFC 2047 encoded words and raw 8-bit bytes (RFC 6532 says UTF-8)."""
    text = str(value)
    if "\n" in text or "\r" in text:  # folded (most fields are one line)
        text = _FOLD.sub("", text)
    if _has_raw_bytes(text):
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


def message_ids(values: list[str]) -> tuple[str, ...]:
    """Every valid <message id> in In-Reply-To or References, in order, once each; bare addresses and phrases
    ("your message of ...") that some clients put there are dropped, and so is anything ``checked.message_id``
    refuses (an encoded word, a control character, an id too long), so threading falls back to the other
    ways. At most ``THREAD_IDS_KEPT``: the first and the latest."""
    found: dict[str, None] = {}
    for value in values:
        text = _FOLD.sub(" ", str(value))
        for candidate in _MSG_ID.findall(text):
            if ident := checked.message_id(normalise_message_id(candidate)):
                found.setdefault(ident, None)
    ids = tuple(found)
    return ids if len(ids) <= THREAD_IDS_KEPT else (ids[0], *ids[-(THREAD_IDS_KEPT - 1) :])


def written_message_id(values: list[str]) -> str | None:
    """The mail's own Message-ID as written, not yet checked: intake/limits.message_id checks it and notes
    when it is dropped."""
    for value in values:
        if ident := normalise_message_id(_FOLD.sub(" ", str(value))):
            return ident
    return None


def own_message_id(values: list[str]) -> str | None:
    """The mail's own Message-ID when it is a valid msg-id; None otherwise (the mail is then known by its
    bytes, and nothing of the invalid value is ever written back into a header of ours)."""
    for value in values:
        if ident := checked.message_id(normalise_message_id(_FOLD.sub(" ", str(value)))):
            return ident
    return None


class MailParserFields:
    """From, To, Cc, Reply-To and Date as mail-parser's ``MailParser`` reads them (``from_``, ``to``, ``cc``,
    ``reply_to``, ``date``), worked out with its own functions in the order its ``_reset`` runs them (every
    address field and date field, so a field it would trip over still trips), without the rest of its
    parse: the walk over the parts, every other header decoded, the defect lists. Nothing here reads those,
    and they were half of parsing's CPU. ``message`` is the header block as mail-parser would be given it."""

    def __init__(self, message: Message) -> None:
        index: dict[str, list[str | email.header.Header]] = {}
        for field, value in message.items():
            index.setdefault(field.lower(), []).append(value)
        self._addresses: dict[str, list[tuple[str, str]]] = {}
        for field in sorted(ADDRESSES_HEADERS):
            for occurrence, value in enumerate(index.get(field, [])):
                found = get_addresses(value, defects=[], decode_names=True)
                if occurrence == 0:
                    self._addresses[field] = found
        self.date: datetime | None = None
        seen: dict[str, int] = {}
        for field, raw in message.raw_items():
            field = field.lower()
            if field not in ("date", "resent-date"):
                continue
            occurrence = seen.get(field, 0)
            seen[field] = occurrence + 1
            result = parse_mail_date(raw)
            if field == "date" and occurrence == 0:
                self.date = result.value
            date_diagnostics(result, raw, field, occurrence)

    def pairs(self, field: str) -> list[tuple[str, str]]:
        """(name, address) pairs of the field's first occurrence, as ``MailParser._header_value`` gives
        them: those without an address left out, a name that only repeats the address made empty."""
        found = self._addresses.get(field, [])
        return [("" if name == address else name, address) for name, address in found if address]


def addresses(message: Message, parser: MailParserFields | None, name: str) -> tuple[Address, ...]:
    raw = raw_values(message, name)
    if not raw:
        return ()
    # mail-parser writes raw 8-bit bytes into names as literal "\\udce9" text; the stdlib keeps the bytes for
    # header_text to decode (UTF-8, else Windows-1252), so "Ren\xe9e" stays "Renée".
    eight_bit = any(_has_raw_bytes(value) for value in raw)
    pairs = parser.pairs(name) if parser and not eight_bit else _stdlib_addresses(raw)
    found = tuple(Address(name=header_text(n), email=addr.lower()) for n, addr in pairs if addr)
    if found or not "".join(raw).strip():
        return found
    # A From with no addr-spec at all still names somebody; keep the name so a person can see it.
    return (Address(name=header_text(raw[0]), email=""),)


def _has_raw_bytes(text: str) -> bool:
    return not text.isascii() and _RAW_BYTE.search(text) is not None


_RAW_BYTE = re.compile("[\udc80-\udcff]")  # an undecodable byte, as surrogateescape keeps it


def _stdlib_addresses(raw: list[str]) -> list[tuple[str, str]]:
    return email.utils.getaddresses([_FOLD.sub("", value) for value in raw])


def sent_date(message: Message, parser: MailParserFields | None) -> datetime | None:
    """mail-parser's strict reading first; the stdlib's lenient one for dates without a zone and the like."""
    found = parser.date if parser else None
    if found is None:
        found = _stdlib_date(next(iter(raw_values(message, "date")), None))
    if found is None:
        return None
    try:
        return found.replace(tzinfo=UTC) if found.tzinfo is None else found.astimezone(UTC)
    except OverflowError:  # "31 Dec 9999 23:59 -2359" has no time in UTC
        return None


def _stdlib_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(_FOLD.sub(" ", str(value)))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def return_path(value: str | None) -> str | None:
    """The bounce address: "" for the null path <>, None when the header is absent."""
    if value is None:
        return None
    text = _FOLD.sub("", str(value)).strip()
    if text.replace(" ", "") in ("", "<>"):
        return ""
    return email.utils.parseaddr(text)[1].lower() or text.strip("<>").lower()
