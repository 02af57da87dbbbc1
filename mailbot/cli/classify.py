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
    from mailbot.classify.evaluate import Evaluation
    from mailbot.classify.kind_model import KindModel
    from mailbot.config.settings import Config
    from mailbot.intake.parse import ParsedMail


def cmd_eval(args: argparse.Namespace) -> int:
    """Measure first, with the kind model as it stood, then (unless --held-out) keep the labels as examples
    and retrain: the figures printed are never the model marking its own homework."""
    from mailbot.app import build_app
    from mailbot.classify.evaluate import evaluate_any, format_evaluation
    from mailbot.cli.progress import counted
    from mailbot.db.session import database_exists

    config = config_from(args)
    if args.held_out and not database_exists(config.database_url):
        return _print_eval(args, config, None)
    app = build_app(config, migrate=not args.held_out)
    try:
        model = app.learner.model(save_retrained=not args.held_out) if app.learner else None
        evaluation = evaluate_any(
            args.directory, args.labels, app.chain, config.own_addresses, screening=app.screening,
            model=model, trusted_servers=config.spam.trusted_servers, each=counted("classifying"),
        )  # fmt: skip
        print(format_evaluation(evaluation), end="")
        if not args.held_out:
            print(_learn(app, evaluation, args))
    finally:
        app.close()
    return 0


def _print_eval(args: argparse.Namespace, config: Config, model: KindModel | None) -> int:
    from mailbot.classify import load_chain
    from mailbot.classify.evaluate import evaluate_any, format_evaluation
    from mailbot.classify.safeguarding import load_screening
    from mailbot.cli.progress import counted

    evaluation = evaluate_any(
        args.directory, args.labels, load_chain(config.cases.classify_rules), config.own_addresses,
        screening=load_screening(config.cases.safeguarding_rules, config.cases.safeguarding_model),
        model=model,
        trusted_servers=config.spam.trusted_servers, each=counted("classifying"),
    )  # fmt: skip
    print(format_evaluation(evaluation), end="")
    return 0


def _learn(app: App, evaluation: Evaluation, args: argparse.Namespace) -> str:
    from mailbot.classify.learning import add_example

    source = str(args.labels or args.directory)
    with app.sessions.begin() as session:
        kept = sum(
            add_example(session, j.text, j.expected_kind, f"eval {source}: {j.file}", app.clock())
            for j in evaluation.judgements
        )
    model = app.learner.model() if app.learner else None
    trained = f"; kind model retrained on {model.examples} examples" if model else ""
    return f"\nLearnt {kept} labelled examples from {source}{trained}\n"


def cmd_classify(args: argparse.Namespace) -> int:
    """Read-only: with no database yet, mail is classified as if no case existed; nothing is created."""
    from mailbot.app import build_app
    from mailbot.classify import classify, load_chain
    from mailbot.classify.safeguarding import load_screening
    from mailbot.config.settings import SHIPPED_CLASSIFY_RULES
    from mailbot.db.session import database_exists

    config = config_from(args) if args.config.exists() else None
    if config is None or not database_exists(config.database_url):
        # Without a configuration file, the rules shipped with mailbot, and no address counted as our own.
        chain = load_chain(config.cases.classify_rules if config else SHIPPED_CLASSIFY_RULES)
        screening = (
            load_screening(config.cases.safeguarding_rules, config.cases.safeguarding_model)
            if config
            else load_screening(
                SHIPPED_CLASSIFY_RULES.with_name("safeguarding.toml"),
                SHIPPED_CLASSIFY_RULES.with_name("safeguarding_model.json"),
            )
        )
        own, trusted = (
            (config.own_addresses, config.spam.trusted_servers) if config else (frozenset(), frozenset())
        )
        results = [
            _verdict(path, classify(_read(path), chain, None, own, screening, trusted_servers=trusted), None)
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
        "confidence": verdict.confidence, "unsure": verdict.unsure, "reasons": list(verdict.reasons),
        "model_features": [{"feature": name, "weight": weight} for name, weight in verdict.model_features],
    }  # fmt: skip


def classification_line(result: dict[str, object]) -> str:
    """One file's verdict: ``file: kind flags -> case  [rules hit]``, without the parts that are empty."""
    case = f" -> {result['case']}" if result["case"] else ""
    flags = " ".join(result["flags"])
    rules_hit = ", ".join(result["rules_hit"])
    return f"{result['file']}: {result['kind']} {flags}".rstrip() + f"{case}  [{rules_hit}]"
