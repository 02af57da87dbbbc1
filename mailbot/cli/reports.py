"""``mailbot digest`` (each lead's weekly digest, previewed or sent) and ``mailbot report`` (the board's
numbers for a period)."""

from __future__ import annotations

import argparse

from mailbot.cli.opening import opened_app


def cmd_digest(args: argparse.Namespace) -> int:
    from mailbot.scheduled import digest

    with opened_app(args) as app:
        print(digest.run_digest_command(app, args.week, args.lead, args.out, args.send))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from mailbot.scheduled import report

    with opened_app(args) as app:
        print(report.run_report_command(app, args.start, args.end, args.format), end="")
    return 0
