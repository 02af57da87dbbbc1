"""The third frozen front-door test set (issue 13) is intact, covers what it claims, and every mail in it is
a message our parser reads as written; this checks the data, not the classifier. The set was written by
someone who had not read the rules, the classifier, its training data or the earlier sets, to measure the
classifier on mail nobody tuned on, so it must never change."""

from __future__ import annotations

import hashlib
import tomllib
from collections import Counter
from email import message_from_bytes, policy
from email.utils import parseaddr
from functools import cache
from typing import Any

import pytest

from mailbot.intake.parse import parse_mail
from mailbot.vocabulary import Kind
from tests.test_front_door_set2 import FLAGS, SET_DIR, as_message

FROZEN3 = SET_DIR / "frozen3.toml"
# Written on 2026-11-30, never tuned on. Never update this to make the test pass: write a new set instead.
FROZEN3_SHA256 = "7aa06de3e06f307aa624c883504dc97dd7469ac557e76325b1fecdbbb1751be6"
# The brief the set was written to: at least this many of each kind.
AT_LEAST = {
    "complaint": 55,
    "concern": 30,
    "compliment": 25,
    "comment": 20,
    "subject_access": 10,
    "foi": 10,
    "out_of_scope": 18,
    "spam": 10,
    "bulk": 22,
    "auto_reply": 10,
    "bounce": 10,
}
MACHINES = ("spam", "bulk", "auto_reply", "bounce")


@cache
def frozen3() -> dict[str, Any]:
    with FROZEN3.open("rb") as f:
        return tomllib.load(f)


def mails() -> list[dict[str, Any]]:
    return frozen3()["mail"]


def test_the_third_frozen_set_is_unchanged() -> None:
    assert hashlib.sha256(FROZEN3.read_bytes()).hexdigest() == FROZEN3_SHA256


def test_it_names_the_same_mailbox_and_trusted_server_as_the_earlier_sets() -> None:
    assert frozen3()["set"]["name"] == "front door frozen test set 3"
    assert frozen3()["set"]["trusted_servers"] == ["mx.riverside.example"]
    assert frozen3()["set"]["mailbox"] == "complaints@riverside.example"


def test_ids_are_unique_and_numbered_in_order() -> None:
    assert [m["id"] for m in mails()] == [f"f3-{n:03d}" for n in range(1, len(mails()) + 1)]
    assert len(mails()) >= 220


def test_every_kind_has_at_least_the_numbers_it_was_written_to() -> None:
    kinds = Counter(m["kind"] for m in mails())
    assert set(kinds) <= {str(kind) for kind in Kind}
    assert {kind: kinds[kind] for kind in AT_LEAST if kinds[kind] < AT_LEAST[kind]} == {}


def test_flags_are_known_every_one_is_used_and_at_least_twelve_mails_are_welsh() -> None:
    flags = Counter(flag for m in mails() for flag in m.get("flags", ()))
    assert set(flags) == FLAGS
    assert all(flags[flag] >= 3 for flag in FLAGS), flags
    assert flags["lang:cy"] >= 12


def test_machines_carry_no_flags_and_spam_always_has_our_servers_verdict() -> None:
    assert [m["id"] for m in mails() if m["kind"] in MACHINES and m.get("flags")] == []
    for spam in (m for m in mails() if m["kind"] == "spam"):
        stamped = " ".join(f"{name}: {value}" for name, value in spam["received"])
        assert "mx.riverside.example" in stamped, spam["id"]


def test_no_newsletter_or_notification_carries_list_headers() -> None:
    """The brief: bulk mail here is recognisable only by the marks mass senders leave, never by List-*."""
    bulk = [m for m in mails() if m["kind"] == "bulk"]
    assert [
        m["id"] for m in bulk if any(name.lower().startswith("list-") for name, _ in m.get("headers", ()))
    ] == []


@pytest.mark.parametrize("entry", mails(), ids=lambda m: m["id"])
def test_every_mail_is_a_message_our_parser_reads_as_written(entry: dict[str, Any]) -> None:
    parsed = parse_mail(as_message3(entry))
    assert parsed.message_id == f"{entry['id']}@frozen3.example"
    assert parsed.sender is not None
    assert parsed.sender.email == parseaddr(entry["from"])[1].lower()
    assert parsed.subject == entry["subject"]
    first_words = " ".join((entry.get("body") or "").split()[:6])
    assert first_words in " ".join(parsed.text.split())


def as_message3(entry: dict[str, Any]) -> bytes:
    """The second set's message, with this set's Message-ID domain."""
    message = message_from_bytes(as_message(entry), policy=policy.default)
    message.replace_header("Message-ID", f"<{entry['id']}@frozen3.example>")
    return message.as_bytes()
