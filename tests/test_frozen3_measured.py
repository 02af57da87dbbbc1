"""The third frozen sets (front door and safeguarding) measured, with what was found the one time they were
run after issue 13's and 17's third round held as floors. Both sets were written on 2026-11-30 by people who
read neither the rules, the classifier nor the earlier sets. They may rise; they must not fall.

The front-door set was retired to "seen" on 2026-11-30 in the sixth session, after its third measurement
(README "The front door"): its misses were read, the rules of issue 13's fifth round were built with them in
view, and the kind model now trains on it except while it is measured here. Its floors below are therefore
guards against falling back, not out-of-sample figures. The safeguarding set is not retired by that."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from scripts.front_door_report import Report, report
from scripts.safeguarding_report import Tally, tally

DATA = Path(__file__).resolve().parent / "data"
MACHINES = frozenset({"auto_reply", "bounce", "bulk", "spam"})
# Measured once before the third round (main at 1b43737) and once after it; the floors are the after figures.
#   front door, rules + model: 195 of 225 before, 211 after; rules alone 160, then 175; machine mail answered
#   6 of 52, then 0; person taken for a machine 0 of 173 both times.
#   safeguarding: 125 of 138 disclosures caught with 41 of 117 ordinary mails flagged, then 129 and 33.
# Measured again after the fourth round (issues 13 and 17, whose engineers again never opened these sets):
#   front door 214 (rules alone 181), but one comment (f3-123, a GP practice's suggestion) was taken for out
#   of scope by the kind model alone. That one mail was read, and the principle it showed was made a rule
#   (classify/decide.py: the model alone never turns mail a rule read as a person's into out of scope), which
#   kept 214 with that comment right and one more sales pitch taken for a complaint. So one mail of the set is
#   no longer unseen. Safeguarding 130 of 138, 33 of 117 false alarms.
# Measured a third time after the fifth round (issue 17: the statistical backstop, built and chosen only on
# held-out batches of the other sets, and 88 more indicators; nobody building either opened these sets):
#   the indicators alone still 130 of 138 and 33 false alarms; as deployed, with the backstop, every one of
#   the 138 disclosures caught, in every category, and 43 of 117 ordinary mails flagged.
# Retired to seen (sixth session) and the fifth round's rules built with its misses in view: rules + model 224
#   (the model trained on the tuning set, part eight and the other two seen sets, not on this one), rules
#   alone 193. In-sample for the rules from here on. After issue 13's sixth round (seventh session; the model
#   also trained on frozen4 and part nine): rules + model 224, rules alone 195.
KIND_RIGHT = {"rules + model": 224, "rules alone": 195}  # of 225
PERSON_KIND_RECALL = {"complaint": 57, "concern": 31, "compliment": 26, "comment": 21, "out_of_scope": 17}
CAUGHT = {
    "discriminatory": 11, "domestic": 14, "financial": 23, "modern_slavery": 14, "neglect": 20,
    "organisational": 25, "physical": 22, "psychological": 34, "self_neglect": 14, "sexual": 14,
}  # fmt: skip
DISCLOSURES_CAUGHT, DISCLOSURES, FALSE_ALARMS_AT_MOST, ORDINARY = 130, 138, 33, 117  # indicators alone
DEPLOYED_FALSE_ALARMS_AT_MOST = 43  # with the backstop, which catches all 138


@cache
def kinds() -> Report:
    return report(DATA / "front_door" / "frozen3.toml")


@cache
def screened() -> Tally:
    return tally(DATA / "safeguarding" / "frozen3.toml")


@cache
def screened_as_deployed() -> Tally:
    return tally(DATA / "safeguarding" / "frozen3.toml", backstop=True)


def test_no_persons_mail_is_taken_for_a_machine_and_no_machine_mail_is_answered() -> None:
    for evaluation in (kinds().frozen_rules, kinds().frozen_model):
        judged = evaluation.judgements
        assert [j.file for j in judged if j.expected_kind not in MACHINES and j.kind in MACHINES] == []
        assert [j.file for j in judged if j.expected_kind in MACHINES and j.answered] == []


def test_no_persons_mail_is_left_out_of_scope() -> None:
    """Out of scope opens no case and sends nothing: a person's feedback taken for it is lost from view."""
    judged = kinds().frozen_model.judgements
    people = MACHINES | {"out_of_scope"}
    assert [j.file for j in judged if j.expected_kind not in people and j.kind == "out_of_scope"] == []


def test_kind_accuracy_does_not_fall() -> None:
    assert len(kinds().frozen_model.judgements) == 225
    assert kinds().frozen_model.right >= KIND_RIGHT["rules + model"]
    assert kinds().frozen_rules.right >= KIND_RIGHT["rules alone"]


def test_each_person_kind_keeps_its_recall() -> None:
    found = {kind: kinds().frozen_model.kind_score(kind).true_positives for kind in PERSON_KIND_RECALL}
    assert {k: n for k, n in found.items() if n < PERSON_KIND_RECALL[k]} == {}


def test_requests_and_the_safeguarding_flag_are_all_found() -> None:
    for kind in ("subject_access", "foi"):
        assert kinds().frozen_model.kind_score(kind).recall == 1.0, kind
    score = kinds().frozen_model.flag_score("safeguarding")
    assert score.true_positives == score.expected == 16


@pytest.mark.parametrize("category", sorted(CAUGHT))
def test_disclosures_caught_do_not_fall(category: str) -> None:
    assert screened().caught[category] >= CAUGHT[category]


def test_overall_recall_and_false_alarms() -> None:
    assert (screened().disclosures, screened().ordinary) == (DISCLOSURES, ORDINARY)
    assert screened().disclosures_caught >= DISCLOSURES_CAUGHT
    assert screened().false_alarms <= FALSE_ALARMS_AT_MOST


def test_as_deployed_every_disclosure_is_caught_in_every_category() -> None:
    deployed = screened_as_deployed()
    assert (deployed.disclosures, deployed.ordinary) == (DISCLOSURES, ORDINARY)
    assert {c: deployed.caught[c] for c in CAUGHT if deployed.caught[c] < deployed.labelled[c]} == {}
    assert deployed.disclosures_caught == DISCLOSURES
    assert deployed.false_alarms <= DEPLOYED_FALSE_ALARMS_AT_MOST
