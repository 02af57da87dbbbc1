"""Benchmark: how long safeguarding screening takes for a mail of a given size, with the indicators as shipped
(rules/safeguarding.toml), on text made of the tuning examples: all of them (a disclosure in every sentence,
the worst case) and the ordinary mails alone (what most mail is like). Run by hand; the figures go in the
README. Each figure is the least CPU time of several runs, so other work on a shared machine does not count.

    .venv/bin/python benchmarks/safeguarding_screen.py [--rules PATH]

--rules screens with another indicator file (an older one from git, say) on the same text, for a before and
after on one machine.
"""

from __future__ import annotations

import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mailbot.classify.safeguarding import SCREEN_LIMIT, TextPart, load_screening, screen  # noqa: E402

EXAMPLES = ROOT / "tests" / "data" / "safeguarding_tuning" / "examples.toml"


def seconds_to_screen(screening, text: str, repeat: int) -> float:
    """The least CPU time of `repeat` screenings: other work on a shared machine only ever adds to it."""
    times = []
    for _ in range(repeat):
        start = time.process_time()
        screen(screening, [TextPart("text", text)])
        times.append(time.process_time() - start)
    return min(times)


def prose(examples: list[dict[str, str]]) -> str:
    text = " ".join(e["text"] for e in examples)
    while len(text) < SCREEN_LIMIT:
        text += " " + text
    return text


def main() -> None:
    rules = (
        Path(sys.argv[sys.argv.index("--rules") + 1])
        if "--rules" in sys.argv
        else ROOT / "rules" / "safeguarding.toml"
    )
    screening = load_screening(rules)
    examples = tomllib.loads(EXAMPLES.read_text(encoding="utf-8"))["example"]
    dense, ordinary = prose(examples), prose([e for e in examples if not e["category"]])
    print("characters | every sentence a disclosure | ordinary mail")
    for size, repeat in ((2_000, 50), (20_000, 5), (SCREEN_LIMIT, 2)):
        costs = [seconds_to_screen(screening, text[:size], repeat) * 1000 for text in (dense, ordinary)]
        print(f"{size:>10,} | {costs[0]:>24,.1f} ms | {costs[1]:>10,.1f} ms")


if __name__ == "__main__":
    main()
