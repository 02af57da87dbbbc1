"""Figures on the frozen front-door set (issue 13) held as floors: what was measured the first time the set
was run, before anything was changed because of it. They may rise; they must not fall. Run
``python scripts/front_door_report.py`` for the whole table (it is in the README)."""

from __future__ import annotations

from functools import cache

from scripts.front_door_report import Report, report


@cache
def measured() -> Report:
    return report()


def test_no_persons_mail_is_taken_for_a_machine() -> None:
    for evaluation in (measured().frozen_model, measured().tuning_model):
        people = [j for j in evaluation.judgements if j.expected_kind not in MACHINES]
        assert [j.file for j in people if j.kind in MACHINES] == []


def test_machine_mail_answered_stays_at_the_two_microsoft_365_verdicts_the_set_does_not_trust() -> None:
    # fz-123 and fz-126 carry Microsoft 365 spam verdicts, but the set trusts only mx.riverside.example, so
    # those verdicts rightly count for nothing; their words alone do not mark them as junk.
    answered = [j.file for j in measured().frozen_model.judgements
                if j.expected_kind in MACHINES and j.kind not in SILENT]  # fmt: skip
    assert set(answered) <= {"fz-123", "fz-126"}


def test_kind_accuracy_on_the_frozen_set_does_not_fall() -> None:
    # First measured 136 (rules + model) and 116 (rules alone) of 150; raised after issue 13's second round
    # (tuning set part three and four, rules for what they showed; the frozen set was not tuned on).
    assert measured().frozen_model.right >= 142  # of 150
    assert measured().frozen_rules.right >= 118  # the rules alone


def test_each_person_kind_keeps_its_recall_on_the_frozen_set() -> None:
    floors = {"complaint": 45, "concern": 17, "compliment": 17, "comment": 14, "out_of_scope": 5}
    found = {kind: measured().frozen_model.kind_score(kind).true_positives for kind in floors}
    assert all(found[kind] >= floor for kind, floor in floors.items()), found


def test_safeguarding_recall_on_the_frozen_set_does_not_fall() -> None:
    assert measured().frozen_model.flag_score("safeguarding").true_positives >= 10  # of 11


def test_requests_are_told_apart_on_the_frozen_set() -> None:
    for kind in ("subject_access", "foi"):
        score = measured().frozen_model.kind_score(kind)
        assert score.recall == 1.0 and score.precision == 1.0, kind


MACHINES = frozenset({"auto_reply", "bounce", "bulk", "spam"})
SILENT = MACHINES | {"staff_reply", "out_of_scope"}
