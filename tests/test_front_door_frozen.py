"""Figures on the frozen front-door sets (issue 13) held as floors. Both sets are now "seen" (their misses
were read in the third round), so these guard against falling back, not out-of-sample claims; the kind
model used for each is trained on the tuning set and the other seen sets (frozen3.toml too since the sixth
session, frozen4.toml and part nine since the seventh), never on the set it is scored on.
They may rise; they must not fall. Run ``python scripts/front_door_report.py [--set PATH]`` for the table."""

from __future__ import annotations

from functools import cache

from scripts.front_door_report import ROOT, Report, report

FROZEN2 = ROOT / "tests" / "data" / "front_door" / "frozen2.toml"


@cache
def measured() -> Report:
    return report()


@cache
def measured2() -> Report:
    return report(FROZEN2)


def test_no_persons_mail_is_taken_for_a_machine() -> None:
    for r in (measured(), measured2()):
        for evaluation in (r.frozen_model, r.frozen_rules, r.tuning_model):
            people = [j for j in evaluation.judgements if j.expected_kind not in MACHINES]
            assert [j.file for j in people if j.kind in MACHINES] == []


def test_no_machine_mail_is_answered() -> None:
    # fz-126 carries a Microsoft 365 spam verdict the set does not trust (it trusts only
    # mx.riverside.example), so the verdict rightly counts for nothing; it is a site's count of waiting
    # messages ("3 new messages for you"), which the system-notification-subject rule now knows as
    # notification mail (fz-123, the other once answered, is out of scope: no case, no reply).
    answered = [
        j.file for j in measured().frozen_model.judgements if j.expected_kind in MACHINES and j.answered
    ]
    assert answered == []
    second = measured2().frozen_model.judgements
    assert [j.file for j in second if j.expected_kind in MACHINES and j.answered] == []


def test_kind_accuracy_on_the_frozen_sets_does_not_fall() -> None:
    # frozen.toml: first measured 136 (rules + model) and 116 (rules alone) of 150; 142 after round two,
    # 144 after the fourth, 145 after the fifth (part eight); the rules alone 124 after the sixth.
    assert measured().frozen_model.right >= 145  # of 150
    assert measured().frozen_rules.right >= 124  # the rules alone
    # frozen2.toml: 175 before the second round, 189 after it; the third round read its misses (216), the
    # fourth (quiet questions as concerns) reached 218, the fifth (part eight; the model trained on frozen3
    # too) 221.
    assert measured2().frozen_model.right >= 221  # of 221
    assert measured2().frozen_rules.right >= 195


def test_each_person_kind_keeps_its_recall_on_the_frozen_sets() -> None:
    floors = {"complaint": 45, "concern": 19, "compliment": 18, "comment": 14, "out_of_scope": 5}
    found = {kind: measured().frozen_model.kind_score(kind).true_positives for kind in floors}
    assert all(found[kind] >= floor for kind, floor in floors.items()), found
    floors2 = {"complaint": 58, "concern": 33, "compliment": 27, "comment": 21, "out_of_scope": 17}
    found2 = {kind: measured2().frozen_model.kind_score(kind).true_positives for kind in floors2}
    assert all(found2[kind] >= floor for kind, floor in floors2.items()), found2


def test_safeguarding_recall_on_the_frozen_sets_does_not_fall() -> None:
    assert measured().frozen_model.flag_score("safeguarding").true_positives >= 11  # of 11
    assert measured2().frozen_model.flag_score("safeguarding").true_positives >= 16  # of 16


def test_no_persons_mail_is_taken_for_out_of_scope_on_the_frozen_sets() -> None:
    # Out of scope opens no case and writes to nobody: a person's mail taken for it is a complaint dropped.
    people = {"complaint", "concern", "compliment", "comment", "subject_access", "foi"}
    for r in (measured(), measured2()):
        for evaluation in (r.frozen_model, r.frozen_rules, r.tuning_model, r.tuning_rules):
            lost = [
                j.file
                for j in evaluation.judgements
                if j.expected_kind in people and j.kind == "out_of_scope"
            ]
            assert lost == []


def test_requests_are_told_apart_on_the_frozen_set() -> None:
    for kind in ("subject_access", "foi"):
        score = measured().frozen_model.kind_score(kind)
        assert score.recall == 1.0 and score.precision == 1.0, kind


MACHINES = frozenset({"auto_reply", "bounce", "bulk", "spam"})
