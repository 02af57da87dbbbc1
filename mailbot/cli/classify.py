"""``mailbot classify`` (what the rules would call some .eml files; changes nothing) and ``mailbot eval``
(how well the rules do on labelled mail)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from mailbot.cli.opening import UsageError, config_from

if TYPE_CHECKING:  # the command imports what it needs when it runs, so `mailbot --help` starts fast
    from mailbot.app import App
    from mailbot.cases.threading import ThreadLookup
    from mailbot.classify import Classification
    from mailbot.intake.parse import ParsedMail


def cmd_eval(args: argparse.Namespace) -> int:
    from mailbot.classify import load_chain
    from mailbot.classify.evaluate import run_eval
    from mailbot.classify.safeguarding import load_screening

    config = config_from(args)
    chain = load_chain(config.cases.classify_rules)
    screening = load_screening(config.cases.safeguarding_rules)
    print(run_eval(args.directory, args.labels, chain, config.own_addresses, screening))
    return 0


def cmd_classify(args: argparse.Namespace) -> int:
    """Read-only: with no database yet, mail is classified as if no case existed; nothing is created."""
    from mailbot.app import build_app
    from mailbot.classify import classify, load_chain
    from mailbot.classify.safeguarding import load_screening
    from mailbot.db.session import database_exists

    config = config_from(args)
    if not database_exists(config.database_url):
        chain = load_chain(config.cases.classify_rules)
        screening = load_screening(config.cases.safeguarding_rules)
        results = [
            _verdict(path, classify(_read(path), chain, None, config.own_addresses, screening), None)
            for path in args.files
        ]
    else:
        app = build_app(config, migrate=False)
        try:
            results = [_classify_file(app, path) for path in args.files]
        finally:
            app.close()
    if args.json:
        print(json.dumps(results, indent=2))
    for result in [] if args.json else results:
        print(classification_line(result))
    return 0


def _read(path: Path) -> ParsedMail:
    from mailbot.intake.parse import UnparseableMail, parse_mail

    try:
        return parse_mail(path.read_bytes())
    except (OSError, UnparseableMail) as exc:
        raise UsageError(f"{path}: {exc}") from None


def _classify_file(app: App, path: Path) -> dict[str, object]:
    from mailbot.pipeline import classify_only

    verdict, lookup = classify_only(app, _read(path))
    return _verdict(path, verdict, lookup)


def _verdict(path: Path, verdict: Classification, lookup: ThreadLookup | None) -> dict[str, object]:
    match = lookup.match if lookup else None
    return {
        "file": str(path), "kind": verdict.kind, "flags": list(verdict.flags),
        "rules_hit": list(verdict.rules_hit), "case": match.case_ref if match else None,
        "matched_by": match.matched_by if match else None, "note": lookup.refused if lookup else None,
    }  # fmt: skip


def classification_line(result: dict[str, object]) -> str:
    """One file's verdict: ``file: kind flags -> case  [rules hit]``, without the parts that are empty."""
    case = f" -> {result['case']}" if result["case"] else ""
    flags = " ".join(result["flags"])
    rules_hit = ", ".join(result["rules_hit"])
    return f"{result['file']}: {result['kind']} {flags}".rstrip() + f"{case}  [{rules_hit}]"
