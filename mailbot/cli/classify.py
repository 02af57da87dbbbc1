"""``mailbot classify`` (what the rules would call some .eml files; changes nothing) and ``mailbot eval``
(how well the rules do on labelled mail)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from mailbot.cli.opening import UsageError, config_from, opened_app

if TYPE_CHECKING:
    from mailbot.app import App


def cmd_eval(args: argparse.Namespace) -> int:
    from mailbot.classify import load_chain
    from mailbot.classify.evaluate import run_eval

    config = config_from(args)
    chain = load_chain(config.cases.classify_rules)
    print(run_eval(args.directory, args.labels, chain, config.own_addresses))
    return 0


def cmd_classify(args: argparse.Namespace) -> int:
    with opened_app(args) as app:
        results = [_classify_file(app, path) for path in args.files]
    if args.json:
        print(json.dumps(results, indent=2))
    for result in [] if args.json else results:
        print(classification_line(result))
    return 0


def _classify_file(app: App, path: Path) -> dict[str, object]:
    from mailbot.intake.parse import UnparseableMail, parse_mail
    from mailbot.pipeline import classify_only

    try:
        mail = parse_mail(path.read_bytes())
    except (OSError, UnparseableMail) as exc:
        raise UsageError(f"{path}: {exc}") from None
    verdict, lookup = classify_only(app, mail)
    match = lookup.match
    return {
        "file": str(path), "kind": verdict.kind, "flags": list(verdict.flags),
        "rules_hit": list(verdict.rules_hit), "case": match.case_ref if match else None,
        "matched_by": match.matched_by if match else None, "note": lookup.refused,
    }  # fmt: skip


def classification_line(result: dict[str, object]) -> str:
    """One file's verdict: ``file: kind flags -> case  [rules hit]``, without the parts that are empty."""
    case = f" -> {result['case']}" if result["case"] else ""
    flags = " ".join(result["flags"])
    rules_hit = ", ".join(result["rules_hit"])
    return f"{result['file']}: {result['kind']} {flags}".rstrip() + f"{case}  [{rules_hit}]"
