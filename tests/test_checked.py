"""The checks every value from a message passes before it is stored or written into one of our headers.

These do not depend on the Python patch level: they test our own functions, and the last tests build a
message from checked values and read the serialised bytes back, line by line.
"""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

import pytest
from markupsafe import Markup

from mailbot import checked

INJECTIONS = [
    "abc@example.org>\r\nReply-To: attacker@evil.example",
    "abc@example.org>\nBcc: attacker@evil.example",
    "=?utf-8?q?abc=0D=0AReply-To:_attacker@evil.example?=",
    "=?utf-8?b?YWJjDQpCY2M6IGF0dGFja2VyQGV2aWwuZXhhbXBsZQ==?=@example.org",
    "abc@example.org>\r\n\r\n<html>body of the attacker's choosing",
    "abc def@example.org",
    "abc\t@example.org",
    "abc@exa\x00mple.org",
]


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("<CAF+abc.123@mail.gmail.com>", "CAF+abc.123@mail.gmail.com"),
        ("  <20261130.1234@example.org>  ", "20261130.1234@example.org"),
        ("cmp-2026-0001.acknowledgeme.5f3a@example.org", "cmp-2026-0001.acknowledgeme.5f3a@example.org"),
        ("<abc@[192.0.2.1]>", "abc@[192.0.2.1]"),
        ("<DB9PR01MB1234ABCD$x@DB9PR01MB1234.eurprd01.prod.exchangelabs.com>",
         "DB9PR01MB1234ABCD$x@DB9PR01MB1234.eurprd01.prod.exchangelabs.com"),
    ],
)  # fmt: skip
def test_valid_message_ids_are_kept(raw: str, kept: str) -> None:
    assert checked.message_id(raw) == kept


@pytest.mark.parametrize("raw", INJECTIONS)
def test_message_ids_carrying_header_or_body_injection_are_dropped(raw: str) -> None:
    assert checked.message_id(raw) is None


@pytest.mark.parametrize(
    "raw",
    ["", None, "<>", "no-at-sign", "@example.org", "abc@", "<a@b>>", "a" * 251 + "@x", "ünïcode@example.org"],
)
def test_other_invalid_message_ids_are_dropped(raw: str | None) -> None:
    assert checked.message_id(raw) is None


def test_a_message_id_at_the_length_limit_is_kept_and_one_over_is_dropped() -> None:
    at_limit = "a" * (checked.MESSAGE_ID_LIMIT - len("@example.org")) + "@example.org"
    assert checked.message_id(at_limit) == at_limit
    assert checked.message_id("a" + at_limit) is None


@pytest.mark.parametrize(
    "raw",
    ["Complaint\r\nBcc: x@evil.example", "Complaint\nReply-To: x", "A\x00B\x1bC", "A\u202eB", "A\u2028B"],
)
def test_header_text_has_no_control_characters(raw: str) -> None:
    text = checked.header_text(raw, 100)
    assert not any(ch in text for ch in "\r\n\x00\x1b\u202e\u2028")
    assert text.split() == text.split(" ") and text == text.strip()


def test_header_text_is_cut_to_its_limit_with_an_ellipsis() -> None:
    assert checked.header_text("word " * 10, 12) == "word word w…"
    assert len(checked.subject("x" * 20_000)) == checked.SUBJECT_LIMIT
    assert checked.header_text("short", 12) == "short"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("Margaret Jones", "Margaret Jones"),
        ("Siân Ellis-Hughes", "Siân Ellis-Hughes"),
        ("O'Brien, Patrick", "O'Brien Patrick"),
        ("Visit https://evil.example/login now", "Visit now"),
        ("Dear team <attacker@evil.example>", "Dear team"),
        ("Claim your refund at www.evil.example", "Claim your refund at"),
        ("support@bank-security.com", ""),
        ("Mr\r\nBcc: x@evil.example Smith", "Mr Bcc Smith"),
    ],
)
def test_display_names_keep_a_name_and_lose_addresses_links_and_punctuation(raw: str, shown: str) -> None:
    assert checked.display_name(raw) == shown


def test_display_names_are_capped() -> None:
    assert len(checked.display_name("Name " * 1000)) <= checked.NAME_LIMIT


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("Margaret.Jones@Example.CO.UK", "margaret.jones@example.co.uk"),
        ("a+tag@example.org", "a+tag@example.org"),
        ("no-domain@localhost", None),
        ("two@@example.org", None),
        ("spaces in@example.org", None),
        ("x@example.org\r\nBcc: y@evil.example", None),
        ("a" * 250 + "@example.org", None),
        ("", None),
    ],
)
def test_addresses_we_may_send_to(raw: str, kept: str | None) -> None:
    assert checked.address(raw) == kept


@pytest.mark.parametrize(
    ("raw", "mailbox"),
    [
        ("Complaints+loop@Example.org", "complaints@example.org"),
        ("target+7@third.example", "target@third.example"),
        ("plain@example.org", "plain@example.org"),
        ("not-an-address", "not-an-address"),
    ],
)
def test_same_mailbox_folds_case_and_plus_tags(raw: str, mailbox: str) -> None:
    assert checked.same_mailbox(raw) == mailbox


@pytest.mark.parametrize("hostile", INJECTIONS)
def test_a_message_built_from_checked_values_has_only_our_headers(hostile: str) -> None:
    """Whatever the Python version does with CR/LF in headers, checked values never reach it."""
    message = EmailMessage()
    message["From"] = "complaints@example.org"
    message["To"] = "margaret@example.net"
    message["Subject"] = checked.subject(f"Re: {hostile}")
    ids = [i for i in (checked.message_id(hostile), "ok.1@example.net") if i]
    message["In-Reply-To"] = f"<{ids[-1]}>"
    message["References"] = " ".join(f"<{i}>" for i in ids)
    message.set_content("Our letter.")
    wire = message.as_bytes(policy=email.policy.SMTP.clone(max_line_length=998))
    head, _, body = wire.partition(b"\r\n\r\n")
    names = [line.split(b":", 1)[0] for line in head.split(b"\r\n") if not line.startswith((b" ", b"\t"))]
    assert sorted(set(names)) == sorted(
        {b"From", b"To", b"Subject", b"In-Reply-To", b"References", b"Content-Type",
         b"Content-Transfer-Encoding", b"MIME-Version"}
    )  # fmt: skip
    assert b"attacker" not in head.replace(b"Subject", b"") or b"Reply-To" not in names
    assert body.strip() == b"Our letter."
    assert all(len(line) <= 998 for line in wire.split(b"\r\n"))
    reparsed = email.message_from_bytes(wire, policy=email.policy.default)
    assert reparsed["Reply-To"] is None and reparsed["Bcc"] is None


def test_shown_text_loses_the_characters_that_reorder_it_and_keeps_joiners() -> None:
    assert checked.shown("Tom\u202e reganaM\u202c") == "Tom reganaM"
    assert (
        checked.shown("\u2067\u05e9\u05dc\u05d5\u05dd\u2069 and \u202aLTR\u202c")
        == "\u05e9\u05dc\u05d5\u05dd and LTR"
    )
    persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # ZWNJ inside a word: needed, kept
    assert checked.shown(persian) == persian and checked.shown("👩\u200d👧") == "👩\u200d👧"


def test_shown_keeps_markup_markup_and_other_values_as_they_are() -> None:
    safe = Markup("<b>\u202eA</b>")
    assert isinstance(checked.shown(safe), Markup) and checked.shown(safe) == Markup("<b>A</b>")
    assert checked.shown(42) == 42 and checked.shown(None) is None
