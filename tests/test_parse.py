"""parse_mail on small hand-written mails: what a coordinator would see of each."""

from __future__ import annotations

import base64
import email
from datetime import UTC, datetime

import pytest

from mailbot.intake.headers import Address, normalise_message_id
from mailbot.intake.html_text import html_to_text
from mailbot.intake.parse import UnparseableMail, _build, parse_mail

MISSED_VISITS = b"""\
Return-Path: <Sarah.Jones@Example.co.uk>
Message-ID:  <CAF1234.missed@mail.example.co.uk>
Date: Mon, 3 Mar 2025 09:15:00 +0000
From: "Jones, Sarah" <Sarah.Jones@Example.CO.UK>
To: Complaints Team <complaints@care.example.org>
Cc: =?utf-8?q?Si=C3=A2n_Evans?= <sian@example.org>
Subject: =?utf-8?q?Missed_care_visits_for_my_mother_=E2=80=93_Mrs?=
 =?utf-8?q?_Jones?=
Content-Type: text/plain; charset=utf-8

Dear Sir or Madam,

The carers did not turn up on Saturday or Sunday. My mother was left
without her lunch and her medication. This is the third weekend running.

Sarah Jones
"""


def crlf(raw: bytes) -> bytes:
    return raw.replace(b"\n", b"\r\n")


def test_relative_complaint_headers_and_body() -> None:
    mail = parse_mail(crlf(MISSED_VISITS))
    assert mail.message_id == "CAF1234.missed@mail.example.co.uk"
    assert mail.sender == Address(name="Jones, Sarah", email="sarah.jones@example.co.uk")
    assert mail.to == (Address(name="Complaints Team", email="complaints@care.example.org"),)
    assert mail.cc == (Address(name="Siân Evans", email="sian@example.org"),)
    assert mail.subject == "Missed care visits for my mother \u2013 Mrs Jones"
    assert mail.date == datetime(2025, 3, 3, 9, 15, tzinfo=UTC)
    assert mail.return_path == "sarah.jones@example.co.uk"
    assert mail.content_type == "text/plain"
    assert "did not turn up on Saturday" in mail.text
    assert "\r" not in mail.text
    assert mail.html is None and mail.attachments == () and mail.forwarded == ()


def test_headers_keep_order_and_lookup_ignores_case() -> None:
    mail = parse_mail(MISSED_VISITS)
    assert mail.headers[0] == ("return-path", "<Sarah.Jones@Example.co.uk>")
    assert mail.header("SUBJECT") == "Missed care visits for my mother \u2013 Mrs Jones"
    assert mail.header("x-missing") is None
    assert mail.header_all("Received") == ()
    assert [name for name, _ in mail.headers].count("cc") == 1


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"])
def test_line_endings_lf_crlf_and_bare_cr(ending: bytes) -> None:
    mail = parse_mail(MISSED_VISITS.replace(b"\n", ending))
    assert mail.subject == "Missed care visits for my mother \u2013 Mrs Jones"
    assert mail.text.startswith("Dear Sir or Madam,\n\nThe carers")


def test_encoded_words_in_gb2312_and_latin1() -> None:
    raw = (
        b"From: =?GB2312?B?1dTA2g==?= <zhao@example.cn>\n"
        b"To: =?ISO-8859-1?Q?Ren=E9e_O=27Brien?= <renee@example.ie>\n"
        b"Subject: =?iso-8859-15?q?Caf=E9_=A4?= and more\n\nHello\n"
    )
    mail = parse_mail(raw)
    assert mail.sender == Address(name="赵磊", email="zhao@example.cn")
    assert mail.to[0].name == "Renée O'Brien"
    assert mail.subject == "Café € and more"


def test_raw_8bit_headers_are_read_as_utf8() -> None:
    mail = parse_mail("Subject: Gofal i\u2019m mam\nFrom: Siôn <sion@example.cymru>\n\nDiolch\n".encode())
    assert mail.subject == "Gofal i\u2019m mam"
    assert mail.sender == Address("Siôn", "sion@example.cymru")


def test_undecodable_body_never_raises() -> None:
    raw = b"From: a@example.org\nContent-Type: text/plain; charset=utf-8\n\nCost \xa3120, \xff\xfe visits\n"
    assert "Cost £120" in parse_mail(raw).text  # old Outlook sends Windows-1252 labelled as anything
    bogus = b"From: a@example.org\nContent-Type: text/plain; charset=x-no-such-charset\n\nCaf\xe9\n"
    assert parse_mail(bogus).text.startswith("Caf")


def test_dates_broken_missing_and_without_zone() -> None:
    def date_of(value: bytes) -> datetime | None:
        return parse_mail(b"From: a@example.org\n" + value + b"\n\nx\n").date

    assert date_of(b"Date: the day after tomorrow") is None
    assert date_of(b"X-Nothing: here") is None
    assert date_of(b"Date: Tue, 4 Mar 2025 14:30:00") == datetime(2025, 3, 4, 14, 30, tzinfo=UTC)
    assert date_of(b"Date: Tue, 4 Mar 2025 14:30:00 +0100") == datetime(2025, 3, 4, 13, 30, tzinfo=UTC)


def test_folded_and_junk_thread_headers() -> None:
    raw = (
        b"From: a@example.org\n"
        b"In-Reply-To:\n <somelonglonglonglongunwrappablemessageid@mail.foo.bar>\n"
        b"References: <first@example.org>\n\t<second@example.org> <first@example.org> junk\n"
        b"References: \n\nx\n"
    )
    mail = parse_mail(raw)
    assert mail.in_reply_to == ("somelonglonglonglongunwrappablemessageid@mail.foo.bar",)
    assert mail.references == ("first@example.org", "second@example.org")
    assert parse_mail(b"From: a@example.org\nIn-Reply-To: someone@yahoo.com\n\nx\n").in_reply_to == ()
    assert parse_mail(b"From: a@example.org\n\nx\n").message_id is None


def test_normalise_message_id() -> None:
    assert normalise_message_id("  <Abc.123@Host.Example>  ") == "Abc.123@Host.Example"
    assert normalise_message_id("abc@host") == "abc@host"
    assert normalise_message_id("<abc@\n host>") == "abc@host"
    assert normalise_message_id("") == ""


def test_null_return_path_and_unparseable_from() -> None:
    mail = parse_mail(b"Return-Path: <>\nFrom: Mail Delivery System\n\nx\n")
    assert mail.return_path == ""
    assert mail.sender == Address(name="Mail Delivery System", email="")
    assert parse_mail(b"From: \n\nx\n").sender is None
    assert parse_mail(b"From: a@example.org\n\nx\n").return_path is None


def test_missing_boundary_keeps_the_text() -> None:
    raw = (
        b'From: a@example.org\nContent-Type: multipart/mixed; boundary="declared"\n\n'
        b"--actual\nContent-Type: text/plain\n\nMy father fell twice this week.\n--actual--\n"
    )
    assert parse_mail(raw).text.strip() == "My father fell twice this week."
    no_boundary = b"From: a@example.org\nContent-Type: multipart/alternative;\n\nBlah blah blah\n"
    assert parse_mail(no_boundary).text.strip() == "Blah blah blah"


def test_attachment_bytes_and_rfc2231_filename() -> None:
    pdf = b"%PDF-1.4 care plan"
    raw = (
        b"From: a@example.org\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
        b"--b\nContent-Type: text/plain\n\nPlease see the care plan.\n"
        b"--b\nContent-Type: application/pdf\n"
        b"Content-Disposition: attachment; filename*=utf-8''Cynllun%20gofal%20%E2%80%93%20Mam.pdf\n"
        b"Content-Transfer-Encoding: base64\n\n" + base64.b64encode(pdf) + b"\n--b--\n"
    )
    mail = parse_mail(raw)
    assert mail.text.strip() == "Please see the care plan."
    (attachment,) = mail.attachments
    assert attachment.filename == "Cynllun gofal \u2013 Mam.pdf"
    assert attachment.content_type == "application/pdf"
    assert attachment.payload == pdf


def test_forwarded_message_is_exposed_not_mixed_into_text() -> None:
    raw = (
        b"From: manager@care.example.org\nSubject: Fwd: concern from a GP\n"
        b"Content-Type: multipart/mixed; boundary=b\n\n"
        b"--b\nContent-Type: text/plain\n\nForwarding as discussed.\n"
        b"--b\nContent-Type: message/rfc822\n\n"
        b"From: Dr Patel <gp@surgery.example.nhs.uk>\nSubject: Mr Hughes\nMessage-ID: <gp1@nhs>\n\n"
        b"Mr Hughes has pressure sores.\n--b--\n"
    )
    mail = parse_mail(raw)
    assert mail.text.strip() == "Forwarding as discussed."
    (inner,) = mail.forwarded
    assert (inner.subject, inner.message_id, inner.sender) == (
        "Mr Hughes",
        "gp1@nhs",
        Address("Dr Patel", "gp@surgery.example.nhs.uk"),
    )
    assert "pressure sores" in inner.text


def test_html_only_mail_becomes_readable_text() -> None:
    html = (
        b"<html><head><style>p{color:red}</style><script>alert(1)</script></head><body>"
        b"<p>Thank you to <b>Bronwen</b>&nbsp;and the team.</p><div>She was kind<br>and patient.</div>"
        b"<ul><li>Always on time</li><li>Cheerful</li></ul>"
        b"<blockquote><div>On Mon, you wrote:</div><p>How was our service?</p></blockquote>"
        b"</body></html>"
    )
    mail = parse_mail(b"From: a@example.org\nContent-Type: text/html; charset=utf-8\n\n" + html)
    assert mail.html is not None and "<b>Bronwen</b>" in mail.html
    assert mail.text == (
        "Thank you to Bronwen and the team.\n\nShe was kind\nand patient.\n  * Always on time\n  * Cheerful\n"
        "> On Mon, you wrote:\n>\n> How was our service?"
    )


def test_html_to_text_drops_script_and_style() -> None:
    assert html_to_text("<style>x{}</style><script>var a;</script><p>Hello</p>") == "Hello"


def test_obsolete_space_before_colon_in_field_names() -> None:
    mail = parse_mail(b"From  : John Doe <jdoe@machine.example>\nSubject     : Saying Hello\n\nHello\n")
    assert mail.subject == "Saying Hello"
    assert mail.sender == Address("John Doe", "jdoe@machine.example")


@pytest.mark.parametrize("raw", [b"", b"   \r\n", b"Just a body line with no header at all\n\nMore\n"])
def test_no_mail_at_all_is_unparseable(raw: bytes) -> None:
    with pytest.raises(UnparseableMail):
        parse_mail(raw)


def test_stdlib_fallback_reads_the_same_fields() -> None:
    """The path used when mail-parser trips over a mail gives the same answers as the normal one."""
    normal = parse_mail(MISSED_VISITS)
    fallback = _build(email.message_from_bytes(MISSED_VISITS), None, depth=0)
    assert fallback == normal


def test_an_unclosed_script_does_not_hide_the_rest_of_a_complaint() -> None:
    raw = (
        b"From: a@example.net\r\nContent-Type: text/html\r\n\r\n"
        b"<p>Start</p><SCRIPT type=x>track()<p>My mum was left in bed all day</p><p>Please call me</p>"
    )
    text = parse_mail(raw).text
    assert "My mum was left in bed all day" in text and "Please call me" in text


def test_a_closed_script_is_still_hidden() -> None:
    raw = b"From: a@example.net\r\nContent-Type: text/html\r\n\r\n<p>Start</p><script>x</script><p>Shown</p>"
    assert parse_mail(raw).text == "Start\n\nShown"


@pytest.mark.parametrize(
    ("raw_name", "name"),
    [(b"Ren\xe9e Dupont", "Renée Dupont"), (b"\xc3\x89lodie Martin", "Élodie Martin"), (b"Si\xe2n", "Siân")],
)
def test_raw_8bit_names_are_decoded_not_escaped(raw_name: bytes, name: str) -> None:
    mail = parse_mail(b"From: " + raw_name + b" <p@example.net>\r\nSubject: x\r\n\r\nHello\r\n")
    assert mail.sender is not None and mail.sender.name == name
