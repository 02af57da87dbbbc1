"""The words in a mail's attachments, where they can be read: plain text, CSV, HTML, PDF and Word (.docx), so
that safeguarding screening sees a disclosure a relative typed up and attached.

Every attachment comes from a stranger, so reading one is bounded (its size, pages, characters and a time
budget) and a file that is broken, encrypted or too big is noted, never allowed to stop the mail.
"""

from __future__ import annotations

import html
import io
import logging
import re
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

from mailbot import checked
from mailbot.intake.bodies import Attachment
from mailbot.intake.charsets import decode_text
from mailbot.intake.html_text import html_to_text

log = logging.getLogger(__name__)

MAX_BYTES = 15 * 1024 * 1024  # an attachment bigger than this is not opened at all
MAX_PAGES = 50  # of a PDF; a complaint's enclosure is a letter or a diary, not a book
MAX_CHARS = 200_000  # the same ceiling as the screening of any other part
TIME_BUDGET_SECONDS = 10.0  # per attachment, checked between PDF pages
MAX_UNPACKED = 20 * 1024 * 1024  # a .docx's document.xml; a zip can claim any size, so never read past this
NAME_LIMIT = 80

Clock = Callable[[], float]


@dataclass(frozen=True)
class AttachmentText:
    name: str  # the file name as it may be shown to a person (checked, capped)
    text: str
    note: str = ""  # why nothing, or only part, was read


def read_attachment(attachment: Attachment, clock: Clock = time.monotonic) -> AttachmentText | None:
    """The readable text of one attachment; None when it is not a kind we read (images, audio, ...)."""
    reader = _reader_for(attachment)
    if reader is None:
        return None
    name = checked.header_text(attachment.filename, NAME_LIMIT) or "(unnamed)"
    if len(attachment.payload) > MAX_BYTES:
        return _noted(name, f"not read: larger than {MAX_BYTES // (1024 * 1024)} MB")
    try:
        text, note = reader(attachment.payload, clock)
    # A parser given hostile bytes can raise almost anything (pypdf: its own errors, but also KeyError,
    # ValueError, RecursionError, zlib errors). Whatever it is belongs to this one file: it is noted, and the
    # mail and its other parts are still screened.
    except Exception as exc:
        return _noted(name, f"could not be read ({type(exc).__name__})")
    return AttachmentText(name, text[:MAX_CHARS], note)


def _noted(name: str, note: str) -> AttachmentText:
    log.info("attachment %r %s", name, note)
    return AttachmentText(name, "", note)


def _reader_for(attachment: Attachment) -> Callable[[bytes, Clock], tuple[str, str]] | None:
    kind = _READERS_BY_TYPE.get(attachment.content_type.lower())
    if kind is None:
        extension = attachment.filename.lower().rpartition(".")[2]
        kind = _READERS_BY_EXTENSION.get(extension)
    if kind is None and attachment.payload.startswith(b"%PDF-"):
        kind = "pdf"
    return _READERS.get(kind) if kind else None


def _plain_text(payload: bytes, clock: Clock) -> tuple[str, str]:
    return decode_text(payload[: MAX_CHARS * 4], None), ""


def _html_text(payload: bytes, clock: Clock) -> tuple[str, str]:
    return html_to_text(decode_text(payload[: MAX_CHARS * 8], None)), ""


def _pdf_text(payload: bytes, clock: Clock) -> tuple[str, str]:
    from pypdf import PdfReader  # only a mail with a PDF pays for importing it

    reader = PdfReader(io.BytesIO(payload), strict=False)
    if reader.is_encrypted and not reader.decrypt(""):  # many "protected" PDFs open with no password
        return "", "not read: the PDF is encrypted"
    deadline, texts, total = clock() + TIME_BUDGET_SECONDS, [], 0
    pages = reader.pages
    for number, page in enumerate(pages):
        if number == MAX_PAGES:
            return "\n".join(texts), f"only the first {MAX_PAGES} of {len(pages)} pages read"
        if clock() > deadline:
            return "\n".join(texts), f"only the first {number} of {len(pages)} pages read (time limit)"
        texts.append(page.extract_text() or "")
        total += len(texts[-1])
        if total >= MAX_CHARS:
            break
    return "\n".join(texts), ""


_PARAGRAPH_END = re.compile(r"</w:p>|<w:br\b[^>]*/>|<w:cr\b[^>]*/>")
_TAB = re.compile(r"<w:tab\b[^>]*/>")
_TAG = re.compile(r"<[^>]{0,2000}>")


def _docx_text(payload: bytes, clock: Clock) -> tuple[str, str]:
    """The words of word/document.xml, read as text rather than parsed as XML: runs of <w:t> joined, a line
    per paragraph. No XML parser means no entity expansion to guard against."""
    with zipfile.ZipFile(io.BytesIO(payload)) as archive, archive.open("word/document.xml") as member:
        xml = member.read(MAX_UNPACKED + 1)
    note = "only the start of the document read (too large unpacked)" if len(xml) > MAX_UNPACKED else ""
    lines = _PARAGRAPH_END.sub("\n", xml[:MAX_UNPACKED].decode("utf-8", "replace"))
    text = _TAG.sub("", _TAB.sub(" ", lines))
    return html.unescape(text).strip(), note


_READERS: dict[str, Callable[[bytes, Clock], tuple[str, str]]] = {
    "text": _plain_text, "html": _html_text, "pdf": _pdf_text, "docx": _docx_text,
}  # fmt: skip
_READERS_BY_TYPE = {
    "text/plain": "text", "text/csv": "text", "text/markdown": "text", "text/html": "html",
    "application/pdf": "pdf", "application/x-pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
}  # fmt: skip
_READERS_BY_EXTENSION = {
    "txt": "text", "csv": "text", "htm": "html", "html": "html", "pdf": "pdf", "docx": "docx",
}  # fmt: skip
