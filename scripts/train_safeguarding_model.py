"""Train the safeguarding backstop (mailbot/classify/safeguarding_model.py) and measure it held out.

    python scripts/train_safeguarding_model.py [--threshold P] [--extra FILE ...] [--out PATH]
    python scripts/train_safeguarding_model.py --evaluate    (then --cached re-prints its tables)

Training reads the tuning set, the two seen frozen safeguarding sets, the kind-labelled care mails
(tests/data/labelled_*.toml: their ordinary mails only, as their disclosures carry no category) and, as
ordinary mail that lends no words, the shared corpus of real-world mail where it is present. --extra adds an
organisation's own labelled file, in the tuning set's form ([[example]] with category and text; category ""
for an ordinary mail) or a frozen set's ([[mail]] with label, categories, subject, body). The model is
written to rules/safeguarding_model.json unless --out names another file ([cases] safeguarding_model).

--evaluate is how the design and the threshold were chosen: each group of mails written together (a tuning
batch with its second examples, each frozen set, each labelled set; the corpus in two halves) is scored by
a model trained on all the others, through the same path as deployment (the mail built, parsed, its parts
screened); it prints recall and false alarms for the indicators alone and with the backstop. The
indicators are in-sample on every one of these sets, so they are also shown as they stood for each batch's
first run (from git), the honest comparison. The third frozen set is never read.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import tomllib
from collections import defaultdict
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mailbot.classify import classify, load_chain  # noqa: E402
from mailbot.classify.rules import normalise_wording  # noqa: E402
from mailbot.classify.safeguarding import Screening, load_screening, parts_of  # noqa: E402
from mailbot.classify.safeguarding_model import ORDINARY, Example, save, train  # noqa: E402
from mailbot.intake.parse import ParsedMail, parse_mail  # noqa: E402
from scripts.safeguarding_sets import (  # noqa: E402
    FROM_FROZEN,
    Labelled,
    all_labelled,
    corpus_files,
    first_run_commits,
)

MODEL = ROOT / "rules" / "safeguarding_model.json"
THRESHOLD = 0.7  # chosen by --evaluate; see the README's Safeguarding section
CACHE = Path(tempfile.gettempdir()) / "mailbot-backstop-evaluation" / "held_out.json"  # for --cached
TRAIN_LIMIT = 4000  # characters of a mail learnt from: the opening holds what a mail is about


@dataclass
class Scored:
    """One mail's labels, what the indicators said, and the held-out backstop's probability."""

    group: str
    batch: str
    categories: list[str]
    rules: bool
    machine: bool
    first_run: bool | None
    backstop: float = 0.0


def training_text(mail: Labelled) -> str:
    return normalise_wording(mail.text[:TRAIN_LIMIT])


def as_examples(mails: list[Labelled]) -> list[Example]:
    """Disclosures under their first category, ordinary mail as ORDINARY; a disclosure without a category
    (the kind-labelled sets') teaches nothing about categories and is left out."""
    return [
        Example(training_text(m), m.categories[0] if m.categories else ORDINARY)
        for m in mails
        if m.categories[:1] != ("unlabelled",)
    ]


def extra_mails(path: Path) -> list[Labelled]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    if "example" in data:
        return [Labelled("extra", "extra", f"x{i}", "", e["text"], (e["category"],) if e["category"] else ())
                for i, e in enumerate(data["example"])]  # fmt: skip
    return [Labelled("extra", "extra", m["id"], m["subject"], m["body"],
                     tuple(m["categories"]) if m["label"] == "disclosure" else ())
            for m in data["mail"]]  # fmt: skip


def as_mail(m: Labelled) -> ParsedMail:
    message = EmailMessage()
    message["From"] = "A Writer <writer@example.net>"
    message["To"] = "complaints@care.example.org"
    message["Subject"] = m.subject
    message["Message-ID"] = f"<{m.id}@labelled.example>"
    message.set_content(m.body)
    return parse_mail(message.as_bytes())


def screened_parts(mail: ParsedMail) -> list[tuple[str, str]]:
    return [(p.where, normalise_wording(p.text)) for p in parts_of(mail)]


def corpus_texts() -> list[tuple[str, list[tuple[str, str]], ParsedMail]]:
    out = []
    for path in corpus_files():
        try:
            mail = parse_mail(path.read_bytes())
        except Exception:
            continue
        out.append((path.name, screened_parts(mail), mail))
    return out


def negatives(corpus: list[tuple[str, list[tuple[str, str]], ParsedMail]]) -> list[str]:
    return [normalise_wording(f"{mail.subject}\n{mail.text}"[:TRAIN_LIMIT]) for _, _, mail in corpus]


# --- evaluation ---------------------------------------------------------------------------------------------


def old_screening(commit: str) -> Screening | None:
    """The indicators as they stood before `commit`, for a batch's first run; None if they cannot be read."""
    text = subprocess.run(
        ["git", "show", f"{commit}^:rules/safeguarding.toml"], cwd=ROOT, capture_output=True, text=True
    ).stdout
    path = CACHE.parent / f"rules-{commit}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    try:
        return load_screening(path)
    except Exception as exc:
        print(f"  (indicators before {commit} not readable now: {exc})", file=sys.stderr)
        return None


def held_out() -> tuple[list[Scored], list[Scored]]:
    """Every labelled mail and corpus mail, scored by a backstop that never saw its group."""
    chain = load_chain(ROOT / "rules" / "classify.toml")
    screening = load_screening(ROOT / "rules" / "safeguarding.toml")
    mails = all_labelled()
    olds = {batch: old_screening(c) for batch, c in first_run_commits().items()}
    parsed = [as_mail(m) for m in mails]
    scored = []
    for m, mail in zip(mails, parsed, strict=True):
        verdict = classify(mail, chain, screening=screening)
        old = olds.get(m.batch)
        first = None if old is None else "safeguarding" in classify(mail, chain, screening=old).flags
        scored.append(Scored(m.group, m.batch, list(m.categories), "safeguarding" in verdict.flags,
                             verdict.is_machine, first))  # fmt: skip
    corpus = corpus_texts()
    negative = negatives(corpus)
    for group in dict.fromkeys(m.group for m in mails):
        keep = [
            m
            for m in mails
            if m.group != group and not (group.startswith("frozen") and m.batch in FROM_FROZEN)
        ]
        model = train(as_examples(keep), THRESHOLD, negative)
        for i, (m, mail) in enumerate(zip(mails, parsed, strict=True)):
            if m.group == group:
                scored[i].backstop = model.most_suspicious(screened_parts(mail)).probability  # type: ignore[union-attr]
        print(f"  held out {group}", file=sys.stderr)
    return scored, corpus_held_out(chain, screening, mails, corpus, negative)


def corpus_held_out(chain, screening, mails, corpus, negative) -> list[Scored]:
    """The corpus in two halves, each scored by a model that learnt from the other half."""
    out = []
    for half in (0, 1):
        model = train(as_examples(mails), THRESHOLD, [t for i, t in enumerate(negative) if i % 2 != half])
        for i, (_, parts, mail) in enumerate(corpus):
            if i % 2 == half:
                verdict = classify(mail, chain, screening=screening)
                found = model.most_suspicious(parts)
                out.append(Scored("corpus", "corpus", [], "safeguarding" in verdict.flags, verdict.is_machine,
                                  None, found.probability if found else 0.0))  # fmt: skip
    return out


def flagged(s: Scored, threshold: float, rules: bool | None) -> bool:
    """As deployed: the backstop speaks only when the indicators found nothing, and not on machine mail."""
    return bool(rules) or (not s.machine and s.backstop >= threshold)


def report(scored: list[Scored], corpus: list[Scored], thresholds: list[float]) -> str:
    columns = "backstop alone | indicators alone | indicators + backstop | corpus (as deployed)"
    lines = ["", "Held out, all groups (disclosures caught / ordinary mails flagged):", "",
             f"| threshold | {columns} |", "| ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    d = [s for s in scored if s.categories]
    o = [s for s in scored if not s.categories]
    n = len(corpus)
    lines.append(f"| (none) | | {_rate(d, o, None)} | | {sum(c.rules for c in corpus)} of {n} |")
    for t in thresholds:
        alone = (
            f"{sum(s.backstop >= t for s in d)} of {len(d)} / {sum(s.backstop >= t for s in o)} of {len(o)}"
        )
        deployed = sum(flagged(c, t, c.rules) for c in corpus)
        lines.append(f"| {t:.2f} | {alone} | | {_rate(d, o, t)} | {deployed} of {n} |")
    lines += first_runs(scored, thresholds)
    return "\n".join(lines)


def _rate(d: list[Scored], o: list[Scored], t: float | None) -> str:
    caught = sum(flagged(s, t, s.rules) if t is not None else s.rules for s in d)
    alarms = sum(flagged(s, t, s.rules) if t is not None else s.rules for s in o)
    return f"{caught} of {len(d)} ({caught / len(d):.1%}) / {alarms} of {len(o)} ({alarms / len(o):.1%})"


def first_runs(scored: list[Scored], thresholds: list[float]) -> list[str]:
    """The honest comparison: each batch's first-run indicators, alone and with a backstop that never saw
    it."""
    rows = [s for s in scored if s.first_run is not None]
    head = " | ".join(f"with backstop at {t:.2f}" for t in thresholds)
    rule = "| --- | ---: |" + " ---: |" * len(thresholds)
    lines = ["", "First runs (indicators as they stood before each batch; disclosures / ordinary flagged):",
             "", f"| batch | indicators alone | {head} |", rule]  # fmt: skip
    for batch in [*dict.fromkeys(s.batch for s in rows), "all"]:
        these = [s for s in rows if batch in ("all", s.batch)]
        d, o = [s for s in these if s.categories], [s for s in these if not s.categories]
        cells = [_pair(d, o, lambda s: bool(s.first_run))]
        cells += [_pair(d, o, lambda s, t=t: flagged(s, t, s.first_run)) for t in thresholds]
        lines.append(f"| {batch} | " + " | ".join(cells) + " |")
    lines += per_category(rows, THRESHOLD)
    return lines


def per_category(rows: list[Scored], t: float) -> list[str]:
    lines = [
        "",
        f"First runs per category (threshold {t:.2f}): disclosures | indicators alone | with backstop",
        "",
    ]
    by: dict[str, list[Scored]] = defaultdict(list)
    for s in rows:
        for c in s.categories:
            by[c].append(s)
    for c in sorted(by):
        lines.append(f"| {c} | {len(by[c])} | {sum(bool(s.first_run) for s in by[c])} | "
                     f"{sum(flagged(s, t, s.first_run) for s in by[c])} |")  # fmt: skip
    return lines


def _pair(d: list[Scored], o: list[Scored], hit) -> str:
    return f"{sum(map(hit, d))}/{len(d)} · {sum(map(hit, o))}/{len(o)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--evaluate", action="store_true")
    parser.add_argument("--cached", action="store_true", help="re-print --evaluate from its last run")
    parser.add_argument("--threshold", type=float, default=THRESHOLD)
    parser.add_argument("--extra", type=Path, action="append", default=[])
    parser.add_argument("--out", type=Path, default=MODEL)
    args = parser.parse_args()
    thresholds = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
    if args.evaluate or args.cached:
        if args.cached:
            data = json.loads(CACHE.read_text())
            scored, corpus = [Scored(**s) for s in data["scored"]], [Scored(**s) for s in data["corpus"]]
        else:
            scored, corpus = held_out()
            CACHE.parent.mkdir(parents=True, exist_ok=True)
            CACHE.write_text(
                json.dumps({"scored": [s.__dict__ for s in scored], "corpus": [s.__dict__ for s in corpus]})
            )
        print(report(scored, corpus, thresholds))
        return
    mails = all_labelled() + [m for path in args.extra for m in extra_mails(path)]
    model = train(as_examples(mails), args.threshold, negatives(corpus_texts()))
    save(model, args.out)
    print(
        f"{args.out}: {model.examples} examples, {len(model.vocabulary)} n-grams, threshold {model.threshold}"
    )


if __name__ == "__main__":
    main()
