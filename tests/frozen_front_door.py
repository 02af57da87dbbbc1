"""Checks shared by the later frozen front-door sets' data tests (test_front_door_set4.py, set5.py): each
test module names its set (file, SHA-256, what it was written to) and runs these on it. They check the data,
not the classifier."""

from __future__ import annotations

import hashlib
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.utils import parseaddr
from functools import cached_property
from pathlib import Path
from typing import Any

from mailbot.intake.parse import parse_mail
from mailbot.vocabulary import Kind
from tests.test_front_door_set2 import FLAGS, SET_DIR, as_message
from tests.test_front_door_set3 import AT_LEAST as KINDS_AT_LEAST  # the same brief as the third set
from tests.test_front_door_set3 import MACHINES

# Our receiving server's verdict fields: one of these, naming mx.riverside.example, marks every spam mail.
VERDICT_FIELDS = {
    "x-spam-flag",
    "x-spam-status",
    "x-spam",
    "x-spamd-result",
    "x-ms-exchange-organization-scl",
    "x-forefront-antispam-report",
    "authentication-results",
}


@dataclass(frozen=True)
class FrozenSet:
    number: int
    sha256: str  # never updated to make a test pass: a changed set is a new set
    welsh_at_least: int = 14
    mails_at_least: int = 225
    safeguarding_at_least: int = 0
    kinds_at_least: dict[str, int] = field(default_factory=lambda: dict(KINDS_AT_LEAST))

    @property
    def path(self) -> Path:
        return SET_DIR / f"frozen{self.number}.toml"

    @cached_property
    def data(self) -> dict[str, Any]:
        with self.path.open("rb") as f:
            return tomllib.load(f)

    @property
    def mails(self) -> list[dict[str, Any]]:
        return self.data["mail"]

    def as_message(self, entry: dict[str, Any]) -> bytes:
        """The second set's message, with this set's Message-ID domain."""
        message = message_from_bytes(as_message(entry), policy=policy.default)
        message.replace_header("Message-ID", f"<{entry['id']}@frozen{self.number}.example>")
        return message.as_bytes()


def unchanged(s: FrozenSet) -> None:
    assert hashlib.sha256(s.path.read_bytes()).hexdigest() == s.sha256


def names_our_mailbox_and_server(s: FrozenSet) -> None:
    assert s.data["set"]["name"] == f"front door frozen test set {s.number}"
    assert s.data["set"]["written"] == "2026-11-30"
    assert s.data["set"]["trusted_servers"] == ["mx.riverside.example"]
    assert s.data["set"]["mailbox"] == "complaints@riverside.example"


def numbered_in_order(s: FrozenSet) -> None:
    ids = [m["id"] for m in s.mails]
    assert ids == [f"f{s.number}-{n:03d}" for n in range(1, len(ids) + 1)]
    assert len(ids) >= s.mails_at_least


def fields_present(s: FrozenSet) -> None:
    required = ("id", "kind", "from", "subject", "voice")
    assert [m.get("id") for m in s.mails if any(not m.get(key) for key in required)] == []
    assert [m["id"] for m in s.mails if not (m.get("body") or m.get("html"))] == []


def kinds_as_written_to(s: FrozenSet) -> None:
    kinds = Counter(m["kind"] for m in s.mails)
    assert set(kinds) <= {str(kind) for kind in Kind}
    assert {k: kinds[k] for k, least in s.kinds_at_least.items() if kinds[k] < least} == {}


def flags_as_written_to(s: FrozenSet) -> None:
    flags = Counter(flag for m in s.mails for flag in m.get("flags", ()))
    assert set(flags) == FLAGS
    assert all(flags[flag] >= 3 for flag in FLAGS), flags
    assert flags["lang:cy"] >= s.welsh_at_least
    assert flags["safeguarding"] >= s.safeguarding_at_least


def machines_unflagged(s: FrozenSet) -> None:
    assert [m["id"] for m in s.mails if m["kind"] in MACHINES and m.get("flags")] == []


def spam_stamped_by_our_server(s: FrozenSet) -> None:
    """Spam here is spam by our server's word alone: its verdict on top, none among the sender's fields."""
    for spam in (m for m in s.mails if m["kind"] == "spam"):
        ours = [(name, value) for name, value in spam["received"] if name.lower() in VERDICT_FIELDS]
        stamped = " ".join(f"{name}: {value}" for name, value in spam["received"])
        assert ours and "mx.riverside.example" in stamped, spam["id"]
        assert [name for name, _ in spam.get("headers", ()) if name.lower() in VERDICT_FIELDS] == []


def bulk_without_list_headers(s: FrozenSet) -> None:
    """Bulk mail here is recognisable only by the marks mass senders leave, never by List-*."""
    bulk = [m for m in s.mails if m["kind"] == "bulk"]
    listed = [m["id"] for m in bulk if any(n.lower().startswith("list-") for n, _ in m.get("headers", ()))]
    assert listed == []


def parsed_as_written(s: FrozenSet, entry: dict[str, Any]) -> None:
    parsed = parse_mail(s.as_message(entry))
    assert parsed.message_id == f"{entry['id']}@frozen{s.number}.example"
    assert parsed.sender is not None
    assert parsed.sender.email == parseaddr(entry["from"])[1].lower()
    assert parsed.subject == entry["subject"]
    first_words = " ".join((entry.get("body") or "").split()[:6])
    assert first_words in " ".join(parsed.text.split())


SET_CHECKS = (
    unchanged,
    names_our_mailbox_and_server,
    numbered_in_order,
    fields_present,
    kinds_as_written_to,
    flags_as_written_to,
    machines_unflagged,
    spam_stamped_by_our_server,
    bulk_without_list_headers,
)
