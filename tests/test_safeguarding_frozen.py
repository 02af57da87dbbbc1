"""The safeguarding screening measured on the two frozen sets in tests/data/safeguarding (frozen, frozen2).

Both sets are now SEEN: their misses and false alarms were read and the indicators widened (by category-level
construction, each tested by new tuning examples) in issue 17's third round, so these figures are in-sample.
The floors are what that round reached, so a change that loses a caught disclosure or adds false alarms fails
here. They were raised, never lowered: the first set from 109 of 117 caught (28 false alarms) and the second
from 118 of 128 (29 false alarms); in the fourth round, false alarms to 11 and 7 and how often the alert
names the labelled category. The honest measure of mail the rules have not seen is a set nobody tuned
on (see README "Safeguarding").
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from scripts.safeguarding_report import Tally, tally

SETS = Path(__file__).resolve().parent / "data" / "safeguarding"
CAUGHT_AT_LEAST = {
    "frozen.toml": {
        "discriminatory": 12, "domestic": 11, "financial": 17, "modern_slavery": 11, "neglect": 26,
        "organisational": 17, "physical": 19, "psychological": 32, "self_neglect": 11, "sexual": 12,
    },
    "frozen2.toml": {
        "discriminatory": 12, "domestic": 12, "financial": 21, "modern_slavery": 11, "neglect": 27,
        "organisational": 22, "physical": 23, "psychological": 30, "self_neglect": 11, "sexual": 13,
    },
}  # fmt: skip
# Disclosures whose alert names their labelled category (issue 17's fourth round: organisational from 9 and
# 11, discriminatory from 7 and 10, domestic from 8 and 8, sexual from 10 and 9).
NAMED_AT_LEAST = {
    "frozen.toml": {
        "discriminatory": 12, "domestic": 9, "financial": 13, "modern_slavery": 9, "neglect": 18,
        "organisational": 17, "physical": 17, "psychological": 25, "self_neglect": 8, "sexual": 12,
    },
    "frozen2.toml": {
        "discriminatory": 12, "domestic": 11, "financial": 18, "modern_slavery": 9, "neglect": 20,
        "organisational": 21, "physical": 22, "psychological": 22, "self_neglect": 10, "sexual": 12,
    },
}  # fmt: skip
# (disclosures caught, of disclosures; ordinary mails flagged at most, of ordinary mails); false alarms were
# 15 and 10 before the fourth round cut harmless uses seen in these sets, and the first set's 11 fell to 10 in
# the fifth ("nobody was hurt" after a fire drill, cut by kind from a fresh batch).
OVERALL = {"frozen.toml": (117, 117, 10, 109), "frozen2.toml": (128, 128, 7, 111)}


@cache
def measured(name: str) -> Tally:
    return tally(SETS / name)


@pytest.mark.parametrize("name", sorted(CAUGHT_AT_LEAST))
def test_every_statutory_category_is_in_the_set(name: str) -> None:
    assert set(measured(name).labelled) == set(CAUGHT_AT_LEAST[name])


@pytest.mark.parametrize(
    ("name", "category"),
    [(name, category) for name in sorted(CAUGHT_AT_LEAST) for category in CAUGHT_AT_LEAST[name]],
)
def test_disclosures_caught_do_not_fall(name: str, category: str) -> None:
    assert measured(name).caught[category] >= CAUGHT_AT_LEAST[name][category]


@pytest.mark.parametrize(
    ("name", "category"),
    [(name, category) for name in sorted(NAMED_AT_LEAST) for category in NAMED_AT_LEAST[name]],
)
def test_the_alert_names_the_category_at_least_as_often(name: str, category: str) -> None:
    assert measured(name).right_category[category] >= NAMED_AT_LEAST[name][category]


@pytest.mark.parametrize("name", sorted(OVERALL))
def test_overall_recall_and_false_alarms(name: str) -> None:
    caught, disclosures, alarms, ordinary = OVERALL[name]
    assert measured(name).disclosures_caught >= caught and measured(name).disclosures == disclosures
    assert measured(name).false_alarms <= alarms and measured(name).ordinary == ordinary
