"""The second frozen safeguarding set (issue 17) is intact and well formed: this checks the data, not
the rules.

It was written by someone who had not read the rules or the first set, to measure the rules' second
widening on mail they were not written from, so it must never change (see tests/data/safeguarding/README.md).
"""

from __future__ import annotations

import hashlib
import tomllib
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

# The set's format and floors are the first set's (tests/data/safeguarding/README.md); only Welsh asks more.
from tests.test_safeguarding_set import (
    CATEGORIES,
    EXAMPLE_DOMAINS,
    KEYS,
    MIN_PER_CATEGORY,
    MIN_PER_LABEL,
    VOICES,
)

FROZEN2 = Path(__file__).resolve().parent / "data" / "safeguarding" / "frozen2.toml"
# Written on 2026-11-30 before the rules' second widening was measured on it. Never update this to make the
# test pass.
FROZEN2_SHA256 = "1b0118806f7f504ed2dbc081e3bde6b10d7da5cee78f56496e0d675f291ff9f0"

MIN_WELSH_DISCLOSURES = 8


@cache
def mails() -> tuple[dict[str, Any], ...]:
    with FROZEN2.open("rb") as f:
        return tuple(tomllib.load(f)["mail"])


def disclosures() -> list[dict[str, Any]]:
    return [m for m in mails() if m["label"] == "disclosure"]


def ordinary() -> list[dict[str, Any]]:
    return [m for m in mails() if m["label"] == "ordinary"]


def test_the_second_frozen_set_has_not_been_edited() -> None:
    digest = hashlib.sha256(FROZEN2.read_bytes()).hexdigest()
    assert digest == FROZEN2_SHA256, (
        f"{FROZEN2} has changed (sha256 {digest}). The frozen safeguarding sets must never be edited: "
        "restore it with git and put new examples in the tuning set, as "
        "tests/data/safeguarding/README.md says."
    )


def test_ids_are_unique_and_carry_the_set_prefix() -> None:
    repeated = [mail_id for mail_id, n in Counter(m["id"] for m in mails()).items() if n > 1]
    assert not repeated
    assert all(m["id"].startswith("f2-") for m in mails())


def test_every_mail_has_exactly_the_documented_keys_and_values() -> None:
    for m in mails():
        assert set(m) == KEYS, m.get("id", "?")
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


def test_at_least_eight_disclosures_are_in_welsh() -> None:
    assert sum(m["language"] == "cy" for m in disclosures()) >= MIN_WELSH_DISCLOSURES
