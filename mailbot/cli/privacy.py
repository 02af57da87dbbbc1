"""``mailbot privacy``: a subject access export, the retention purge, erasure, and the privacy log."""

from __future__ import annotations

import argparse
import getpass

from mailbot.cli.opening import opened_app


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def cmd_privacy_export(args: argparse.Namespace) -> int:
    from mailbot.privacy.export import export_person

    with opened_app(args) as app:
        result = export_person(
            app, args.address, _actor(), args.notes == "include", args.reason or "", args.out
        )
    print("\n".join(result.lines()))
    return 0


def cmd_privacy_purge(args: argparse.Namespace) -> int:
    from mailbot.privacy.purge import run_purge

    with opened_app(args) as app:
        report = run_purge(app, dry_run=args.dry_run, actor=_actor())
    print("\n".join(report.lines()))
    return 0


def cmd_privacy_erase(args: argparse.Namespace) -> int:
    from mailbot.privacy.erase import erase_person

    with opened_app(args) as app:
        erasure = erase_person(app, args.address, _actor(), force=args.force, reason=args.reason or "")
    print("\n".join(erasure.lines()))
    return 0


def cmd_privacy_log(args: argparse.Namespace) -> int:
    from mailbot.privacy import log

    with opened_app(args) as app, app.sessions() as session:
        lines = [log.one_line(entry) for entry in log.entries(session, args.limit)]
    print("\n".join(lines) or "none")
    return 0
