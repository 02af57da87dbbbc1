"""Classify an inbound mail with a rule chain kept as data in rules/classify.toml (kind, flags, and why)."""

from mailbot.classify.chain import ClassifyRulesError, RuleChain, classify, load_chain
from mailbot.classify.result import (
    FEEDBACK_KINDS,
    KINDS,
    MACHINE_KINDS,
    Classification,
    ThreadMatch,
)

__all__ = [
    "FEEDBACK_KINDS",
    "KINDS",
    "MACHINE_KINDS",
    "Classification",
    "ClassifyRulesError",
    "RuleChain",
    "ThreadMatch",
    "classify",
    "load_chain",
]
