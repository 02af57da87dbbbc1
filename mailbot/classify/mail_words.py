"""A mail's words, folded once and shared, and a phrase list's pattern that asks them before it searches.

A phrase of a list (wording.phrase_pattern) can only match a mail that holds each of its words as a word of
its own ("not monitored" needs the word "monitored"). A mail holds the telling word of none of most lists'
phrases, and the regular-expression engine would try the whole list at every character of it (IGNORECASE
and the look-behind leave it no shortcut): one set of the mail's words, made once for every list that reads
the same text, says in a few lookups that there is nothing to find.
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import suppress
from re import _casefix
from typing import Any, TypeVar

import ahocorasick

T = TypeVar("T")

# Case-insensitive matching treats a few letters as one ("s" and the long s U+017F, "k" and the Kelvin sign):
# each such group is folded to one letter, so a string the engine would match is always found.
_SAME_LETTER = {
    code: chr(min(code, *others)) for code, others in _casefix._EXTRA_CASES.items() if min(others) < code
}
_WORD = re.compile(r"\w+")
_TEXTS_KEPT = 8  # texts whose words are kept: the rules of one mail read a few texts, each many times
SHORT = 256  # characters: a text this short is searched at once (the search costs less than its words)


def fold(text: str) -> str:
    """Lower case as the regular-expression engine compares letters when told to ignore case: where the
    engine takes two characters as one, both fold to the same character (checked for every code point)."""
    if text.isascii():
        return text.lower()
    return text.replace("\u0130", "i").lower().translate(_SAME_LETTER)  # "İ" lowers to two characters


def normalise_wording(text: str) -> str:
    """Curly quotes and non-breaking spaces as typed by phones and Word, made plain for phrase matching."""
    return text.translate(_PLAIN)


_PLAIN = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\xa0": " "})


# --- phrase lists as prefix trees (wording.phrase_pattern, first_words, anchors) ----------------------------

_END = ""  # the key that marks a phrase ending at this node of the tree


def _prefix_tree(sequences: Sequence[Sequence[str]]) -> dict[str, dict]:
    tree: dict[str, dict] = {}
    for atoms in sequences:
        node = tree
        for atom in atoms:
            node = node.setdefault(atom, {})
        node[_END] = {}
    return tree


def _depth(node: dict[str, dict]) -> int:
    return max((1 + _depth(child) for atom, child in node.items() if atom != _END), default=0)


def _alternation(node: dict[str, dict]) -> str:
    # Longer continuations first and the phrase ending here last: the longest phrase wins, as before.
    atoms = sorted((a for a in node if a != _END), key=lambda a: -_depth(node[a]))
    branches = [atom + _alternation(node[atom]) for atom in atoms] + ([""] if _END in node else [])
    return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"


class MailWords:
    """The words (runs of \\w) of one text, folded."""

    def __init__(self, text: str) -> None:
        if text.isascii():  # lower case keeps ASCII word characters word characters
            # Every other character made a space: split() then gives the runs of \w, three times faster.
            self.words = frozenset(text.lower().translate(_ASCII_NOT_WORD).split())
        else:  # folding may not (Greek iota folds to a combining mark): words are cut from the text itself
            self.words = frozenset(map(fold, set(_WORD.findall(text))))
        self._sorted: list[str] | None = None

    def has_prefix(self, stem: str) -> bool:
        """Whether a word starts with ``stem``."""
        if self._sorted is None:
            self._sorted = sorted(self.words)
        place = bisect_left(self._sorted, stem)
        return place < len(self._sorted) and self._sorted[place].startswith(stem)


_ASCII_NOT_WORD = {code: " " for code in range(128) if not (chr(code).isalnum() or chr(code) == "_")}
_KEPT: dict[str, MailWords] = {}


def words_of(text: str) -> MailWords:
    """The text's words, made once for the several lists that read the same text."""
    return _once(_KEPT, text, MailWords)


class _Gated:
    """A compiled pattern searched only where ``may_match`` says the text can hold a match."""

    compiled: re.Pattern[str]

    def may_match(self, text: str) -> bool:
        raise NotImplementedError

    def search(self, text: str, pos: int = 0) -> re.Match[str] | None:
        return self.compiled.search(text, pos) if self.may_match(text) else None

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        return self.compiled.finditer(text) if self.may_match(text) else iter(())

    def findall(self, text: str) -> list[Any]:
        return self.compiled.findall(text) if self.may_match(text) else []


class PhrasePattern(_Gated):
    """A phrase list's compiled pattern (wording.phrase_pattern) with the words each phrase needs.

    ``search``, ``finditer``, ``findall`` and ``sub`` give exactly what the pattern's own would: where the
    text lacks a word of every phrase they answer at once, otherwise the pattern searches as before."""

    def __init__(self, pattern: re.Pattern[str], phrases: Iterable[str]) -> None:
        self.compiled = pattern
        self.pattern, self.flags = pattern.pattern, pattern.flags
        self.match = pattern.match  # anchored at one place: nothing to gain
        # Each phrase's needs filed under its rarest word, so that a text is asked only about the phrases
        # whose rarest word it holds; phrases that need only beginnings of words are asked one by one.
        self.by_word: dict[str, list[_Needs]] | None = {}
        self.by_beginning: list[_Needs] = []
        for phrase in (p for p in phrases if p.strip()):  # as wording.phrase_pattern leaves blanks out
            needs = _needs(phrase)
            if needs is None:  # a phrase that needs no word we can name: the pattern always searches
                self.by_word = None
                return
            if needs.words:
                self.by_word.setdefault(max(needs.words, key=len), []).append(needs)
            else:
                self.by_beginning.append(needs)

    def may_match(self, text: str) -> bool:
        """False when, for every phrase, the text lacks a word the phrase needs."""
        if self.by_word is None or len(text) < SHORT:
            return True
        found = words_of(text)
        for word in found.words.intersection(self.by_word):
            if any(needs.met_by(found) for needs in self.by_word[word]):
                return True
        return any(needs.met_by(found) for needs in self.by_beginning)

    def sub(self, repl: str | Callable[[re.Match[str]], str], text: str) -> str:
        return self.compiled.sub(repl, text) if self.may_match(text) else text

    def __repr__(self) -> str:
        return f"PhrasePattern({self.compiled!r})"


class _Needs:
    """The folded words a phrase's match holds as words of the text, and the beginnings of words (a word
    with a trailing *)."""

    def __init__(self, words: frozenset[str], beginnings: tuple[str, ...]) -> None:
        self.words, self.beginnings = words, beginnings

    def met_by(self, found: MailWords) -> bool:
        return found.words.issuperset(self.words) and all(map(found.has_prefix, self.beginnings))


def _needs(phrase: str) -> _Needs | None:
    """What any match of the phrase holds: each of its words is a word of the mail of its own (whitespace,
    a word start or a word end around it), and so is each run of word characters inside one ("can" and "t"
    of "can't"); a starred word's last run begins one. Words with a character outside ASCII are left out:
    the engine may take such a character for one that is not a word character, and a word would end
    elsewhere. None where no word is left."""
    words: set[str] = set()
    beginnings: set[str] = set()
    for word in normalise_wording(phrase).split():
        star = word.endswith("*")
        stem = word[:-1] if star else word
        if not stem.isascii():
            continue
        for run in _WORD.finditer(stem):
            (beginnings if star and run.end() == len(stem) else words).add(run.group().lower())
    if not words and not beginnings:
        return None
    return _Needs(frozenset(words), tuple(sorted(beginnings, key=len, reverse=True)))


# --- free-form patterns (rules.compile_patterns) ------------------------------------------------------------


class NeedingPattern(_Gated):
    """A compiled pattern with the folded strings any match of it holds (anchors.needed_strings: one of each
    set). ``search``, ``finditer`` and ``findall`` give exactly what the pattern's own would; on a text that
    lacks every string of a set they answer at once, without the engine trying the pattern at every
    character."""

    def __init__(self, pattern: re.Pattern[str], needs: Sequence[frozenset[str]]) -> None:
        self.compiled = pattern
        self.pattern, self.flags = pattern.pattern, pattern.flags
        self.match, self.fullmatch = pattern.match, pattern.fullmatch
        self.needs = tuple(frozenset(strings) for strings in needs[:_SETS_ASKED])
        _NEEDED.add(self.needs)  # before any text can be asked about

    def may_match(self, text: str) -> bool:
        if not self.needs or len(text) < SHORT:
            return True
        found = _NEEDED.found_in(text)  # which needed strings the folded text holds: s in it, for each
        return all(not found.isdisjoint(strings) for strings in self.needs)

    def __repr__(self) -> str:
        return f"NeedingPattern({self.compiled!r})"


_SETS_ASKED = 2  # the rarest sets of needed strings: the rest seldom rule out what these let through
_SCANNED_FROM = 3  # characters: shorter strings occur in nearly every text and are looked for one by one


class _Scan:
    """Every needed string of the patterns made so far, found in a folded text in one pass: those of three
    characters or more by an Aho-Corasick automaton (pyahocorasick, in C), which reports every place each
    occurs, overlapping ones too; the shorter ones with ``in``. Each pattern used to ask ``in`` of the
    whole text for each of its strings: some 130 patterns, a few strings each."""

    def __init__(self, strings: frozenset[str]) -> None:
        self.strings = strings
        self.short = tuple(sorted(s for s in strings if len(s) < _SCANNED_FROM))
        self.automaton: ahocorasick.Automaton | None = None
        if long := sorted(s for s in strings if len(s) >= _SCANNED_FROM):
            self.automaton = ahocorasick.Automaton()
            for string in long:
                self.automaton.add_word(string, string)
            self.automaton.make_automaton()

    def found_in(self, folded: str) -> frozenset[str]:
        found = {s for s in self.short if s in folded}
        if self.automaton is not None:
            found.update(string for _end, string in self.automaton.iter(folded))
        return frozenset(found)


class _NeededStrings:
    """The strings NeedingPatterns need, and which of them each recent text holds. A pattern's strings are
    added before it is first asked; a scan made before that (another thread's, or a text's answer kept
    from then) is for other strings and is not used: ``strings`` is a new set whenever one is added."""

    def __init__(self) -> None:
        self.strings: frozenset[str] = frozenset()
        self.scan = _Scan(self.strings)
        self.kept: dict[str, tuple[_Scan, frozenset[str]]] = {}
        self.adding = threading.Lock()  # two rule files loaded at once in two threads: neither's strings lost

    def add(self, needs: Iterable[frozenset[str]]) -> None:
        wanted = frozenset().union(*needs)
        with self.adding:
            if not wanted <= self.strings:
                self.strings = self.strings | wanted

    def current_scan(self) -> _Scan:
        scan = self.scan
        if scan.strings is not self.strings:
            scan = self.scan = _Scan(self.strings)
        return scan

    def found_in(self, text: str) -> frozenset[str]:
        scan = self.current_scan()
        kept = self.kept.get(text)
        if kept is not None and kept[0] is scan:
            return kept[1]
        return _kept(self.kept, text, (scan, scan.found_in(folded_text(text))))[1]


_NEEDED = _NeededStrings()


def prepare_scan() -> None:
    """Make the scan of every needed string now: processes forked after this share it (ahead.py)."""
    _NEEDED.current_scan()


_FOLDED: dict[str, str] = {}


def folded_text(text: str) -> str:
    """The text folded, once for the several patterns that read the same text."""
    return _once(_FOLDED, text, fold)


def _once(cache: dict[str, T], text: str, make: Callable[[str], T]) -> T:
    value = cache.get(text)
    if value is None:
        value = _kept(cache, text, make(text))
    return value


def _kept(cache: dict[str, T], text: str, value: T) -> T:
    """Keep ``value`` for ``text``, the oldest text making room. Scheduler jobs may classify in threads at
    once: a text another thread has just made room with is simply not there to drop (the answer for a text
    is the same whoever works it out)."""
    if len(cache) >= _TEXTS_KEPT:
        with suppress(StopIteration, KeyError, RuntimeError):
            del cache[next(iter(cache))]
    cache[text] = value
    return value
