"""The words a pattern cannot match without: a cheap test that skips a pattern on a mail that lacks them.

Safeguarding screening tries some 300 free-form patterns on every mail, and nearly all of them find nothing.
Each pattern's parsed form says which literal strings any match must contain ("took|takes|taken" followed
by "bank card|pension"): a pattern runs only on a mail that contains one string of each such set, and
where every match must start with one of a few strings, it is tried only where those strings occur. It
gives exactly the same first match as a search of the whole text, and most patterns are never run at all.
A pattern whose parse we cannot read requires nothing and is searched as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import chain, islice, repeat
from re import _constants, _parser  # the standard parser: the same reading the engine uses

import ahocorasick

from mailbot.classify.mail_words import fold

_MOST = 64  # strings kept in one set before a part of the pattern is treated as "anything"
_EMPTY = frozenset({""})
_Info = tuple[frozenset[str] | None, list[frozenset[str]]]  # (every string it can match, or None; needs)


def needed_strings(pattern: re.Pattern[str]) -> tuple[frozenset[str], ...]:
    """Sets of folded strings: any match of the pattern contains at least one string of every set."""
    try:
        exact, needs = _sequence(_parser.parse(pattern.pattern, pattern.flags).data)
    except Exception:  # a pattern we cannot read is simply always run
        return ()
    if exact is not None:
        needs = [*needs, exact]
    # "pension" in a text is enough wherever "pensions" would be: each set keeps its shortest strings.
    sets = dict.fromkeys(_without(s, lambda a, b: a in b) for s in needs if s and "" not in s)
    return tuple(sorted(sets, key=_shortest, reverse=True))  # the rarest first: most patterns stop there


def _without(strings: frozenset[str], covers: Callable[[str, str], bool]) -> frozenset[str]:
    return frozenset(s for s in strings if not any(t != s and covers(t, s) for t in strings))


def starting_strings(pattern: re.Pattern[str]) -> frozenset[str] | None:
    """Folded strings one of which every match starts with, or None where a match may start anyhow."""
    try:
        starts = _leading(_parser.parse(pattern.pattern, pattern.flags).data)
    except Exception:  # a pattern we cannot read is searched as before
        return None
    return None if starts is None else _without(starts, lambda a, b: b.startswith(a))


def _leading(items: Sequence[tuple[object, object]]) -> frozenset[str] | None:
    """The strings every match starts with, as long as the pattern spells them out: "savings" and "money"
    rather than "s" and "m", so a pattern is tried only where one of its own words starts a word."""
    prefixes = _EMPTY  # what the items so far must match, while it is a few known strings
    for op, value in items:
        if op in _ZERO_WIDTH:
            continue  # \b and lookarounds are checked by the engine at the place we try
        exact, _ = _node(op, value)
        if exact is not None and "" not in exact and len(prefixes) * len(exact) <= _MOST:
            prefixes = frozenset(a + b for a in prefixes for b in exact)
            continue
        inner = _leading_of_node(op, value)
        if inner is None or len(prefixes) * len(inner) > _MOST:
            return None if prefixes == _EMPTY else prefixes
        return frozenset(a + b for a in prefixes for b in inner)
    return None if prefixes == _EMPTY else prefixes


def _leading_of_node(op: object, value: object) -> frozenset[str] | None:
    """The strings a pattern's first item starts with, where it is not itself a few known strings."""
    if op is _constants.SUBPATTERN:
        return _leading(value[-1].data)  # type: ignore[index]
    if op is _constants.BRANCH:
        branches = [_leading(branch.data) for branch in value[1]]  # type: ignore[index]
        return None if any(b is None for b in branches) else frozenset().union(*branches)  # type: ignore[misc]
    if op in _REPEATS and value[0] >= 1:  # type: ignore[index]
        return _leading(value[2].data)  # type: ignore[index]
    return None


def _shortest(strings: frozenset[str]) -> int:
    return min(map(len, strings))


def _sequence(items: Sequence[tuple[object, object]]) -> _Info:
    needs: list[frozenset[str]] = []
    current: frozenset[str] | None = _EMPTY  # every string the items so far can match, while finite
    whole = True
    for op, value in items:
        exact, inner = _node(op, value)
        needs += inner
        if exact is not None and current is not None and len(current) * len(exact) <= _MOST:
            current = frozenset(a + b for a in current for b in exact)
            continue
        whole = False
        needs.append(current or _EMPTY)
        current = exact if exact is not None else _EMPTY
    if whole:
        return current, needs
    return None, [*needs, current or _EMPTY]


def _node(op: object, value: object) -> _Info:
    reader = _READERS.get(op)
    return reader(value) if reader else (None, [])


def _literal(value: object) -> _Info:
    return frozenset({fold(chr(value))}), []  # type: ignore[arg-type]


def _charset(value: object) -> _Info:
    letters = [fold(chr(code)) for op, code in value if op is _constants.LITERAL]  # type: ignore[attr-defined]
    if len(letters) != len(value) or len(letters) > _MOST:  # type: ignore[arg-type]
        return None, []  # a range, a class such as \s, or a negation: anything
    return frozenset(letters), []


def _nothing_needed(value: object) -> _Info:
    return _EMPTY, []  # \b, ^, lookarounds: they match no characters of their own


def _group(value: object) -> _Info:
    return _sequence(value[-1].data)  # type: ignore[index]


def _atomic(value: object) -> _Info:
    return _sequence(value.data)  # type: ignore[attr-defined]


def _branch(value: object) -> _Info:
    infos = [_sequence(branch.data) for branch in value[1]]  # type: ignore[index]
    if all(exact is not None for exact, _ in infos):
        union = frozenset().union(*(exact for exact, _ in infos))  # type: ignore[misc]
        if len(union) <= _MOST:
            return union, []
    best = [_best(exact, needs) for exact, needs in infos]
    if any(b is None for b in best):
        return None, []
    return None, [frozenset().union(*best)]  # type: ignore[misc]


def _best(exact: frozenset[str] | None, needs: list[frozenset[str]]) -> frozenset[str] | None:
    """Of what a branch needs, the set whose shortest string is longest: the rarest to find by chance."""
    candidates = [s for s in [*needs, exact] if s and "" not in s]
    return max(candidates, key=_shortest) if candidates else None


def _repeat(value: object) -> _Info:
    least, most, inner = value  # type: ignore[misc]
    exact, needs = _sequence(inner.data)
    if least == most == 1:
        return exact, needs
    if least == 0:
        return (exact | _EMPTY, []) if most == 1 and exact is not None else (None, [])
    return None, [*needs, *([exact] if exact is not None else [])]


_READERS: dict[object, Callable[[object], _Info]] = {
    _constants.LITERAL: _literal,
    _constants.IN: _charset,
    _constants.AT: _nothing_needed,
    _constants.ASSERT: _nothing_needed,
    _constants.ASSERT_NOT: _nothing_needed,
    _constants.SUBPATTERN: _group,
    _constants.ATOMIC_GROUP: _atomic,
    _constants.BRANCH: _branch,
    _constants.MAX_REPEAT: _repeat,
    _constants.MIN_REPEAT: _repeat,
    _constants.POSSESSIVE_REPEAT: _repeat,
}


_ZERO_WIDTH = frozenset({_constants.AT, _constants.ASSERT, _constants.ASSERT_NOT})
_REPEATS = frozenset({_constants.MAX_REPEAT, _constants.MIN_REPEAT, _constants.POSSESSIVE_REPEAT})


@dataclass(frozen=True)
class AnchoredPattern:
    """A pattern with the strings it needs; `search` gives what `pattern.search` gives, faster."""

    pattern: re.Pattern[str]
    needs: tuple[frozenset[str], ...] = ()
    starts: re.Pattern[str] | None = None  # finds each place where a match could start, in the folded text
    start_strings: frozenset[str] | None = (
        None  # the strings themselves, when the one-pass scan finds them all
    )
    at_word_start: bool = False  # the pattern opens with \b before a letter: "son" in "person" is no start
    # ... and every start string is letters (word characters) only: its places never overlap (see search)
    whole_words: bool = False

    @classmethod
    def of(cls, pattern: re.Pattern[str]) -> AnchoredPattern:
        starts = starting_strings(pattern)
        listed = starts if starts and min(map(len, starts)) >= _SHORT else None
        word = bool(starts) and pattern.pattern.startswith(r"\b") and all(_is_word(s[0]) for s in starts)
        places = None if starts is None else _places_of(starts, word)
        return cls(pattern, needed_strings(pattern), places, listed, word, word and _all_words(starts))

    @classmethod
    def starting_with(cls, pattern: re.Pattern[str], starts: frozenset[str]) -> AnchoredPattern:
        """A pattern known to start every match with one of ``starts`` (folded), after a lookbehind for a
        word start at most: a phrase list, whose first words give the strings (too many for `of` to list)."""
        starts = _without(starts, lambda a, b: b.startswith(a))
        listed = starts if min(map(len, starts)) >= _SHORT else None
        word = all(_is_word(s[0]) for s in starts)
        return cls(pattern, (starts,), _places_of(starts, word), listed, word, word and _all_words(starts))

    def may_match(self, folded: FoldedText) -> bool:
        """False when the text lacks a string every match needs: the pattern cannot match it."""
        return not any(strings.isdisjoint(folded.found) for strings in self.needs)

    def search(self, text: str, folded: FoldedText) -> re.Match[str] | None:
        if any(strings.isdisjoint(folded.found) for strings in self.needs):
            return None
        if self.starts is None or len(folded.folded) != len(text):
            return self.pattern.search(text)
        # The engine's search tries each place in turn; trying only the places where a match can start, in
        # the same order, finds the same first match (lookbehinds and \b still see the text before it).
        # Where the start words are very common, the engine's own search on from the next one is quicker.
        if self.start_strings is not None and folded.positions is not None:
            places = folded.places(self.start_strings)
            if self.at_word_start:
                places = [p for p in places if p == 0 or not _is_word(text[p - 1])]
            return self._search_at(text, places)
        if self.whole_words:
            # Inside (or right after) a run of word characters no \b can start another: the places one
            # finditer gives, in C, are the places the search below would find one by one.
            return self._search_from_each(text, self.starts.finditer(folded.folded))
        place = self.starts.search(folded.folded)
        for _ in range(_TRY_AT_WORD_STARTS if self.at_word_start else _TRY_ONE_BY_ONE):
            if place is None:
                return None
            found = self.pattern.match(text, place.start())
            if found:
                return found
            place = self.starts.search(folded.folded, place.start() + 1)  # the next, even inside this one
        return None if place is None else self.pattern.search(text, place.start())

    def _search_from_each(self, text: str, places: Iterable[re.Match[str]]) -> re.Match[str] | None:
        starts = map(re.Match.start, places)
        found = self._first_match_at(text, islice(starts, _TRY_AT_WORD_STARTS))
        if found is not None:
            return found
        rest = next(starts, None)
        return None if rest is None else self.pattern.search(text, rest)

    def _search_at(self, text: str, places: Sequence[int]) -> re.Match[str] | None:
        most = _TRY_AT_WORD_STARTS if self.at_word_start else _TRY_ONE_BY_ONE
        found = self._first_match_at(text, places[:most])
        if found is not None or len(places) <= most:
            return found
        return self.pattern.search(text, places[most])

    def _first_match_at(self, text: str, places: Iterable[int]) -> re.Match[str] | None:
        """The first place, in order, where the pattern matches: the loop runs in C (map, filter, next), as
        most patterns are tried at a few dozen places in every mail and find nothing at any of them."""
        return next(filter(None, map(self.pattern.match, repeat(text), places)), None)


_TRY_ONE_BY_ONE = 64  # places tried one at a time before the engine searches on from the next
# A pattern opening at a word start tries only word starts (found by a \b scan, or its listed strings' places
# kept where a word starts); the engine's own search would try its whole alternation at every place ({kin}
# has forty words), so such a pattern is left to its places for longer.
_TRY_AT_WORD_STARTS = 4096


def _places_of(strings: frozenset[str], at_word_start: bool = False) -> re.Pattern[str]:
    """The start strings as one alternation: the engine skips quickly to a place whose first letter fits.
    A pattern that opens with \\b before a letter can only start where a word starts: short names like "son"
    or "ex" ({kin}) occur inside many words, and each would otherwise be tried (folding keeps letters
    letters, so a word start in the folded text is one in the text)."""
    alternatives = "|".join(map(re.escape, sorted(strings, key=len, reverse=True)))
    return re.compile(rf"\b(?:{alternatives})" if at_word_start else alternatives)


def _all_words(strings: frozenset[str]) -> bool:
    return all(_is_word(ch) for s in strings for ch in s)


def _is_word(ch: str) -> bool:
    """What the engine's \\w matches in a str pattern without re.ASCII."""
    return ch.isalnum() or ch == "_"


_SHORT = 3  # strings shorter than this are looked for one by one: they occur in nearly every mail


class Needles:
    """Every string the patterns need, found in a text in one pass: the strings of three letters or more by
    an Aho-Corasick automaton (pyahocorasick, in C), which reports every place each one occurs, overlapping
    ones too; the shorter ones, which occur in nearly every text, one by one."""

    def __init__(self, patterns: Iterable[AnchoredPattern]) -> None:
        patterns = list(patterns)
        wanted = {s for p in patterns for strings in p.needs for s in strings}
        wanted |= {s for p in patterns for s in p.start_strings or ()}
        self.short = sorted(s for s in wanted if len(s) < _SHORT)
        self.scan: ahocorasick.Automaton | None = None
        if long := sorted(s for s in wanted if len(s) >= _SHORT):
            self.scan = ahocorasick.Automaton()
            for string in long:
                self.scan.add_word(string, string)
            self.scan.make_automaton()
        self.longest = max(map(len, wanted), default=0)
        # Each pattern listed under the strings of its first (rarest) set: the few a text may match are then
        # found from the strings it holds, without asking each of several hundred patterns in turn.
        self.listed: dict[str, list[int]] = {}
        self.always = {id(p) for p in patterns if not p.needs}
        for pattern in patterns:
            for s in pattern.needs[0] if pattern.needs else ():
                self.listed.setdefault(s, []).append(id(pattern))

    def may_match(self, found: set[str]) -> set[int]:
        """The id() of each pattern whose first set of strings has one in ``found`` (or that needs none)."""
        ids = set(self.always)
        for s in found:
            ids.update(self.listed.get(s, ()))
        return ids

    def found_in(self, folded: str) -> set[str]:
        found = {s for s in self.short if s in folded}
        if self.scan is not None:
            found.update(string for _end, string in self.scan.iter(folded))
        return found


class FoldedText:
    """A text folded once, with the needed strings it contains (many patterns share their words)."""

    def __init__(self, text: str, needles: Needles) -> None:
        self.folded = fold(text)
        self.needles = needles
        self.found = needles.found_in(self.folded)
        # Where each string starts, looked up when a pattern asks: most strings found are never asked about.
        self.positions: dict[str, list[int]] | None = {}
        self.may_match = needles.may_match(self.found)  # id() of the patterns worth running on it

    def places(self, strings: frozenset[str]) -> list[int]:
        """Where any of the strings starts, in order."""
        lists = [self._starts_of(s) for s in strings if s in self.found]
        return lists[0] if len(lists) == 1 else sorted(chain.from_iterable(lists))

    def _starts_of(self, string: str) -> list[int]:
        """Every place the string starts in the folded text, overlapping ones too (as the scan saw them)."""
        assert self.positions is not None
        if string not in self.positions:
            starts, place = [], self.folded.find(string)
            while place != -1:
                starts.append(place)
                place = self.folded.find(string, place + 1)
            self.positions[string] = starts
        return self.positions[string]

    def blanked(self, text: str, spans: Iterable[tuple[int, int]]) -> FoldedText:
        """The same text with harmless phrases blanked out (a category's `not_when`): only strings that
        overlap a blank can be new, so only the blanks and their edges are looked at again. Strings that
        were found and are now blanked stay counted: a pattern is then run for nothing, never skipped. Where
        a string starts is looked up in the blanked text itself, as in any text, so a blanked text's patterns
        are tried at their own words' places too (it used to fall back to a slower scan)."""
        blanked = FoldedText.__new__(FoldedText)
        blanked.folded, blanked.needles, blanked.positions = fold(text), self.needles, {}
        edge = self.needles.longest
        windows = (blanked.folded[max(0, start - edge) : end + edge] for start, end in spans)
        blanked.found = self.found.union(*(self.needles.found_in(window) for window in windows))
        blanked.may_match = self.needles.may_match(blanked.found)
        return blanked
