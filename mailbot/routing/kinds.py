"""What a policy does with each kind of new feedback: the stage it opens at and the letter that answers it."""

from __future__ import annotations

from mailbot.policy import FeedbackKind, Policy
from mailbot.vocabulary import RECORDED_STAGE


def _feedback_kind(policy: Policy, kind: str) -> FeedbackKind | None:
    try:
        return policy.kind(kind)
    except KeyError:
        return None  # a kind the policy does not name is handled as a complaint: the protective choice


def opening_stage(policy: Policy, kind: str) -> str:
    """The stage a new item starts at, or ``recorded`` for kinds the policy only records (compliments)."""
    rules = _feedback_kind(policy, kind)
    if rules is not None and rules.handling == "record":
        return RECORDED_STAGE
    return (rules.starts_at if rules else None) or policy.stages[0].name


def reply_letter(policy: Policy, kind: str) -> str:
    """The letter that answers an item the policy only records (``none`` when it sends nothing)."""
    rules = _feedback_kind(policy, kind)
    return rules.reply if rules else "acknowledgement"
