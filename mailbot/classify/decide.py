"""The kind of a person's new mail, from the rule chain and the kind model together, with a confidence.

The rules alone decide machines, spam, mail on a case and every flag. For new mail from a person the rules
give a kind and how firmly (a rule marked ``sure`` in classify.toml, such as "subject access request"; a
phrase list that leans one way; or only the catch-all), and the model trained on the organisation's own
labels gives a probability for each kind. Where the two agree the kind is sure; where the rules only lean
or fall through, the model may overrule them when it is confident; where neither is sure, or the mail both
praises and complains and nothing settles it, the kind is marked unsure: kind-neutral letters, and the
coordinator is asked to confirm it with ``#kind``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from mailbot.classify.kind_model import Prediction
from mailbot.classify.result import Classification
from mailbot.vocabulary import PERSON_KINDS, UNSURE_KIND_FLAG, Kind

# Confidence each way of deciding carries when the model has nothing to add.
SURE, LEANING, LEANING_MIXED, FALLEN_THROUGH = 0.9, 0.7, 0.45, 0.35
UNSURE_BELOW = 0.5
OVERRULE_AT = 0.7  # the model's probability needed to overrule a rule that only leans
# The model may call a mail out of scope (no case) only when very sure: a lost complaint costs more.
OUT_OF_SCOPE_AT = 0.8
# Praise and dissatisfaction together are settled only by a model this sure of one of them.
MIXED_SETTLED_AT = 0.75


@dataclass(frozen=True)
class RuleSide:
    """What the rule chain said about a person's new mail."""

    kind: str
    strength: str  # "sure" | "leaning" | "fallen_through"
    signals: tuple[str, ...]  # every kind some rule pointed to, the deciding one first


def decide(verdict: Classification, rules: RuleSide, prediction: Prediction | None) -> Classification:
    kind, confidence, reasons = _choose(rules, prediction)
    flags = tuple(f for f in verdict.flags if f != UNSURE_KIND_FLAG)
    if confidence < UNSURE_BELOW or _mixed_and_unsettled(rules, prediction, kind):
        flags = (*flags, UNSURE_KIND_FLAG)
    features = prediction.features if prediction is not None else ()
    return replace(
        verdict,
        kind=kind,
        flags=flags,
        confidence=round(confidence, 3),
        reasons=reasons,
        model_features=features,
    )


def is_persons_new_mail(verdict: Classification, on_a_case: bool) -> bool:
    return not on_a_case and verdict.kind in PERSON_KINDS


def _choose(rules: RuleSide, p: Prediction | None) -> tuple[str, float, tuple[str, ...]]:
    said = f"rules: {rules.kind} ({rules.strength.replace('_', ' ')})"
    if p is None:
        return rules.kind, _rules_only(rules), (said, "no kind model yet")
    heard = f"model: {p.kind} ({p.probability:.0%})"
    if rules.strength == "sure" or p.kind == rules.kind:
        return rules.kind, max(p.probabilities.get(rules.kind, 0.0), _rules_only(rules)), (said, heard)
    if p.kind == Kind.OUT_OF_SCOPE and rules.strength == "leaning" and Kind.OUT_OF_SCOPE not in rules.signals:
        # Out of scope opens no case and sends nothing: the model alone never drops mail a rule read as a
        # person's feedback; some rule must have seen something outside our work too.
        return rules.kind, max(p.probabilities.get(rules.kind, 0.0), _rules_only(rules) - 0.2), (said, heard)
    threshold = OUT_OF_SCOPE_AT if p.kind == Kind.OUT_OF_SCOPE else OVERRULE_AT
    if rules.strength == "fallen_through" and p.kind != Kind.OUT_OF_SCOPE:
        threshold = 0.0  # the catch-all knows nothing: the model's best guess is better
    if p.probability >= threshold:
        return p.kind, p.probability, (said, heard, "the model decided")
    return rules.kind, max(p.probabilities.get(rules.kind, 0.0), _rules_only(rules) - 0.2), (said, heard)


def _rules_only(rules: RuleSide) -> float:
    if rules.strength == "sure":
        return SURE
    if rules.strength == "leaning":
        return LEANING_MIXED if _mixed(rules) else LEANING
    return FALLEN_THROUGH


def _mixed(rules: RuleSide) -> bool:
    """Praise and dissatisfaction in one mail."""
    return {Kind.COMPLAINT, Kind.COMPLIMENT} <= set(rules.signals)


def _mixed_and_unsettled(rules: RuleSide, p: Prediction | None, kind: str) -> bool:
    if not _mixed(rules) or rules.strength == "sure":
        return False
    return p is None or p.kind != kind or p.probability < MIXED_SETTLED_AT
