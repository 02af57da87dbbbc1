"""The safeguarding screening measured on the frozen set (tests/data/safeguarding; never tuned on).

The target in issue 17 is 100% recall in every category; the figures measured on 2026-11-30 fall short (see
README "Safeguarding"). These floors are those measured figures, so a change that loses a caught disclosure
or adds false alarms fails here; raising them is the work still to do.

Raised after the issue-17 widening (109 of 117 caught, from 96). The false-alarm ceiling went from 23 to the
28 measured with it: the issue puts recall first ("false alarms are acceptable; misses are not"), and the
indicators were widened for recall on the tuning set, not cut back by watching this set's false alarms.
"""

from __future__ import annotations

import pytest

from scripts.safeguarding_report import Tally, tally

CAUGHT_AT_LEAST = {
    "discriminatory": 12, "domestic": 10, "financial": 16, "modern_slavery": 11, "neglect": 25,
    "organisational": 16, "physical": 19, "psychological": 28, "self_neglect": 11, "sexual": 10,
}  # fmt: skip


@pytest.fixture(scope="module")
def measured() -> Tally:
    return tally()


def test_every_statutory_category_is_in_the_set(measured: Tally) -> None:
    assert set(measured.labelled) == set(CAUGHT_AT_LEAST)


@pytest.mark.parametrize("category", sorted(CAUGHT_AT_LEAST))
def test_disclosures_caught_do_not_fall(measured: Tally, category: str) -> None:
    assert measured.caught[category] >= CAUGHT_AT_LEAST[category]


def test_overall_recall_and_false_alarms(measured: Tally) -> None:
    assert measured.disclosures_caught >= 109 and measured.disclosures == 117
    assert measured.false_alarms <= 28 and measured.ordinary == 109
