"""Decoding the bytes of a header or body in whatever charset the mail declares, or gets wrong."""

from __future__ import annotations

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
