"""The shortcut in screening (classify/anchors.py) finds exactly what a plain search finds.

Each safeguarding pattern runs only on text holding the strings it cannot match without, and only from the
places a match could start. These tests compare it with the plain `pattern.search` for every pattern of
rules/safeguarding.toml, over the tuning examples, both frozen sets' mails and a fixed sample spread over the
shared corpus (every 12th file by path), with each category's harmless phrases blanked as screening blanks
them. The same comparison over every corpus text (some 100 s) is ``benchmarks/safeguarding_anchors.py``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from benchmarks.safeguarding_anchors import (
    INDICATORS,
    corpus_files,
    corpus_text,
    differences,
    labelled_texts,
)
from mailbot.classify.anchors import (
    AnchoredPattern,
    FoldedText,
    Needles,
    fold,
    needed_strings,
    starting_strings,
)
from mailbot.classify.safeguarding import Screening, TextPart, load_screening, screen

# Every 12th corpus file by path: 96 of 1,150 texts from every project in the corpus, the same ones each run
# (5 s of CPU time against 100 s for all of them).
CORPUS_STRIDE = 12


@pytest.fixture(scope="module")
def screening() -> Screening:
    return load_screening(INDICATORS)


def test_every_pattern_finds_the_same_on_the_labelled_mails(screening: Screening) -> None:
    wrong = [d for raw in labelled_texts() for d in differences(screening, raw)]
    assert wrong == []


def test_every_pattern_finds_the_same_on_a_sample_of_the_shared_corpus(
    screening: Screening, corpus_dir: Path
) -> None:
    files = corpus_files(corpus_dir)
    assert len(files) > 1000
    texts = [corpus_text(path) for path in files[::CORPUS_STRIDE]]
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


def test_the_needed_strings_found_are_exactly_those_in_the_text(
    screening: Screening, corpus_dir: Path
) -> None:
    """The one-pass scan (an Aho-Corasick automaton) finds every needed string the text holds, overlapping
    ones too, and no other."""
    anchored = [p for c in screening.categories for p in (*c.patterns, c.not_when_starts) if p]
    wanted = {s for p in anchored for strings in p.needs for s in strings}
    wanted |= {s for p in anchored for s in p.start_strings or ()}
    texts = [fold(corpus_text(path)) for path in corpus_files(corpus_dir)[::CORPUS_STRIDE]]
    texts += [fold("she hit him; he hits her. bank cards, pensions"), ""]
    for text in texts:
        assert screening.needles.found_in(text) == {s for s in wanted if s in text}
