"""Long bodies are decoded straight from the raw bytes, never through the email parser; what comes out must be
exactly what the ordinary parse gives, whatever the encoding or the shape of the mail."""

from __future__ import annotations

import email
import os
from email.message import EmailMessage

import pytest

from mailbot.intake.large_bodies import ELIDE_FROM, elide
from mailbot.intake.parse import ParsedMail, _build, parse_mail

BIG = ELIDE_FROM * 3


def ordinary(raw: bytes) -> ParsedMail:
    """The parse without eliding anything: the stdlib decodes every body itself."""
    return _build(email.message_from_bytes(raw), None, depth=0)


def same(raw: bytes) -> ParsedMail:
    fast, slow = parse_mail(raw), ordinary(raw)
    assert fast.text == slow.text and fast.html == slow.html
    assert [(a.filename, a.content_type, a.payload) for a in fast.attachments] == [
        (a.filename, a.content_type, a.payload) for a in slow.attachments
    ]
    assert [(m.subject, m.text, [a.payload for a in m.attachments]) for m in fast.forwarded] == [
        (m.subject, m.text, [a.payload for a in m.attachments]) for m in slow.forwarded
    ]
    return fast


def complaint(text: str = "Her carers missed three visits.\n", **cte: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Jane Doe <jane.doe@example.net>"
    message["To"] = "complaints@riverside.example"
    message["Subject"] = "Missed visits"
    message.set_content(text, **cte)  # type: ignore[arg-type]
    return message


@pytest.mark.parametrize("cte", ["base64", "quoted-printable", "8bit"])
def test_a_long_text_body_reads_the_same_in_every_transfer_encoding(cte: str) -> None:
    text = "The carers missed the visit again, and nobody rang to say so. Très inquiète. " * (BIG // 70)
    mail = same(complaint(text, cte=cte).as_bytes())
    assert mail.text.startswith("The carers missed")
    assert len(elide(complaint(text, cte=cte).as_bytes()).spans) == 1  # it was read from the raw bytes


def test_a_big_attachment_is_the_very_file_that_was_sent() -> None:
    payload = os.urandom(BIG)
    message = complaint()
    message.add_attachment(payload, "application", "pdf", filename="care plan.pdf")
    mail = same(message.as_bytes())
    assert mail.attachments[0].payload == payload


def test_a_big_attachment_inside_a_forwarded_mail_is_kept_too() -> None:
    inner = complaint()
    inner.add_attachment(os.urandom(BIG), "image", "jpeg", filename="bruise.jpg")
    outer = complaint("Forwarding the complaint below.\n")
    outer.add_attachment(inner, filename="complaint.eml")
    mail = same(outer.as_bytes())
    assert len(mail.forwarded) == 1 and len(mail.forwarded[0].attachments[0].payload) == BIG


def test_a_body_broken_by_a_line_that_looks_like_a_boundary_is_read_the_ordinary_way() -> None:
    text = "Long complaint. " * (BIG // 16) + "\n-- \nJane Doe\n" + "More after the signature.\n" * 10
    mail = same(complaint(text, cte="8bit").as_bytes())
    assert mail.text.rstrip().endswith("More after the signature.")


def test_base64_with_bad_padding_is_repaired_as_the_stdlib_repairs_it() -> None:
    raw = complaint().as_bytes().split(b"\n\n", 1)[0] + b"\n"
    body = email.message_from_bytes(raw)
    del body["Content-Transfer-Encoding"]
    head = body.as_bytes().rstrip(b"\n") + b"\nContent-Transfer-Encoding: base64\n\n"
    encoded = (b"VGhlIGNhcmVycyBtaXNzZWQgdGhlIHZpc2l0Lg" + b"\n") * (BIG // 38)  # no '=' padding at all
    same(head + encoded)


def test_a_token_written_into_a_mail_points_at_nothing() -> None:
    text = "mailbot-elided-0000000000000000-0\n" + "Filler. " * (BIG // 8)
    mail = same(complaint(text, cte="8bit").as_bytes())
    assert mail.text.startswith("mailbot-elided-0000000000000000-0")


def test_a_small_mail_is_parsed_as_it_always_was() -> None:
    assert elide(complaint().as_bytes()).spans == {}
