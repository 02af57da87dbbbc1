"""Kind accuracy, per-kind precision and recall, safeguarding recall and machine-vs-person errors on a
measured front-door set (by default the frozen set), beside the same on the tuning set (which is in-sample:
the rules were tuned and the kind model trained on it).

Usage: python scripts/front_door_report.py [--set PATH] [--misses]

``--set PATH`` measures another labelled set written like tests/data/front_door/frozen.toml (a second
frozen set, say). A measured set is shown by counts and its confusion table only; ``--misses`` lists its
misses one by one as well, which is for a set nobody will tune on afterwards.

The kind model is trained, as a deployed bot's would be by ``mailbot eval``, on the tuning set
(tests/data/labelled/ with labels.csv, tests/data/labelled_more.toml, tests/data/labelled_fresh.toml,
tests/data/labelled_seventh.toml, tests/data/labelled_eighth.toml, tests/data/labelled_ninth.toml) and the
frozen sets that have been looked at and retired to "seen" (frozen.toml to frozen4.toml), leaving out
whichever set is being measured, a part of the tuning set included: the model never trains on the mails it
is scored on. A set not yet seen is measured by a model trained on all of them. See
tests/data/front_door/README.md.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mailbot.classify import load_chain  # noqa: E402
from mailbot.classify.evaluate import (  # noqa: E402
    Evaluation,
    confusion_table,
    evaluate,
    evaluate_set,
    machine_person_errors,
)
from mailbot.classify.kind_model import Example, KindModel, train  # noqa: E402
from mailbot.classify.labelled import load_set  # noqa: E402
from mailbot.classify.safeguarding import load_screening  # noqa: E402
from mailbot.vocabulary import PERSON_KINDS  # noqa: E402

LABELLED = ROOT / "tests" / "data" / "labelled"
TUNING_SETS = tuple(
    ROOT / "tests" / "data" / name
    for name in (
        "labelled_more.toml",
        "labelled_fresh.toml",
        "labelled_seventh.toml",
        "labelled_eighth.toml",
        "labelled_ninth.toml",
    )
)
FROZEN = ROOT / "tests" / "data" / "front_door" / "frozen.toml"
# Frozen sets whose misses have been read: the model may learn from them (never while one is measured).
SEEN = tuple(
    ROOT / "tests" / "data" / "front_door" / name
    for name in ("frozen.toml", "frozen2.toml", "frozen3.toml", "frozen4.toml")
)
OWN = frozenset({"complaints@riverside.example", "feedback@riverside.example", "@riverside.example"})


@dataclass(frozen=True)
class Report:
    tuning_rules: Evaluation
    tuning_model: Evaluation  # in-sample
    frozen_rules: Evaluation  # the measured set, whichever it is
    frozen_model: Evaluation


def tuning(model: KindModel | None) -> Evaluation:
    return _tuning_by_rules() if model is None else _tuning(model)


def frozen(model: KindModel | None, path: Path = FROZEN) -> Evaluation:
    return _frozen_by_rules(path.resolve()) if model is None else _frozen(model, path)


# The rules alone judge a set the same way every time: each set is judged by them once per process, however
# many reports (and models trained without one set or another) ask for it.
@cache
def _tuning_by_rules() -> Evaluation:
    return _tuning(None)


@cache
def _frozen_by_rules(path: Path) -> Evaluation:
    return _frozen(None, path)


def _tuning(model: KindModel | None) -> Evaluation:
    chain, screening = _chain_and_screening()
    judgements = evaluate(LABELLED, LABELLED / "labels.csv", chain, OWN, screening, model).judgements
    for path in TUNING_SETS:
        judgements += evaluate_set(path, chain, OWN, screening, model).judgements
    return Evaluation(judgements)


def _frozen(model: KindModel | None, path: Path) -> Evaluation:
    chain, screening = _chain_and_screening()
    return evaluate_set(path, chain, OWN, screening, model)


def tuning_model(measured: Path | None = None) -> KindModel:
    """Trained on the tuning set's labels and the seen frozen sets, leaving out the measured set (a frozen set
    or a part of the tuning set), as `mailbot eval` on those files would train it."""
    left_out = _ids(measured) if measured is not None else frozenset()
    judgements = [j for j in tuning(None).judgements if j.file not in left_out]
    for path in SEEN:
        if measured is None or path.resolve() != measured.resolve():
            judgements += frozen(None, path).judgements
    return train([Example(j.text, j.expected_kind) for j in judgements if j.expected_kind in PERSON])


def _ids(labelled_set: Path) -> frozenset[str]:
    """The ids of a set's mails (a part of the tuning set may be measured too); ids are unique across sets."""
    return frozenset(str(m["id"]) for m in load_set(labelled_set).mails)


def report(measured: Path = FROZEN) -> Report:
    model = tuning_model(measured)
    return Report(tuning(None), tuning(model), frozen(None, measured), frozen(model, measured))


def safeguarding_recall(e: Evaluation) -> str:
    score = e.flag_score("safeguarding")
    return f"{score.true_positives}/{score.expected}"


def summary_row(name: str, e: Evaluation) -> str:
    unsure = sum(j.unsure for j in e.judgements)
    return (
        f"| {name} | {len(e.judgements)} | {e.right} ({e.accuracy:.1%}) | {unsure} | "
        f"{safeguarding_recall(e)} | {machine_person_errors(e)} |"
    )


def per_kind_table(e: Evaluation) -> list[str]:
    lines = [
        "| kind | labelled | chosen | right | precision | recall |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in e.kind_scores():
        precision = f"{s.precision:.0%}" if s.precision is not None else "-"
        recall = f"{s.recall:.0%}" if s.recall is not None else "-"
        lines.append(
            f"| {s.name} | {s.expected} | {s.predicted} | {s.true_positives} | {precision} | {recall} |"
        )
    return lines


def misses(e: Evaluation) -> list[str]:
    return [
        f"  {j.file}: labelled {j.expected_kind}, chosen {j.kind}{' (unsure)' if j.unsure else ''}"
        for j in e.judgements
        if j.kind != j.expected_kind
    ]


@cache
def _chain_and_screening():  # type: ignore[no-untyped-def]
    return load_chain(ROOT / "rules" / "classify.toml"), load_screening(ROOT / "rules" / "safeguarding.toml")


PERSON = frozenset(str(kind) for kind in PERSON_KINDS)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", type=Path, default=FROZEN, help="the labelled set to measure (.toml)")
    parser.add_argument("--misses", action="store_true", help="list the measured set's misses one by one")
    args = parser.parse_args(argv)
    r, name = report(args.set), args.set.name
    print("| set | mails | kind right | marked unsure | safeguarding recall | machine vs person |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    print(summary_row("tuning set, rules only (in-sample)", r.tuning_rules))
    print(summary_row("tuning set, rules + model (in-sample)", r.tuning_model))
    print(summary_row(f"{name}, rules only", r.frozen_rules))
    print(summary_row(f"{name}, rules + model", r.frozen_model))
    print(f"\n{name}, rules + model, per kind:")
    print("\n".join(per_kind_table(r.frozen_model)))
    print(f"\n{name}, rules + model: {confusion_table(r.frozen_model)}")
    if args.misses:
        print(f"\n{name} misses (rules + model):")
        print("\n".join(misses(r.frozen_model)) or "  none")


if __name__ == "__main__":
    main()
