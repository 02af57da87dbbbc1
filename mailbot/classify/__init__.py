"""Classify an inbound mail with a rule chain kept as data in rules/classify.toml (kind, flags, and why)."""

from mailbot.classify.chain import ClassifyRulesError, RuleChain, classify, load_chain
from mailbot.classify.result import KINDS, Classification, Finding, ThreadMatch

__all__ = [
    "KINDS",
    "Classification",
    "ClassifyRulesError",
    "Finding",
    "RuleChain",
    "ThreadMatch",
    "classify",
    "load_chain",
]
