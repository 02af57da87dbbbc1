"""The third frozen safeguarding set (issue 17) is intact and well formed: this checks the data, not the
rules.

It was written by someone who had not read the rules, the tuning data or the first two sets, to measure the
rules' later widening on mail they were not written from, so it must never change (see
tests/data/safeguarding/README.md).
"""

from __future__ import annotations

import hashlib
import tomllib
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

# The set's format is the first set's (tests/data/safeguarding/README.md); its floors are higher.
from tests.test_safeguarding_set import CATEGORIES, EXAMPLE_DOMAINS, KEYS, VOICES

FROZEN3 = Path(__file__).resolve().parent / "data" / "safeguarding" / "frozen3.toml"
# Written on 2026-11-30, before any rule was measured on it. Never update this to make the test pass.
FROZEN3_SHA256 = "5bdec5ea7e99e40822da042874a216b3a7e4dc3ba85318da7d2660c349e9c1ef"

MIN_PER_CATEGORY = 12
MIN_DISCLOSURES = 130
MIN_ORDINARY = 110
MIN_WELSH_DISCLOSURES = 12
# The forms a rule most easily misses, marked in each disclosure's id (see the file's header).
MIN_PER_FORM = {"-buried-": 15, "-plain-": 10}
MIN_QUOTED_OR_FORWARDED = 8


@cache
def mails() -> tuple[dict[str, Any], ...]:
    with FROZEN3.open("rb") as f:
        return tuple(tomllib.load(f)["mail"])


def disclosures() -> list[dict[str, Any]]:
    return [m for m in mails() if m["label"] == "disclosure"]


def ordinary() -> list[dict[str, Any]]:
    return [m for m in mails() if m["label"] == "ordinary"]


def test_the_third_frozen_set_has_not_been_edited() -> None:
    digest = hashlib.sha256(FROZEN3.read_bytes()).hexdigest()
    assert digest == FROZEN3_SHA256, (
        f"{FROZEN3} has changed (sha256 {digest}). The frozen safeguarding sets must never be edited: "
        "restore it with git and put new examples in the tuning set, as "
        "tests/data/safeguarding/README.md says."
    )


def test_ids_are_unique_and_carry_the_set_prefix() -> None:
    repeated = [mail_id for mail_id, n in Counter(m["id"] for m in mails()).items() if n > 1]
    assert not repeated
    assert all(m["id"].startswith("f3-") for m in mails())


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


def test_every_category_has_at_least_twelve_disclosures() -> None:
    counts = Counter(c for m in disclosures() for c in m["categories"])
    short = {c: counts[c] for c in CATEGORIES if counts[c] < MIN_PER_CATEGORY}
    assert not short


def test_there_are_at_least_130_disclosures_and_110_ordinary_mails() -> None:
    assert len(disclosures()) >= MIN_DISCLOSURES
    assert len(ordinary()) >= MIN_ORDINARY


def test_every_disclosures_words_occur_in_its_body() -> None:
    missing = [(m["id"], w) for m in disclosures() for w in m["words"] if w not in m["body"]]
    assert not missing


def test_at_least_twelve_disclosures_are_in_welsh() -> None:
    assert sum(m["language"] == "cy" for m in disclosures()) >= MIN_WELSH_DISCLOSURES


def test_the_hard_forms_are_there_in_number() -> None:
    forms = {form: sum(form in m["id"] for m in disclosures()) for form in MIN_PER_FORM}
    assert all(forms[form] >= floor for form, floor in MIN_PER_FORM.items()), forms
    quoted = [m for m in disclosures() if "-fwd-" in m["id"] or "-quoted-" in m["id"]]
    assert len(quoted) >= MIN_QUOTED_OR_FORWARDED
    # A quoted or forwarded disclosure's words are in the quoted or forwarded part, not above it.
    for m in quoted:
        marker = "---------- Forwarded message" if "-fwd-" in m["id"] else "\n>"
        quoted_part = m["body"].partition(marker)[2]
        assert quoted_part and all(w in quoted_part for w in m["words"]), m["id"]
