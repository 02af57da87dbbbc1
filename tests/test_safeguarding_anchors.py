"""The shortcut in screening (classify/anchors.py) finds exactly what a plain search finds.

Each safeguarding pattern runs only on text holding the strings it cannot match without, and only from the
places a match could start. These tests compare it with the plain `pattern.search` for every pattern of
rules/safeguarding.toml, over the tuning examples, both frozen sets' mails and every text of the shared
corpus, with each category's harmless phrases blanked as screening blanks them.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailbot.classify.anchors import (
    AnchoredPattern,
    FoldedText,
    Needles,
    fold,
    needed_strings,
    starting_strings,
)
from mailbot.classify.rules import normalise_wording
from mailbot.classify.safeguarding import SCREEN_LIMIT, Screening, TextPart, load_screening, screen

ROOT = Path(__file__).resolve().parents[1]
SETS = (
    ROOT / "tests" / "data" / "safeguarding" / "frozen.toml",
    ROOT / "tests" / "data" / "safeguarding" / "frozen2.toml",
)
EXAMPLES = ROOT / "tests" / "data" / "safeguarding_tuning" / "examples.toml"


@pytest.fixture(scope="module")
def screening() -> Screening:
    return load_screening(ROOT / "rules" / "safeguarding.toml")


def labelled_texts() -> Iterator[str]:
    yield from (e["text"] for e in tomllib.loads(EXAMPLES.read_text(encoding="utf-8"))["example"])
    for path in SETS:
        for mail in tomllib.loads(path.read_text(encoding="utf-8"))["mail"]:
            yield f"{mail['subject']}\n{mail['body']}"


def corpus_texts(corpus: Path) -> Iterator[str]:
    for path in sorted(p for p in corpus.rglob("*") if p.is_file()):
        yield path.read_bytes()[: SCREEN_LIMIT * 2].decode("utf-8", errors="replace")


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


def test_every_pattern_finds_the_same_on_the_labelled_mails(screening: Screening) -> None:
    wrong = [d for raw in labelled_texts() for d in differences(screening, raw)]
    assert wrong == []


def test_every_pattern_finds_the_same_on_the_shared_corpus(screening: Screening, corpus_dir: Path) -> None:
    texts = list(corpus_texts(corpus_dir))
    assert len(texts) > 1000
    wrong = [d for raw in texts for d in differences(screening, raw)]
    assert wrong == []


def test_nearly_every_pattern_has_words_to_look_for(screening: Screening) -> None:
    patterns = [p for c in screening.categories for p in c.patterns]
    assert sum(bool(p.needs) for p in patterns) >= 0.95 * len(patterns)
    assert sum(p.starts is not None for p in patterns) >= 0.9 * len(patterns)


def test_a_pattern_needs_one_of_each_alternative_it_cannot_do_without() -> None:
    pattern = re.compile(r"\b(took|takes)\s+(\w+\s+){0,3}(bank card|pension)s?\b", re.IGNORECASE)
    assert set(needed_strings(pattern)) == {frozenset({"took", "takes"}), frozenset({"bank card", "pension"})}
    assert needed_strings(re.compile("(he|she) hit")) == (frozenset({"he hit"}),)  # "she hit" holds "he hit"
    assert starting_strings(pattern) == frozenset({"took", "takes"})


def test_optional_and_open_parts_need_nothing() -> None:
    assert needed_strings(re.compile(r"\w+\s+(very\s+)?")) == ()
    assert starting_strings(re.compile(r"(the\s+)?bed")) is None
    assert needed_strings(re.compile(r"(the\s+)?bed")) == (frozenset({"bed"}),)


def test_a_start_word_is_tried_where_a_lookbehind_can_still_see_before_it() -> None:
    anchored = AnchoredPattern.of(re.compile(r"(?<!not )\bhit\b", re.IGNORECASE))
    needles = Needles([anchored])
    for text in ("he did not hit her", "he did HIT her", "not hit, but then he hit her", "white"):
        plain = anchored.pattern.search(text)
        quick = anchored.search(text, FoldedText(text, needles))
        assert (plain and plain.span()) == (quick and quick.span()), text


def test_letters_the_engine_treats_as_one_fold_to_one() -> None:
    assert fold("\u212a\u017f") == fold("ks")  # the Kelvin sign and the long s
    assert len(fold("İstanbul")) == len("İstanbul")  # offsets in the folded text still fit the text


def test_screening_reports_the_same_findings_as_before_on_a_disclosure(screening: Screening) -> None:
    text = (
        "We don't want to make a fuss but Mum had finger marks on her arm and the carer took her bank card."
    )
    findings = screen(screening, [TextPart("text", text)])
    assert {"physical", "financial"} <= {f.category for f in findings}
