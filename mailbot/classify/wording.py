"""Rules on what the mail says: phrase lists, patterns and the language it is written in."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from mailbot.classify.mail_words import SHORT, PhrasePattern, _alternation, _prefix_tree, words_of
from mailbot.classify.rules import (
    MailContext,
    Param,
    Rule,
    any_search,
    compile_patterns,
    normalise_wording,
    register,
)
from mailbot.intake.parse import ParsedMail

_PLACES = frozenset({"subject", "body"})
_PLACES_PARAM = Param(list, help='where to look: "subject", "body" (default both)')


def _places(params: Mapping[str, Any]) -> tuple[str, ...]:
    places = tuple(params.get("in", ("subject", "body")))
    if unknown := set(places) - _PLACES:
        raise ValueError(f'\'in\' has {sorted(unknown)}; accepted: "subject", "body"')
    return places


def _read(context: MailContext, places: Sequence[str]) -> str:
    return "\n".join(context.subject if place == "subject" else context.body for place in places)


def phrase_pattern(phrases: Sequence[str], case_sensitive: bool) -> PhrasePattern | None:
    """Whole-word, whitespace-tolerant alternatives; a trailing * on a word allows any ending ("bruis*").

    The phrases are merged into a prefix tree, so the pattern tries each letter once where a plain
    alternation tried every phrase at every word of the mail (10 times slower on a mail of a few KB). It
    matches the same words at the same places; where two phrases match at one place, the longer is kept.
    It is searched only where the mail holds a word one of the phrases starts with (mail_words.py)."""
    sequences = [_phrase_atoms(p, fold=not case_sensitive) for p in phrases if p.strip()]
    if not sequences:
        return None
    flags = 0 if case_sensitive else re.IGNORECASE
    pattern = re.compile(r"(?<!\w)" + _alternation(_prefix_tree(sequences)) + r"(?!\w)", flags)
    return PhrasePattern(pattern, phrases)


def _phrase_atoms(phrase: str, fold: bool) -> list[str]:
    """The phrase as regex atoms: one per letter (lower case where case does not count), with whitespace
    between words and any ending after a starred word."""
    atoms: list[str] = []
    for index, word in enumerate(normalise_wording(phrase).split()):
        atoms += [r"\s+"] if index else []
        stem = word[:-1] if word.endswith("*") else word
        atoms += [re.escape(_folded(ch) if fold else ch) for ch in stem]
        atoms += [r"\w*"] if word.endswith("*") else []
    return atoms


def _folded(ch: str) -> str:
    lower = ch.lower()
    return lower if len(lower) == 1 else ch  # "İ" lowers to two characters: kept as written


@register
class PhraseRule(Rule):
    """Any of the phrases occurs as whole words; `unless` phrases are blanked out first ("hit and miss")."""

    type_name = "phrases"
    parameters: Mapping[str, Param] = {
        "phrases": Param(list, required=True, help="words or phrases; a trailing * allows any ending"),
        "unless": Param(list, help="phrases that do not count, removed before matching"),
        "in": _PLACES_PARAM,
        "case_sensitive": Param(bool, help="match case exactly (for abbreviations such as MP)"),
    }

    def configure(self, params: Mapping[str, Any]) -> None:
        case_sensitive = bool(params.get("case_sensitive", False))
        self.pattern = phrase_pattern(params["phrases"], case_sensitive)
        self.unless = phrase_pattern(params.get("unless", ()), case_sensitive=False)
        self.places = _places(params)

    def check(self, mail: ParsedMail, context: MailContext) -> bool:
        if self.pattern is None:
            return False
        text = _read(context, self.places)
        if self.unless is not None:
            # Blanking whole phrases with a space takes words away and adds none: where the phrases cannot
            # match the text as it is, they cannot match it blanked, and nothing need be blanked.
            if not self.pattern.may_match(text):
                return False
            text = self.unless.sub(" ", text)
        return bool(self.pattern.search(text))


@register
class PatternRule(Rule):
    """A regular expression matches the subject or body (e.g. bounce subjects such as "^Undeliverable")."""

    type_name = "pattern"
    parameters: Mapping[str, Param] = {
        "patterns": Param(list, required=True, help="regular expressions, case-insensitive"),
        "in": _PLACES_PARAM,
    }

    def configure(self, params: Mapping[str, Any]) -> None:
        self.patterns = compile_patterns(params["patterns"])
        self.places = _places(params)

    def check(self, mail: ParsedMail, context: MailContext) -> bool:
        return any(any_search(self.patterns, _read(context, [place])) for place in self.places)


@register
class StopWordRule(Rule):
    """The mail is written in a language whose common short words it uses (Welsh: "yr", "mae", "yn" ...)."""

    type_name = "stop_words"
    parameters: Mapping[str, Param] = {
        "words": Param(list, required=True, help="common words of the language, lower case"),
        "min_distinct": Param(int, help="how many different listed words must occur (default 3)"),
        "min_share": Param(float, help="share of all words that must be listed words (default 0.08)"),
        "in": _PLACES_PARAM,
    }

    def configure(self, params: Mapping[str, Any]) -> None:
        self.words = frozenset(word.casefold() for word in params["words"])
        self.min_distinct = int(params.get("min_distinct", 3))
        self.min_share = float(params.get("min_share", 0.08))
        self.places = _places(params)
        # For the quick count (_too_few): plain ASCII words, words joined by an apostrophe ("i'r"), the rest.
        self.plain = frozenset(w for w in self.words if w.isascii() and _RUN.fullmatch(w))
        self.joined = tuple(m.groups() for w in self.words if w.isascii() and (m := _JOINED.fullmatch(w)))
        self.others = len(self.words) - len(self.plain) - len(self.joined)

    def check(self, mail: ParsedMail, context: MailContext) -> bool:
        text = _read(context, self.places)
        if self._too_few(text):
            return False
        tokens = _TOKEN.findall(text.casefold())
        listed = [token for token in tokens if token in self.words]
        return len(set(listed)) >= self.min_distinct and len(listed) >= self.min_share * len(tokens)

    def _too_few(self, text: str) -> bool:
        """Fewer listed words could occur than min_distinct, as the text's words (mail_words) tell. In a plain
        ASCII text each token is a whole word, or two joined by an apostrophe, of the text lower-cased."""
        if not text.isascii() or len(text) < SHORT:
            return False
        words = words_of(text).words
        joined = sum(first in words and second in words for first, second in self.joined)
        return len(self.plain & words) + joined + self.others < self.min_distinct


_TOKEN = re.compile(r"\w+(?:'\w+)?")
_RUN = re.compile(r"\w+")
_JOINED = re.compile(r"(\w+)'(\w+)")
