"""``mailbot policy``: check a complaints policy file, and explain a policy's whole timeline for a date."""

from __future__ import annotations

import argparse

from mailbot.cli.opening import UsageError, config_from


def cmd_policy_check(args: argparse.Namespace) -> int:
    from mailbot.policy import check_policy_file

    policy = check_policy_file(args.file)
    print(f"{args.file}: policy {policy.name!r} is valid ({len(policy.stages)} stage(s))")
    return 0


def cmd_policy_explain(args: argparse.Namespace) -> int:
    from mailbot.config.settings import SHIPPED_POLICIES
    from mailbot.policy import explain, load_policies

    # Without a configuration file, the presets shipped with mailbot.
    directory = config_from(args).cases.policies_dir if args.config.exists() else SHIPPED_POLICIES
    policies = load_policies(directory)
    if args.policy not in policies:
        raise UsageError(f"no policy {args.policy!r}; available: {', '.join(sorted(policies))}")
    print(explain(policies[args.policy], args.received))
    return 0
