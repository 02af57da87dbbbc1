"""The frozen safeguarding test set (issue 17) is intact and well formed; this checks the data, not the rules.

The set measures the safeguarding rules on mail they were not written from, so it must never change: new
examples go into a separate tuning set (see tests/data/safeguarding/README.md).
"""

from __future__ import annotations

import hashlib
import tomllib
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

SET_DIR = Path(__file__).resolve().parent / "data" / "safeguarding"
FROZEN = SET_DIR / "frozen.toml"
# Written on 2026-11-30 before any rule was tuned on it. Never update this to make the test pass.
FROZEN_SHA256 = "7f683740ac79e90d8cd4b401d74c91f98ff70f5a62417bce23bd52df2aa15797"

CATEGORIES = (
    "physical",
    "domestic",
    "sexual",
    "psychological",
    "financial",
    "modern_slavery",
    "discriminatory",
    "organisational",
    "neglect",
    "self_neglect",
)
VOICES = frozenset(
    {"relative", "resident", "staff", "neighbour", "advocate", "professional", "councillor", "other"}
)
KEYS = frozenset(
    {
        "id",
        "label",
        "categories",
        "voice",
        "language",
        "from_name",
        "from_address",
        "subject",
        "body",
        "words",
    }
)
EXAMPLE_DOMAINS = frozenset({"example.com", "example.org", "example.co.uk", "example.net"})
MIN_PER_CATEGORY = 10
MIN_PER_LABEL = 100
MIN_WELSH_DISCLOSURES = 6


@cache
def mails() -> tuple[dict[str, Any], ...]:
    with FROZEN.open("rb") as f:
        return tuple(tomllib.load(f)["mail"])


def disclosures() -> list[dict[str, Any]]:
    return [m for m in mails() if m["label"] == "disclosure"]


def ordinary() -> list[dict[str, Any]]:
    return [m for m in mails() if m["label"] == "ordinary"]


def test_the_frozen_set_has_not_been_edited() -> None:
    digest = hashlib.sha256(FROZEN.read_bytes()).hexdigest()
    assert digest == FROZEN_SHA256, (
        f"{FROZEN} has changed (sha256 {digest}). The frozen safeguarding set must never be edited: "
        "restore it with git and put new examples in a separate tuning set, as "
        "tests/data/safeguarding/README.md says."
    )


def test_ids_are_unique() -> None:
    repeated = [mail_id for mail_id, n in Counter(m["id"] for m in mails()).items() if n > 1]
    assert not repeated


def test_every_mail_has_exactly_the_documented_keys() -> None:
    odd = {m.get("id", "?"): sorted(set(m) ^ KEYS) for m in mails() if set(m) != KEYS}
    assert not odd


def test_labels_voices_languages_and_senders_are_the_documented_ones() -> None:
    for m in mails():
        assert m["label"] in {"disclosure", "ordinary"}, m["id"]
        assert m["voice"] in VOICES, m["id"]
        assert m["language"] in {"en", "cy"}, m["id"]
        assert m["from_address"].rpartition("@")[2] in EXAMPLE_DOMAINS, m["id"]
        assert m["from_name"].strip() and m["subject"].strip() and m["body"].strip(), m["id"]


def test_disclosures_name_known_categories_and_ordinary_mail_names_none() -> None:
    for m in disclosures():
        assert m["categories"] and set(m["categories"]) <= set(CATEGORIES), m["id"]
        assert len(set(m["categories"])) == len(m["categories"]), m["id"]
        assert m["words"], m["id"]
    for m in ordinary():
        assert m["categories"] == [] and m["words"] == [], m["id"]


def test_every_category_has_at_least_ten_disclosures() -> None:
    counts = Counter(c for m in disclosures() for c in m["categories"])
    short = {c: counts[c] for c in CATEGORIES if counts[c] < MIN_PER_CATEGORY}
    assert not short


def test_there_are_at_least_a_hundred_of_each_label() -> None:
    assert len(disclosures()) >= MIN_PER_LABEL
    assert len(ordinary()) >= MIN_PER_LABEL


def test_every_disclosures_words_occur_in_its_body() -> None:
    missing = [(m["id"], w) for m in disclosures() for w in m["words"] if w not in m["body"]]
    assert not missing


def test_at_least_six_disclosures_are_in_welsh() -> None:
    assert sum(m["language"] == "cy" for m in disclosures()) >= MIN_WELSH_DISCLOSURES
