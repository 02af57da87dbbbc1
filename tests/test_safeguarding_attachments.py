"""Attachments' text for safeguarding screening: PDF and Word files are read and screened, and a broken,
encrypted, huge or endless file is noted without stopping the mail (intake/attachment_text.py)."""

from __future__ import annotations

import io
import itertools
import zipfile
from email.message import EmailMessage
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from mailbot.classify.safeguarding import categories_found, load_screening, parts_of, screen
from mailbot.intake import attachment_text
from mailbot.intake.attachment_text import read_attachment
from mailbot.intake.bodies import Attachment
from mailbot.intake.parse import parse_mail

ROOT = Path(__file__).resolve().parent.parent
PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
DISCLOSURE = "Since the new carer started, Mum's bank card has gone and £400 was withdrawn."


def pdf_with_pages(*pages: str) -> bytes:
    """A real PDF, one page per string, its text in Helvetica: what a word processor's "save as PDF" makes."""
    count = len(pages)
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(count))
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {count} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for i, text in enumerate(pages):
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        stream = f"BT /F1 11 Tf 50 750 Td ({escaped}) Tj ET".encode("latin-1")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {5 + 2 * i} 0 R "
            "/Resources << /Font << /F1 3 0 R >> >> >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def encrypted(pdf: bytes, password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password=password, owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def docx_with(*paragraphs: str) -> bytes:
    """A minimal Word document: runs split mid-word, as Word writes them after an edit."""
    body = "".join(
        f'<w:p><w:r><w:t>{p[:5]}</w:t></w:r><w:r><w:t xml:space="preserve">{p[5:]}</w:t></w:r></w:p>'
        for p in paragraphs
    )
    xml = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document '
        'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        f"<w:body>{body}</w:body></w:document>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", xml)
    return out.getvalue()


def with_attachment(filename: str, content_type: str, payload: bytes) -> bytes:
    message = EmailMessage()
    message["From"] = "Ann Lee <ann@example.net>"
    message["To"] = "complaints@example.org"
    message["Subject"] = "Invoice query"
    message["Message-ID"] = "<att-1@example.net>"
    message.set_content("Please see the attached letter about the invoice.")
    maintype, subtype = content_type.split("/")
    message.add_attachment(payload, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()


@pytest.fixture(scope="module")
def screening():
    return load_screening(ROOT / "rules" / "safeguarding.toml")


def test_a_disclosure_only_in_a_pdf_is_found_and_said_to_be_in_it(screening) -> None:
    raw = with_attachment("letter to you.pdf", PDF, pdf_with_pages("About the invoice.", DISCLOSURE))
    findings = screen(screening, parts_of(parse_mail(raw)))
    assert "financial" in categories_found(findings)
    assert {f.where for f in findings} == {"attachment letter to you.pdf"}
    assert "in the attachment letter to you.pdf" in findings[0].describe()


def test_a_disclosure_in_a_word_document_is_found(screening) -> None:
    raw = with_attachment("notes.docx", DOCX, docx_with("Visit notes, 3 November.", DISCLOSURE))
    findings = screen(screening, parts_of(parse_mail(raw)))
    assert ("financial", "attachment notes.docx") in {(f.category, f.where) for f in findings}


def test_a_pdf_sent_as_octet_stream_is_recognised_by_its_signature() -> None:
    read = read_attachment(Attachment("scan", "application/octet-stream", pdf_with_pages(DISCLOSURE)))
    assert read is not None and "bank card" in read.text


def test_word_text_runs_are_joined_and_paragraphs_kept() -> None:
    read = read_attachment(Attachment("a.docx", DOCX, docx_with("First paragraph &amp; more", "Second one")))
    assert read is not None and read.text == "First paragraph & more\nSecond one"


def test_an_encrypted_pdf_is_noted_not_read() -> None:
    read = read_attachment(Attachment("locked.pdf", PDF, encrypted(pdf_with_pages(DISCLOSURE), "s3cret")))
    assert read is not None and (read.text, read.note) == ("", "not read: the PDF is encrypted")


def test_a_pdf_protected_only_by_an_empty_password_is_read() -> None:
    read = read_attachment(Attachment("open.pdf", PDF, encrypted(pdf_with_pages(DISCLOSURE), "")))
    assert read is not None and "bank card" in read.text


@pytest.mark.parametrize(
    ("name", "content_type", "payload"),
    [
        ("broken.pdf", PDF, b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 9 0 R >> endobj\ntrailer <<>>"),
        ("cut.pdf", PDF, pdf_with_pages(DISCLOSURE)[:300]),
        ("empty.pdf", PDF, b""),
        ("notzip.docx", DOCX, b"PK\x03\x04 not really a zip"),
        ("nodocument.docx", DOCX, docx_with("x").replace(b"word/document.xml", b"word/other.xmlxx")),
    ],
)
def test_a_broken_file_is_noted_and_the_mail_still_screened(screening, name, content_type, payload) -> None:
    read = read_attachment(Attachment(name, content_type, payload))
    assert read is not None and read.text.strip() == ""
    assert read.note.startswith("could not be read") or read.note == ""
    raw = with_attachment(name, content_type, payload).replace(
        b"Please see the attached letter", b"Dad flinches when she comes. Please see the attached letter"
    )
    assert "physical" in categories_found(screen(screening, parts_of(parse_mail(raw))))


def test_a_huge_attachment_is_not_opened(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(attachment_text, "MAX_BYTES", 1000)
    read = read_attachment(Attachment("big.pdf", PDF, pdf_with_pages("x " * 600)))
    assert read is not None and read.text == "" and read.note.startswith("not read: larger than")


def test_pages_past_the_limit_are_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(attachment_text, "MAX_PAGES", 2)
    read = read_attachment(Attachment("long.pdf", PDF, pdf_with_pages("one", "two", DISCLOSURE)))
    assert read is not None and "bank card" not in read.text
    assert read.note == "only the first 2 of 3 pages read"


def test_reading_stops_when_the_time_budget_is_spent() -> None:
    ticks = itertools.count(0.0, 4.0)  # each look at the clock: four seconds later; the budget is ten
    read = read_attachment(
        Attachment("slow.pdf", PDF, pdf_with_pages("one", "two", DISCLOSURE)), clock=lambda: next(ticks)
    )
    assert read is not None and read.note == "only the first 2 of 3 pages read (time limit)"


def test_a_word_document_that_unpacks_past_the_cap_is_read_only_in_part(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(attachment_text, "MAX_UNPACKED", 400)
    read = read_attachment(Attachment("bomb.docx", DOCX, docx_with("a" * 50_000)))
    assert read is not None and len(read.text) < 400
    assert read.note == "only the start of the document read (too large unpacked)"


def test_images_are_not_read_and_a_hostile_file_name_is_shown_tamed() -> None:
    assert read_attachment(Attachment("photo.jpg", "image/jpeg", b"\xff\xd8\xff")) is None
    read = read_attachment(Attachment("evil\r\nBcc: x@y.z.txt", "text/plain", b"hello"))
    assert read is not None and "\r" not in read.name and "\n" not in read.name
