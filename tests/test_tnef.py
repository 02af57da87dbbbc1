"""Outlook's winmail.dat (TNEF) unpacked into the body and files a coordinator reads, using real samples
from tnefparse's own test data (tests/data/tnef/, with its licence)."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest

from mailbot.intake.parse import parse_mail

SAMPLES = Path(__file__).parent / "data" / "tnef"


def outlook_mail(winmail: bytes, text: str | None = None, content_type: str = "application/ms-tnef") -> bytes:
    """A mail as Outlook sends it with rich text on: a text part (sometimes none) and winmail.dat."""
    message = EmailMessage()
    message["From"] = "Sarah Jones <sarah.jones@example.co.uk>"
    message["To"] = "complaints@riverside.example"
    message["Subject"] = "Complaint about my mother's care"
    message["Message-ID"] = "<tnef-1@example.co.uk>"
    message.set_content(text if text is not None else "")
    maintype, subtype = content_type.split("/")
    message.add_attachment(winmail, maintype=maintype, subtype=subtype, filename="winmail.dat")
    return message.as_bytes()


def sample(name: str) -> bytes:
    return (SAMPLES / f"{name}.winmail.dat").read_bytes()


def test_the_files_inside_winmail_dat_become_the_mails_attachments() -> None:
    mail = parse_mail(outlook_mail(sample("two-files"), "Please see the attached."))
    assert [(a.filename, len(a.payload)) for a in mail.attachments] == [("AUTHORS", 244), ("README", 893)]
    assert b"winmail" not in b"".join(a.filename.encode() for a in mail.attachments)
    assert mail.text.strip() == "Please see the attached."


def test_a_body_only_inside_winmail_dat_is_read_as_the_mail_text() -> None:
    mail = parse_mail(outlook_mail(sample("body")))
    assert mail.text.startswith("THE BILL OF RIGHTS")
    assert mail.attachments == ()


def test_non_ascii_file_names_survive_and_an_rtf_only_body_is_kept_as_a_file() -> None:
    mail = parse_mail(outlook_mail(sample("umlaut"), content_type="application/vnd.ms-tnef"))
    names = [a.filename for a in mail.attachments]
    assert "UmlautAnhang-äüö.txt" in names
    assert names[-1] == "message.rtf"
    assert mail.attachments[-1].payload.startswith(b"{\\rtf1")
    text_file = next(a for a in mail.attachments if a.filename == "UmlautAnhang-äüö.txt")
    assert text_file.content_type == "text/plain"


@pytest.mark.parametrize("damage", ["truncated", "not tnef at all"])
def test_a_winmail_dat_that_cannot_be_read_is_kept_as_it_came(damage: str) -> None:
    broken = sample("two-files")[:40] if damage == "truncated" else b"MZ\x90\x00 this is not TNEF"
    mail = parse_mail(outlook_mail(broken, "Text written beside it."))
    assert [a.filename for a in mail.attachments] == ["winmail.dat"]
    assert mail.attachments[0].payload == broken
    assert mail.text.strip() == "Text written beside it."
