"""Every decision the front door makes, written one line a mail, so that a change meant only to make reading
faster can be shown to change nothing: run it before and after, and diff the two files.

Usage: python scripts/decision_dump.py OUT [--corpus DIR]

For every mail of the seen frozen sets (tests/data/front_door/frozen.toml to frozen4.toml), the tuning sets
(tests/data/labelled/ and scripts/front_door_report.py's TUNING_SETS, labelled_more.toml to
labelled_ninth.toml) and every file of the shared corpus
(../shared/corpus), it writes: the verdict as new mail with the kind model (kind, flags, rules hit and
missed, confidence, reasons, the model's features, what the safeguarding screening found), the same as a
reply on a case (new words only), the marks of mass mail each `mass_mail_marks` rule found, and a digest of
the parsed mail, its new text (quotes stripped) and the text the kind model read. Then the verdict again with
the safeguarding backstop loaded (rules/safeguarding_model.json, as a deployed bot has it) and what the
backstop thinks of the mail's most suspicious stretch, to the last bit. The model is trained as
scripts/front_door_report.py trains it for frozen.toml: on the tuning sets and frozen2.toml to frozen4.toml.
Only sets retired to "seen" are read; a frozen set not yet measured (frozen5.toml) is never dumped or
trained on.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
from dataclasses import astuple, fields, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mailbot.classify import classify  # noqa: E402
from mailbot.classify.chain import mail_context, model_text, safeguarding_parts  # noqa: E402
from mailbot.classify.labelled import as_message, load_set, read_labels  # noqa: E402
from mailbot.classify.marks import MassMailMarksRule  # noqa: E402
from mailbot.classify.result import ThreadMatch  # noqa: E402
from mailbot.classify.rules import normalise_wording  # noqa: E402
from mailbot.classify.safeguarding import load_screening  # noqa: E402
from mailbot.intake.parse import ParsedMail, UnparseableMail, parse_mail  # noqa: E402
from mailbot.intake.quotes import new_text  # noqa: E402
from scripts import front_door_report as report  # noqa: E402

FRONT_DOOR = ROOT / "tests" / "data" / "front_door"
SETS = (*report.SEEN, *report.TUNING_SETS)
CORPUS = ROOT.parent / "shared" / "corpus"
ON_A_CASE = ThreadMatch("CASE-0001", "references")
BACKSTOP = ROOT / "rules" / "safeguarding_model.json"


def mails(corpus: Path) -> list[tuple[str, bytes, frozenset[str]]]:
    """(where, raw bytes, trusted servers) for every mail dumped."""
    found = []
    for path in SETS:
        assert path in report.SEEN or path in report.TUNING_SETS  # never a set not yet measured
        labelled = load_set(path)
        for mail in labelled.mails:
            random.seed(mail["id"])  # the MIME boundary the email package draws: the same in every run
            found.append((f"{path.name}:{mail['id']}", as_message(mail), labelled.trusted_servers))
    for label in read_labels(report.LABELLED / "labels.csv"):
        found.append((f"labelled/{label.file}", (report.LABELLED / label.file).read_bytes(), frozenset()))
    for path in sorted(p for p in corpus.rglob("*") if p.is_file() and p.suffix != ".md"):
        found.append((f"corpus/{path.relative_to(corpus)}", path.read_bytes(), frozenset()))
    return found


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def parsed(mail: ParsedMail) -> str:
    """The parsed mail's fields, as one digest (a change in parsing shows here first)."""
    return digest(repr([(f.name, getattr(mail, f.name)) for f in fields(mail)]))


def dump_one(where: str, raw: bytes, trusted: frozenset[str], model) -> list[str]:  # type: ignore[no-untyped-def]
    chain, screening = _loaded()
    try:
        mail = parse_mail(raw)
    except UnparseableMail as exc:
        return [f"{where}\tunparseable\t{exc}"]
    lines = [f"{where}\tparsed\t{parsed(mail)}\tnew text {digest(new_text(mail))}"]
    for thread in (None, ON_A_CASE):
        verdict = classify(
            mail, chain, thread, report.OWN, screening, trusted_servers=trusted, model=model
        )  # fmt: skip
        verdict = replace(verdict, model_features=tuple((n, round(w, 9)) for n, w in verdict.model_features))
        context = mail_context(mail, thread, report.OWN)
        label = "new" if thread is None else "reply"
        lines.append(f"{where}\t{label}\t{astuple(verdict)!r}")
        lines.append(f"{where}\t{label} model text\t{digest(model_text(context))}")
        for step in chain.steps:
            if isinstance(step.rule, MassMailMarksRule):
                lines.append(f"{where}\t{label} marks {step.rule.name}\t{step.rule.marks(mail, context)!r}")
    return lines + _with_backstop(where, mail, trusted, model)


def _with_backstop(where: str, mail: ParsedMail, trusted: frozenset[str], model) -> list[str]:  # type: ignore[no-untyped-def]
    """The verdicts with the backstop loaded, and the backstop's own reading of each set of parts."""
    chain, screening = _loaded(backstop=True)
    assert screening.backstop is not None
    lines = []
    for thread in (None, ON_A_CASE):
        verdict = classify(
            mail, chain, thread, report.OWN, screening, trusted_servers=trusted, model=model
        )  # fmt: skip
        verdict = replace(verdict, model_features=tuple((n, round(w, 9)) for n, w in verdict.model_features))
        label = "new" if thread is None else "reply"
        parts = [(p.where, normalise_wording(p.text)) for p in safeguarding_parts(mail, thread)]
        lines.append(f"{where}\t{label} with backstop\t{astuple(verdict)!r}")
        lines.append(f"{where}\t{label} backstop\t{screening.backstop.most_suspicious(parts)!r}")
    return lines


_LOADED: dict[bool, tuple] = {}  # type: ignore[type-arg]


def _loaded(backstop: bool = False):  # type: ignore[no-untyped-def]
    """The chain and the screening, read once (not again for every mail)."""
    if backstop not in _LOADED:
        chain, screening = report._chain_and_screening()
        if backstop:
            screening = load_screening(ROOT / "rules" / "safeguarding.toml", BACKSTOP)
        _LOADED[backstop] = (chain, screening)
    return _LOADED[backstop]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    args = parser.parse_args(argv)
    model = report.tuning_model(FRONT_DOOR / "frozen.toml")
    everything = mails(args.corpus)
    with args.out.open("w", encoding="utf-8", errors="surrogateescape") as out:
        for where, raw, trusted in everything:
            out.write("\n".join(dump_one(where, raw, trusted, model)) + "\n")
    print(f"{len(everything)} mails dumped to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
