"""A phrase list searched only where the mail holds the words its phrases need, and a free-form pattern
only where it holds the strings it needs (classify/mail_words.py), find exactly what the plain pattern
finds: the same first match, every match, the same text blanked.

Compared for every phrase list and pattern of rules/classify.toml and of rules/safeguarding.toml, over
the safeguarding tuning examples, both safeguarding frozen sets' mails, a fixed sample of the shared
corpus (every 12th file by path) and texts made to catch the letters the engine folds together.
"""

from __future__ import annotations

import _sre
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.safeguarding_anchors import corpus_files, corpus_text, labelled_texts
from mailbot.classify import load_chain
from mailbot.classify.mail_words import SHORT, NeedingPattern, PhrasePattern, fold, words_of
from mailbot.classify.rules import normalise_wording
from mailbot.classify.safeguarding import load_screening
from mailbot.classify.wording import phrase_pattern

ROOT = Path(__file__).resolve().parent.parent
CORPUS_STRIDE = 12
PADDING = " and so on" * (SHORT // 10 + 1)  # long enough that the words are asked, not skipped past


def every_phrase_list() -> Iterator[tuple[str, PhrasePattern | NeedingPattern]]:
    """(where, pattern) for each phrase list the chain and the screening compile."""
    chain = load_chain(ROOT / "rules" / "classify.toml")
    for step in chain.steps:
        yield from _found(step.rule.name, vars(step.rule))
    screening = load_screening(ROOT / "rules" / "safeguarding.toml")
    yield from _found("screening", vars(screening))
    for category in screening.categories:
        yield from _found(category.key, vars(category))


def _found(where: str, value: object) -> Iterator[tuple[str, PhrasePattern | NeedingPattern]]:
    if isinstance(value, PhrasePattern | NeedingPattern):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _found(f"{where}.{key}", item)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _found(f"{where}[{index}]", item)


def differences(patterns: list[tuple[str, PhrasePattern | NeedingPattern]], raw: str) -> list[str]:
    text = normalise_wording(raw[:200_000])
    wrong = []
    for where, pattern in patterns:
        plain = pattern.compiled
        if _span(pattern.search(text)) != _span(plain.search(text)) or [
            m.span() for m in pattern.finditer(text)
        ] != [m.span() for m in plain.finditer(text)]:
            wrong.append(f"{where}: {text[:60]!r}")
    return wrong


def _span(match: re.Match[str] | None) -> tuple[int, int] | None:
    return None if match is None else match.span()


@pytest.fixture(scope="module")
def patterns() -> list[tuple[str, PhrasePattern | NeedingPattern]]:
    found = list(every_phrase_list())
    assert sum(isinstance(p, PhrasePattern) for _, p in found) > 100
    assert sum(isinstance(p, NeedingPattern) for _, p in found) > 20
    return found


def test_every_phrase_list_finds_the_same_on_the_labelled_mails(patterns) -> None:  # type: ignore[no-untyped-def]
    """Eight examples to a text: most are shorter than SHORT, which is searched without asking its words."""
    examples = list(labelled_texts())
    texts = ["\n\n".join(examples[start : start + 8]) for start in range(0, len(examples), 8)]
    assert [d for raw in texts for d in differences(patterns, raw)] == []


def test_every_phrase_list_finds_the_same_on_a_sample_of_the_shared_corpus(  # type: ignore[no-untyped-def]
    patterns, corpus_dir: Path
) -> None:
    files = corpus_files(corpus_dir)
    assert len(files) > 1000
    texts = [corpus_text(path) for path in files[::CORPUS_STRIDE]]
    assert [d for raw in texts for d in differences(patterns, raw)] == []


def test_most_mail_is_never_searched_for_most_lists(patterns) -> None:  # type: ignore[no-untyped-def]
    """The point of it: an ordinary complaint holds the words of few lists."""
    text = (
        "I want to make a formal complaint about the care my mother receives at home. Her carers missed "
        "three visits this fortnight and nobody rang to tell us." + PADDING
    )
    searched = [where for where, pattern in patterns if pattern.may_match(text)]
    assert len(searched) < 0.25 * len(patterns)


@pytest.mark.parametrize(
    ("phrases", "text", "found"),
    [
        (["thank you"], "THANK YOU so much", "THANK YOU"),
        (["thank you"], "than\u212a you", "than\u212a you"),  # the Kelvin sign is a "k" to the engine
        (["unsubscribe"], "un\u017fubscribe here", "un\u017fubscribe"),  # and the long s an "s"
        (["isn't fair"], "\u0130SN'T FAIR", "\u0130SN'T FAIR"),  # dotted capital I
        (["can't cope"], "I can't  cope", "can't  cope"),
        (["a&e department"], "sent to A&E department", "A&E department"),
        (["bruis*"], "she was bruised", "bruised"),
        (["bruis*"], "she was unbruised", None),
        (["e-mail address"], "my E-mail address", "E-mail address"),
        (["£5 off"], "now £5 off", "£5 off"),  # opens with no word character: always searched
        (["café owner"], "the CAFÉ owner", "CAFÉ owner"),
        # Greek: iota folds to a combining mark, which is no word character
        (["\u03b9\u03b1"], "\u0399\u0391 and \u0345\u03b1", "\u0399\u0391"),
        (["MP"], "my mp and my MP", "MP"),
    ],
)
def test_the_letters_the_engine_takes_as_one_are_found(
    phrases: list[str], text: str, found: str | None
) -> None:
    pattern = phrase_pattern(phrases, case_sensitive=phrases == ["MP"])
    assert pattern is not None
    match = pattern.search(text + PADDING)
    assert (match.group() if match else None) == found
    assert _span(match) == _span(pattern.compiled.search(text + PADDING))


def test_a_text_with_none_of_the_words_is_left_as_it_is() -> None:
    pattern = phrase_pattern(["do not reply", "no longer monitored"], case_sensitive=False)
    assert pattern is not None
    text = "Please reply to me about my mother's care." + PADDING
    assert not pattern.may_match(text)
    assert pattern.sub(" ", text) is text
    assert list(pattern.finditer(text)) == []


def test_words_are_made_once_for_a_text_read_by_many_lists() -> None:
    text = "Please reply about my mother's care." + PADDING
    assert words_of(text) is words_of("".join([text]))  # an equal text, another string: the same words


def test_folding_keeps_every_letter_the_engine_takes_as_one_together() -> None:
    """fold() is what makes the words comparable: two characters the engine matches ignoring case fold to
    the same character, and every character folds to exactly one."""
    for code in (c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF):
        char = chr(code)
        lowered = chr(_sre.unicode_tolower(code))
        assert len(fold(char)) == 1 and fold(char) == fold(lowered), hex(code)


def test_a_pattern_is_searched_only_where_its_strings_are() -> None:
    from mailbot.classify.rules import compile_patterns

    (pattern,) = compile_patterns([r"\b(?:reply|respond)\s+to\s+(?:this|the)\s+(?:e-?mail|message)"])
    text = "I would like to complain about my mother's care." + PADDING
    assert not pattern.may_match(text)
    assert pattern.search(text) is None
    found = pattern.search("Please do not REPLY to this EMAIL" + PADDING)
    assert found is not None and found.group() == "REPLY to this EMAIL"
    # The long s U+017F is an "s" to the engine, and so to the strings looked for.
    (pattern,) = compile_patterns([r"\bunsubscribe\b"])
    found = pattern.search("To UN\u017fUBSCRIBE click" + PADDING)
    assert found is not None and found.group() == "UN\u017fUBSCRIBE"


def test_the_quick_count_of_listed_words_never_hides_a_language(corpus_dir: Path) -> None:
    """stop_words rules first count, from the text's words, how many listed words could occur; the full
    count must agree wherever the quick one says there are too few."""
    from mailbot.classify.wording import StopWordRule

    chain = load_chain(ROOT / "rules" / "classify.toml")
    rules = [step.rule for step in chain.steps if isinstance(step.rule, StopWordRule)]
    assert rules
    welsh = "Annwyl Syr, mae fy mam yn y cartref gofal ac nid yw'r staff wedi bod yn garedig. Diolch, cofion."
    texts = [corpus_text(path) for path in corpus_files(corpus_dir)[::CORPUS_STRIDE]]
    texts += [*labelled_texts(), welsh + PADDING, (welsh + " ") * 8, "I am Dad, and I'm writing" + PADDING]
    for rule in rules:
        for raw in texts:
            text = normalise_wording(raw[:200_000])
            tokens = re.findall(r"\w+(?:'\w+)?", text.casefold())
            listed = {token for token in tokens if token in rule.words}
            if rule._too_few(text):
                assert len(listed) < rule.min_distinct, text[:60]
    assert not rules[0]._too_few((welsh + " ") * 8)
    assert rules[0]._too_few("I am Dad, and I'm writing" + PADDING)


def test_a_texts_words_are_its_runs_of_word_characters_folded(corpus_dir: Path) -> None:
    from mailbot.classify.mail_words import MailWords

    texts = [corpus_text(path) for path in corpus_files(corpus_dir)[::CORPUS_STRIDE]]
    texts += ["".join(map(chr, range(128))) * 2, "Caf\u00e9 \u212aelvin \u0130stanbul, can't"]
    for text in texts:
        assert MailWords(text).words == frozenset(fold(w) for w in re.findall(r"\w+", text))
