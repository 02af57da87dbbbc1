"""Benchmark: the CPU time the safeguarding backstop (rules/safeguarding_model.json) adds to a mail, by size,
on text made of the tuning set's ordinary examples (the mail it runs on: the indicators found nothing) and of
all its examples. Least CPU time of several runs, so other work on a shared machine does not count. Also the
time to load the model, paid once at start-up. Run by hand; the figures go in the README.

    .venv/bin/python benchmarks/safeguarding_backstop.py [--model PATH]
"""

from __future__ import annotations

import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mailbot.classify.safeguarding_model import READ_LIMIT, SafeguardingModel, load  # noqa: E402

EXAMPLES = ROOT / "tests" / "data" / "safeguarding_tuning" / "examples.toml"


def least_cpu(action, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.process_time()
        action()
        times.append(time.process_time() - start)
    return min(times)


def prose(examples: list[dict[str, str]], size: int) -> str:
    text = "\n".join(e["text"] for e in examples)
    while len(text) < size:
        text += "\n" + text
    return text[:size]


def main() -> None:
    path = (
        Path(sys.argv[sys.argv.index("--model") + 1])
        if "--model" in sys.argv
        else ROOT / "rules" / "safeguarding_model.json"
    )
    loading = least_cpu(lambda: load(path), 3)
    model: SafeguardingModel = load(path)
    examples = tomllib.loads(EXAMPLES.read_text(encoding="utf-8"))["example"]
    ordinary = [e for e in examples if not e["category"]]
    size = f"{len(model.vocabulary):,} n-grams x {len(model.classes)} classes"
    print(f"model: {size}; loading {loading * 1000:.0f} ms")
    print("characters | ordinary mail | every sentence a disclosure")
    for size, repeat in ((500, 200), (2_000, 50), (20_000, 5), (READ_LIMIT * 10, 3)):
        texts = [prose(kind, size) for kind in (ordinary, examples)]
        costs = [least_cpu(lambda t=t: model.most_suspicious([("text", t)]), repeat) * 1000 for t in texts]
        print(f"{size:>10,} | {costs[0]:>10.2f} ms | {costs[1]:>10.2f} ms")


if __name__ == "__main__":
    main()
