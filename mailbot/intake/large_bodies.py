"""Long bodies kept out of the email parser, so a message's size bounds what parsing it costs.

The standard library's parser holds several copies of every line it reads: a 30 MB attachment cost some 300 MB
to parse. So before parsing, each body of ``ELIDE_FROM`` bytes or more is replaced by a one-line token, and
when a part's bytes are wanted they are decoded straight from the raw message. A part whose body is not
exactly one token (a body broken by a line that looks like a boundary) gets its text back and is decoded
the ordinary way: slower, never wrong.
"""

from __future__ import annotations

import binascii
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message

ELIDE_FROM = 64 * 1024  # bytes of body: below this, parsing costs little
_BLANK_LINE = re.compile(rb"\n\r?\n")
_NEWLINE_AT_END = re.compile(rb"\r?\n\Z")


@dataclass(frozen=True)
class LargeBodies:
    """The raw message and where its long bodies were; ``parsed`` is what the email parser is given."""

    raw: bytes
    parsed: bytes
    spans: dict[str, tuple[int, int]] = field(default_factory=dict)  # token -> (start, end) in raw

    def payload(self, part: Message) -> bytes | None:
        """The decoded bytes of a leaf part whose body was elided; None when it was not (or is mixed)."""
        body = part.get_payload()
        if not self.spans or not isinstance(body, str):
            return None
        span = self.spans.get(body.strip())
        if span is None:
            if any(token in body for token in self.spans):
                part.set_payload(self._restored(body))  # decoded the ordinary way by the caller
            return None
        return _decode(memoryview(self.raw)[span[0] : span[1]], _transfer_encoding(part), part)

    def restore(self, data: bytes) -> bytes:
        """Bytes written out from the parsed tree (a message/* part), with the elided bodies put back."""
        for token, (start, end) in self.spans.items():
            if token.encode() in data:
                data = data.replace(token.encode(), self.raw[start:end])
        return data

    def _restored(self, body: str) -> str:
        for token, (start, end) in self.spans.items():
            body = body.replace(token, self.raw[start:end].decode("ascii", "surrogateescape"))
        return body


NOTHING_ELIDED = LargeBodies(b"", b"")


def elide(raw: bytes) -> LargeBodies:
    """The message with each long body replaced by a token (the header block is never touched)."""
    nonce = secrets.token_hex(8)  # so a token cannot be written into a mail to point at another part
    pieces: list[bytes] = []
    spans: dict[str, tuple[int, int]] = {}
    kept_to = 0
    for start, end in _bodies(raw):
        if end - start < ELIDE_FROM:
            continue
        # The line break before a boundary belongs to the boundary (RFC 2046), not to the body.
        body_end = end if end == len(raw) else _end_before_newline(raw, start, end)
        token = f"mailbot-elided-{nonce}-{len(spans)}"
        spans[token] = (start, body_end)
        pieces += [raw[kept_to:start], token.encode(), raw[body_end:end]]
        kept_to = end
    if not spans:
        return LargeBodies(raw, raw)
    pieces.append(raw[kept_to:])
    return LargeBodies(raw, b"".join(pieces), spans)


def _bodies(raw: bytes) -> Iterator[tuple[int, int]]:
    """Where each body is: the lines after a blank line, up to the next line that may be a MIME boundary
    (one starting "--") or the end. Found with bytes.find, which holds no state per line as a regex does."""
    position = 0
    while blank := _BLANK_LINE.search(raw, position):
        start = blank.end()
        boundary = raw.find(b"\n--", start - 1)
        end = len(raw) if boundary == -1 else boundary + 1
        yield start, end
        position = max(end, start)


def _end_before_newline(raw: bytes, start: int, end: int) -> int:
    found = _NEWLINE_AT_END.search(raw, max(start, end - 2), end)
    return found.start() if found else end


def _transfer_encoding(part: Message) -> str:
    return str(part.get("content-transfer-encoding", "7bit")).strip().lower()


def _decode(body: memoryview, encoding: str, part: Message) -> bytes | None:
    if encoding == "base64":
        try:
            return binascii.a2b_base64(body)
        except binascii.Error:  # bad padding and the like: the ordinary decoder repairs what it can
            part.set_payload(bytes(body).decode("ascii", "surrogateescape"))
            return None
    if encoding == "quoted-printable":
        return binascii.a2b_qp(body)
    if encoding in ("7bit", "8bit", "binary"):
        return bytes(body)
    part.set_payload(bytes(body).decode("ascii", "surrogateescape"))  # x-uuencode and the rare others
    return None
