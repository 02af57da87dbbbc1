"""Outlook's ``winmail.dat`` (TNEF, application/ms-tnef): the body and files Outlook wrapped inside it,
unpacked with tnefparse so a complaint sent that way reads like any other.

An RTF-only body cannot be turned into text reliably, so it is kept as a ``message.rtf`` file a person can
open. Anything tnefparse cannot read leaves the ``winmail.dat`` as it came: nothing is lost.
"""

from __future__ import annotations

import logging
import mimetypes
from dataclasses import dataclass
from typing import Any

from mailbot.checked import header_text
from mailbot.intake.charsets import decode_text

log = logging.getLogger(__name__)
TNEF_TYPES = frozenset({"application/ms-tnef", "application/vnd.ms-tnef"})
_FILENAME_LIMIT = 255


@dataclass(frozen=True)
class TnefContents:
    texts: tuple[str, ...]
    htmls: tuple[str, ...]
    files: tuple[tuple[str, str, bytes], ...]  # (filename, content type, payload)


def is_tnef(content_type: str, filename: str) -> bool:
    return content_type.lower() in TNEF_TYPES or filename.strip().lower() == "winmail.dat"


def unpack(payload: bytes) -> TnefContents | None:
    """What the TNEF holds, or None when it is not TNEF tnefparse can read."""
    import tnefparse

    try:
        tnef = tnefparse.TNEF(payload, do_checksum=False)
        files = tuple(_file(a) for a in tnef.attachments if a.data)
        rtf = tnef.rtfbody if not (tnef.body or tnef.htmlbody) else None
    except Exception as exc:  # a hostile or broken winmail.dat can fail anywhere inside the parser
        log.info("winmail.dat left as it came: tnefparse could not read it (%s)", type(exc).__name__)
        return None
    if rtf:
        files += (("message.rtf", "application/rtf", bytes(rtf)),)
    contents = TnefContents(_texts(tnef.body), _texts(tnef.htmlbody), files)
    return contents if contents.texts or contents.htmls or contents.files else None  # cut short, say


def _texts(value: str | bytes | None) -> tuple[str, ...]:
    if not value:
        return ()
    text = decode_text(value, "cp1252") if isinstance(value, bytes) else value
    return (text.replace("\r\n", "\n").strip("\x00"),)


def _file(attachment: Any) -> tuple[str, str, bytes]:
    raw = attachment.long_filename()
    name = raw.decode("cp1252", "replace") if isinstance(raw, bytes) else str(raw)
    name = header_text(name.strip("\x00"), _FILENAME_LIMIT) or "attachment"
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return name, content_type, bytes(attachment.data)
