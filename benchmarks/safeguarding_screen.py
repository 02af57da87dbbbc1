"""Benchmark: how long safeguarding screening takes for a mail of a given size, with the indicators as shipped
(rules/safeguarding.toml), on text made of the tuning examples. Run by hand; the figures go in the README.

    .venv/bin/python benchmarks/safeguarding_screen.py
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
    start = time.perf_counter()
    for _ in range(repeat):
        screen(screening, [TextPart("text", text)])
    return (time.perf_counter() - start) / repeat


def main() -> None:
    screening = load_screening(ROOT / "rules" / "safeguarding.toml")
    prose = " ".join(e["text"] for e in tomllib.loads(EXAMPLES.read_text(encoding="utf-8"))["example"])
    while len(prose) < SCREEN_LIMIT:
        prose += " " + prose
    for size, repeat in ((2_000, 50), (20_000, 5), (SCREEN_LIMIT, 1)):
        print(f"{size:>7,} characters: {seconds_to_screen(screening, prose[:size], repeat) * 1000:,.0f} ms")


if __name__ == "__main__":
    main()
