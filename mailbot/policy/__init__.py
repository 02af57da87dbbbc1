"""Complaints policies as data: stages, timescales, routing, and the UK working-day calendar.

What callers need is exported here: the policy and its parts, loading and checking a file, and ``explain``.
"""

from mailbot.policy.explain import explain
from mailbot.policy.load import PolicyError, check_policy_file, find_policy, load_policies, load_policy
from mailbot.policy.model import MUST_TELL, FeedbackKind, Period, Policy, Stage

__all__ = [
    "MUST_TELL",
    "FeedbackKind",
    "Period",
    "Policy",
    "PolicyError",
    "Stage",
    "check_policy_file",
    "explain",
    "find_policy",
    "load_policies",
    "load_policy",
]
