"""Proof over every text we have: the shortcut in screening (classify/anchors.py) finds exactly what a plain
``pattern.search`` finds, for every pattern of rules/safeguarding.toml, with each category's harmless phrases
blanked as screening blanks them. The texts: the tuning examples, both frozen sets' mails and every file of
the shared corpus (1,150 texts). Exits 1 and lists the differences if there is any. Run by hand after
changing rules/safeguarding.toml or classify/anchors.py; the suite (tests/test_safeguarding_anchors.py) runs
the same comparison on the labelled mails and on a fixed sample of the corpus.

    .venv/bin/python benchmarks/safeguarding_anchors.py [--corpus DIR]
"""

from __future__ import annotations

import argparse
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mailbot.classify.anchors import FoldedText  # noqa: E402
from mailbot.classify.rules import normalise_wording  # noqa: E402
from mailbot.classify.safeguarding import SCREEN_LIMIT, Screening, load_screening  # noqa: E402
from tests.corpus import corpus_location  # noqa: E402

SETS = (
    ROOT / "tests" / "data" / "safeguarding" / "frozen.toml",
    ROOT / "tests" / "data" / "safeguarding" / "frozen2.toml",
)
EXAMPLES = ROOT / "tests" / "data" / "safeguarding_tuning" / "examples.toml"
INDICATORS = ROOT / "rules" / "safeguarding.toml"


def labelled_texts() -> Iterator[str]:
    yield from (e["text"] for e in tomllib.loads(EXAMPLES.read_text(encoding="utf-8"))["example"])
    for path in SETS:
        for mail in tomllib.loads(path.read_text(encoding="utf-8"))["mail"]:
            yield f"{mail['subject']}\n{mail['body']}"


def corpus_files(corpus: Path) -> list[Path]:
    """Every file of the corpus, in a fixed order (by path)."""
    return sorted(p for p in corpus.rglob("*") if p.is_file())


def corpus_text(path: Path) -> str:
    return path.read_bytes()[: SCREEN_LIMIT * 2].decode("utf-8", errors="replace")


def differences(screening: Screening, raw: str) -> list[str]:
    """Each pattern whose shortcut search differs from its plain search on this text, as screening sees it."""
    text = normalise_wording(raw[:SCREEN_LIMIT])
    whole = FoldedText(text, screening.needles)
    wrong = []
    for category in screening.categories:
        seen, folded = text, whole
        if category.not_when is not None:
            blanks = [m.span() for m in category.not_when.finditer(text)]
            seen = category.not_when.sub(lambda m: " " * len(m.group()), text)
            folded = whole.blanked(seen, blanks) if blanks else whole
        for anchored in category.patterns:
            plain, quick = anchored.pattern.search(seen), anchored.search(seen, folded)
            if (plain and plain.span()) != (quick and quick.span()):
                wrong.append(f"{category.key}: {anchored.pattern.pattern[:60]} on {text[:60]!r}")
    return wrong


def compare(screening: Screening, named_texts: list[tuple[str, str]]) -> tuple[list[str], list[float]]:
    """All differences over the texts, and the CPU seconds each text took."""
    wrong, costs = [], []
    for name, raw in named_texts:
        start = time.process_time()
        wrong += [f"{name}: {d}" for d in differences(screening, raw)]
        costs.append(time.process_time() - start)
    return wrong, costs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=corpus_location(), help="the shared corpus folder")
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        print(
            f"corpus not found at {args.corpus}: pass --corpus DIR or set MAILBOT_CORPUS_DIR", file=sys.stderr
        )
        return 2
    screening = load_screening(INDICATORS)
    patterns = sum(len(c.patterns) for c in screening.categories)
    labelled = [("labelled", t) for t in labelled_texts()]
    corpus = [(str(p.relative_to(args.corpus)), corpus_text(p)) for p in corpus_files(args.corpus)]
    wrong, costs = compare(screening, labelled + corpus)
    print(f"{patterns} patterns, both ways, on {len(labelled)} labelled and {len(corpus)} corpus texts")
    print(f"CPU time {sum(costs):.1f} s; slowest text {max(costs):.2f} s; differences: {len(wrong)}")
    for line in wrong:
        print(f"  {line}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
