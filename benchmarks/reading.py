"""Benchmark: what reading a mail costs the read-ahead workers, step by step, in CPU time (not wall time: the
machine is shared). Parsing, quote stripping, the classification chain (with the kind model, when one is
given) and the safeguarding screening, over the mails of benchmarks/ingest.py and, with --corpus, every mail
of the shared corpus. No servers: the steps are pure. Run by hand; the figures go in the README.

    .venv/bin/python benchmarks/reading.py [--mails 500] [--corpus] [--model] [--backstop] [--profile]
                                           [--rules] [--repeat 3]

``--model`` classifies with the kind model trained as scripts/front_door_report.py trains it (a deployed bot
has one once coordinators have labelled mail; a fresh database, as in benchmarks/ingest.py, has none).
``--backstop`` screens with the safeguarding backstop's shipped model (rules/safeguarding_model.json), as a
deployed bot does unless ``[cases] safeguarding_backstop = false``.
``--profile`` prints cProfile's costliest functions for each step; ``--rules`` the CPU each rule of the chain
costs a mail (where it ran).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
import ingest  # noqa: E402

from mailbot.classify import chain, load_chain  # noqa: E402
from mailbot.classify.chain import RuleChain  # noqa: E402
from mailbot.classify.safeguarding import load_screening  # noqa: E402
from mailbot.intake import quotes  # noqa: E402
from mailbot.intake.parse import UnparseableMail, parse_mail  # noqa: E402

STEPS = ("parse", "quotes", "chain", "screening")
OWN = frozenset({"complaints@riverside.example"})
CORPUS = ROOT.parent / "shared" / "corpus"


class Steps:
    """CPU seconds and a profiler for each step."""

    def __init__(self, profile: bool) -> None:
        self.cpu = dict.fromkeys(STEPS, 0.0)
        self.profilers = {step: cProfile.Profile() for step in STEPS} if profile else {}
        # One profiler at a time: the screening runs inside the chain.
        self.running: list[cProfile.Profile] = []

    def run(self, step: str, work, *args, **kwargs):  # type: ignore[no-untyped-def]
        profiler = self.profilers.get(step)
        start = time.process_time()
        if profiler:
            if self.running:
                self.running[-1].disable()
            self.running.append(profiler)
            profiler.enable()
        try:
            return work(*args, **kwargs)
        finally:
            if profiler:
                profiler.disable()
                self.running.pop()
                if self.running:
                    self.running[-1].enable()
            self.cpu[step] += time.process_time() - start


def read_all(raws: list[bytes], steps: Steps, model, backstop: Path | None = None) -> int:  # type: ignore[no-untyped-def]
    """Each mail as a worker reads it (mailbot.ahead._guess), its quotes stripped first (the chain then asks
    for the stripped text again, and gets it without stripping twice); the screening timed apart."""
    rules = load_chain(ROOT / "rules" / "classify.toml")
    screening = load_screening(ROOT / "rules" / "safeguarding.toml", backstop)
    screen = chain.screen
    chain.screen = lambda *a, **k: steps.run("screening", screen, *a, **k)
    read = 0
    try:
        for raw in raws:
            try:
                mail = steps.run("parse", parse_mail, raw)
            except UnparseableMail:
                continue
            steps.run("quotes", quotes.new_text, mail)
            steps.run("chain", chain.classify, mail, rules, None, OWN, screening, model=model)
            read += 1
    finally:
        chain.screen = screen
    steps.cpu["chain"] -= steps.cpu["screening"]
    return read


def rule_costs(raws: list[bytes], model) -> None:  # type: ignore[no-untyped-def]
    """CPU a mail of each rule of the chain (where it ran), costliest first."""
    rules: RuleChain = load_chain(ROOT / "rules" / "classify.toml")
    costs: dict[str, float] = {}
    for step in rules.steps:
        check = step.rule.check

        def timed(mail, context, check=check, name=step.rule.name):  # type: ignore[no-untyped-def]
            start = time.process_time()
            try:
                return check(mail, context)
            finally:
                costs[name] = costs.get(name, 0.0) + time.process_time() - start

        step.rule.check = timed  # type: ignore[method-assign]
    mails = []
    for raw in raws:
        try:
            mails.append(parse_mail(raw))
        except UnparseableMail:
            continue
    for mail in mails:
        quotes.new_text(mail)
        chain.classify(mail, rules, None, OWN, None, model=model)
    for name, seconds in sorted(costs.items(), key=lambda item: -item[1])[:40]:
        print(f"  {name}: {seconds * 1000 / len(mails):.3f} ms")


def corpus_mails(corpus: Path) -> list[bytes]:
    return [p.read_bytes() for p in sorted(corpus.rglob("*.eml")) if p.is_file()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=500)
    parser.add_argument("--corpus", action="store_true", help="also every .eml of ../shared/corpus")
    parser.add_argument("--model", action="store_true", help="classify with the tuning set's kind model")
    parser.add_argument("--backstop", action="store_true", help="screen with the safeguarding backstop too")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--rules", action="store_true", help="CPU a mail of each rule of the chain")
    parser.add_argument("--repeat", type=int, default=1, help="runs; the lowest CPU of each step is shown")
    args = parser.parse_args(argv)
    raws = ingest.mails(args.mails) + (corpus_mails(CORPUS) if args.corpus else [])
    model = None
    if args.model:
        from scripts import front_door_report

        model = front_door_report.tuning_model(ROOT / "tests" / "data" / "front_door" / "frozen.toml")
    backstop = ROOT / "rules" / "safeguarding_model.json" if args.backstop else None
    best: dict[str, float] = {}
    for _ in range(args.repeat):
        steps = Steps(profile=False)
        read = read_all(raws, steps, model, backstop)
        for step, seconds in steps.cpu.items():
            best[step] = min(best.get(step, seconds), seconds)
    load = os.getloadavg()[0]
    said = ", ".join(f"{step} {best[step] * 1000 / read:.2f} ms" for step in STEPS)
    total = sum(best.values()) * 1000 / read
    print(f"{read} mails, CPU a mail: {said}; all {total:.2f} ms (load {load:.1f})")
    if args.rules:
        rule_costs(raws, model)
    if args.profile:  # a run of its own: profiling slows what it measures
        steps = Steps(profile=True)
        read_all(raws, steps, model, backstop)
    for step, profiler in steps.profilers.items():
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(12)
        print(f"--- {step} ---")
        print("\n".join(out.getvalue().splitlines()[:30]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
