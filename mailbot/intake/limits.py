"""Every value of a parsed mail made storable before any stage sees it: no message can make storing it fail.

Lengths are those of the columns the values reach (db/models.py): a Message-ID that is not a valid msg-id of
at most ``MESSAGE_ID_LIMIT`` characters is dropped (threading then falls back to the other ways), a name or
an address too long for its column is cut or dropped, and NUL or unpaired surrogate characters, which
PostgreSQL's text columns refuse, are removed. What was cut is said in ``ParsedMail.notes``; the raw message
is always stored whole.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime

from mailbot import checked
from mailbot.intake.bodies import Attachment
from mailbot.intake.headers import Address

NAME_LIMIT = 200  # Case.complainant_name is String(300)
CONTENT_TYPE_LIMIT = 100  # Attachment.content_type is String(255)
REFERENCES_LIMIT = 100  # ids kept from In-Reply-To and References: the newest, as clients trim them
ADDRESSES_LIMIT = 100  # of each of To, Cc and Reply-To
ERROR_LIMIT = 20_000  # characters of an error kept with a shunted message: its start and its end
# A sent date outside these years is a clock or a forgery; the record uses the time the server received it.
EARLIEST_DATE = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_DATE = datetime(2200, 1, 1, tzinfo=UTC)
_CONTENT_TYPE = re.compile(r"[a-z0-9!#$&^_.+-]{1,60}/[a-z0-9!#$&^_.+-]{1,60}")


def message_id(value: str | None, notes: list[str], what: str = "Message-ID") -> str | None:
    kept = checked.message_id(value)
    if value and kept is None:
        notes.append(f"{what} dropped: not a valid msg-id of at most {checked.MESSAGE_ID_LIMIT} characters")
    return kept


def message_ids(values: tuple[str, ...], notes: list[str], what: str) -> tuple[str, ...]:
    kept = tuple(ident for ident in (checked.message_id(v) for v in values) if ident)
    if len(kept) < len(values):
        notes.append(f"{len(values) - len(kept)} id(s) in {what} dropped: not valid msg-ids")
    if len(kept) > REFERENCES_LIMIT:
        notes.append(f"{what}: only the newest {REFERENCES_LIMIT} of {len(kept)} ids kept")
        kept = kept[-REFERENCES_LIMIT:]
    return kept


def address(value: Address | None, notes: list[str], what: str) -> Address | None:
    if value is None:
        return None
    name, email = storable(value.name), storable(value.email).strip()
    if len(name) > NAME_LIMIT:
        notes.append(f"{what} name cut from {len(name)} to {NAME_LIMIT} characters")
        name = checked.header_text(name, NAME_LIMIT)
    if len(email) > checked.ADDRESS_LIMIT:
        notes.append(f"{what} address dropped: {len(email)} characters, over {checked.ADDRESS_LIMIT}")
        email = ""
    return value if (name, email) == (value.name, value.email) else Address(name, email)


def addresses(values: tuple[Address, ...], notes: list[str], what: str) -> tuple[Address, ...]:
    if len(values) > ADDRESSES_LIMIT:
        notes.append(f"{what}: only the first {ADDRESSES_LIMIT} of {len(values)} addresses kept")
    kept = (address(value, notes, what) for value in values[:ADDRESSES_LIMIT])
    return tuple(a for a in kept if a is not None)


def attachment(value: Attachment, notes: list[str]) -> Attachment:
    content_type = value.content_type.strip().lower()
    if len(content_type) <= CONTENT_TYPE_LIMIT and _CONTENT_TYPE.fullmatch(content_type):
        return value if content_type == value.content_type else replace(value, content_type=content_type)
    notes.append(f"attachment type {content_type[:40]!r}… not valid: stored as application/octet-stream")
    return replace(value, content_type="application/octet-stream")


def sent_date(value: datetime | None, notes: list[str]) -> datetime | None:
    if value is None or EARLIEST_DATE <= value < LATEST_DATE:
        return value
    notes.append(f"Date {value.isoformat()} ignored: outside {EARLIEST_DATE.year}-{LATEST_DATE.year}")
    return None


def storable(text: str) -> str:
    """Text any database column takes: no NUL, no unpaired surrogates (from undecodable raw bytes)."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def error_text(error: str) -> str:
    """An error as the database can store it, whatever message text it quotes: no NUL, a bounded length."""
    text = storable(error)
    if len(text) <= ERROR_LIMIT:
        return text
    return f"{text[: ERROR_LIMIT // 2]}\n…\n{text[-ERROR_LIMIT // 2 :]}"
