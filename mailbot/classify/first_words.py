"""The safeguarding categories' word lists searched in one pass instead of one pass each.

Each category's words are one whole-word pattern (safeguarding.words_pattern), and a mail has some ten of
them: each search tried its alternatives at every word of the mail. One pattern made of the phrases of
every list, merged into one prefix tree, finds the places where any list matches, and each list is tried only
at those places, in order: the first place where a list matches is where its own search would have found it,
with the same words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from mailbot.classify.mail_words import _alternation, _prefix_tree, normalise_wording


def first_words_scan(phrases: Iterable[str]) -> re.Pattern[str] | None:
    """A pattern that matches where a words_pattern of any of the phrases matches: the same pieces of
    pattern for each phrase, merged into a prefix tree (as wording.phrase_pattern does), so each place of
    the text is tried once for every list instead of once for each."""
    sequences = []
    for phrase in phrases:
        words = normalise_wording(phrase).split()
        if words:
            atoms = [re.escape(words[0][0].lower()), *_word_atoms(words[0][1:])]
            atoms += [atom for word in words[1:] for atom in (r"\s+", *_word_atoms(word))]
            sequences.append([*atoms, r"(?!\w)"])
    if not sequences:
        return None
    return re.compile(r"(?<!\w)" + _alternation(_prefix_tree(sequences)), re.IGNORECASE)


def _word_atoms(word: str) -> list[str]:
    """safeguarding._word_regex one letter at a time: apostrophes and hyphens optional, * any ending."""
    stem = word[:-1] if word.endswith("*") else word
    atoms = ["'?" if ch == "'" else r"[-\s]?" if ch == "-" else re.escape(ch) for ch in stem]
    return [*atoms, r"\w*"] if word.endswith("*") else atoms


def first_matches(
    scan: re.Pattern[str] | None, lists: Sequence[tuple[str, re.Pattern[str]]], text: str
) -> dict[str, re.Match[str]]:
    """For each (key, words pattern) whose words occur in the text, its first match, as pattern.search gives
    it; a key that is missing has none. The scan must be first_words_scan of every list's phrases."""
    found: dict[str, re.Match[str]] = {}
    waiting = list(lists)
    place = scan.search(text) if scan is not None else None
    while place is not None and waiting:
        start = place.start()
        for key, pattern in list(waiting):
            match = pattern.match(text, start)  # its (?<!\w) still sees the letter before the place
            if match:
                found[key] = match
                waiting.remove((key, pattern))
        place = scan.search(text, start + 1)
    return found
