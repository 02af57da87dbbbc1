"""Safeguarding screening: find the signs of abuse or neglect in a mail, by the categories the law names.

The indicators are data (rules/safeguarding.toml), grouped by category. Every part of a mail a person wrote
is screened — subject, new text, quoted and forwarded text, readable attachments — and every indicator found
is kept with its category and the exact words, so the safeguarding lead can judge in seconds. Recall comes
first: a "no" before the words, or "already reported", is noted on the finding, never used to drop it.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mailbot.classify.anchors import AnchoredPattern, FoldedText, Needles
from mailbot.classify.first_words import first_matches, first_words_scan
from mailbot.classify.mail_words import PhrasePattern
from mailbot.classify.result import Finding
from mailbot.classify.rules import normalise_wording
from mailbot.classify.safeguarding_model import UNCLEAR, SafeguardingModel, Suspicion
from mailbot.classify.safeguarding_model import load as load_backstop
from mailbot.classify.wording import phrase_pattern
from mailbot.config.reader import ConfigError, TomlReader
from mailbot.intake.attachment_text import read_attachment
from mailbot.intake.parse import ParsedMail

SCREEN_LIMIT = 200_000  # characters of each part screened: bounded work whatever a message's size
MAIL_LIMIT = 600_000  # characters of all parts together (about ten seconds): many attachments add no more
_SENTENCE_END = re.compile(r"[.!?\n]")
_TERM_NAME = re.compile(r"[a-z_]+")
_TERM_USE = re.compile(r"\{([a-z_]+)\}")  # {kin}; never {0,3}, which is a pattern's own repeat


@dataclass(frozen=True)
class Category:
    key: str
    name: str
    definition: str
    pattern: re.Pattern[str] | None  # the words and the Welsh words, as one whole-word alternation
    patterns: tuple[AnchoredPattern, ...]  # each run only where the words it needs occur (anchors.py)
    not_when: PhrasePattern | None
    # not_when with the strings its matches start with: run only on a text that holds one of them.
    not_when_starts: AnchoredPattern | None = None
    words: tuple[str, ...] = ()  # the words and Welsh words the pattern is made of
    harmless: tuple[str, ...] = ()  # the not_when phrases


@dataclass(frozen=True)
class Screening:
    """The indicator file, compiled."""

    categories: tuple[Category, ...]
    negation: PhrasePattern | None
    negation_window: int
    already_reported: PhrasePattern | None
    needles: Needles  # every string the categories' patterns need, found in a text in one pass
    name_first: tuple[str, ...] = ()  # the order the alert names categories in when several are found
    backstop: SafeguardingModel | None = None  # the statistical screen for when no indicator is found
    first_words: re.Pattern[str] | None = None  # where any category's words could start (first_words.py)
    any_harmless: PhrasePattern | None = None  # every category's not_when phrases: most mail has none


@dataclass(frozen=True)
class TextPart:
    where: str  # "subject", "text", "forwarded", "attachment <name>"
    text: str


def load_screening(path: Path, backstop: Path | None = None) -> Screening:
    """Read and check the indicator file; a mistake names the file, the key and what would be accepted.
    With ``backstop``, the statistical screen's model file (classify/safeguarding_model.py) is loaded too."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(path, "(file)", "no such file; the safeguarding indicators are needed") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "(syntax)", str(exc)) from None
    top = TomlReader(path, data, "")
    screening = _screening_settings(top.sub("screening"))
    terms = _terms(top.sub("terms"))
    tables = top.get("category", list, ..., "one or more [[category]] tables")
    categories = tuple(
        _category(TomlReader(path, table, f"category[{i}]"), terms) for i, table in enumerate(tables)
    )
    order = _name_first(top.sub("screening"), categories)
    top.finish()
    _check_unique(top, categories)
    needles = Needles(p for c in categories for p in (*c.patterns, c.not_when_starts) if p)
    model = load_backstop(backstop) if backstop else None
    scan = first_words_scan(w for c in categories for w in c.words)
    harmless = phrase_pattern([h for c in categories for h in c.harmless], case_sensitive=False)
    return Screening(categories, *screening, needles, order, model, scan, harmless)


def _screening_settings(reader: TomlReader) -> tuple[PhrasePattern | None, int, PhrasePattern | None]:
    negations = _strings(reader, "negations")
    window = reader.positive("negation_window_words", 4)
    reported = _strings(reader, "already_reported")
    _strings(reader, "name_first")  # read by _name_first once the categories are known
    reader.finish()
    return phrase_pattern(negations, False), window, phrase_pattern(reported, False)


def _name_first(reader: TomlReader, categories: Sequence[Category]) -> tuple[str, ...]:
    """The categories in the order the alert names them; those the list leaves out follow in file order."""
    keys = [c.key for c in categories]
    listed = _strings(reader, "name_first")
    for index, key in enumerate(listed):
        if key not in keys:
            raise reader.error(f"name_first[{index}]", f"{key!r} is not a category key ({', '.join(keys)})")
    return tuple(dict.fromkeys([*listed, *keys]))


def _terms(reader: TomlReader) -> dict[str, str]:
    """Named lists a pattern can use as {name}: "{kin}" for any of the words for a family member."""
    names = [name for name in reader.table if _TERM_NAME.fullmatch(name)]
    terms = {name: "(?:" + "|".join(_strings(reader, name)) + ")" for name in names}
    reader.finish()
    return terms


def _category(reader: TomlReader, terms: Mapping[str, str]) -> Category:
    key = reader.text("key")
    words = [
        *_strings(reader, "words"),
        *(form for w in _strings(reader, "welsh") for form in welsh_forms(w)),
    ]
    patterns = _patterns(reader, "patterns", terms)
    not_when = _strings(reader, "not_when")
    category = Category(
        key=key,
        name=reader.text("name"),
        definition=reader.get("definition", str, "", "a sentence or two on the category"),
        pattern=words_pattern(words),
        patterns=patterns,
        not_when=phrase_pattern(not_when, case_sensitive=False),
        words=tuple(words),
        harmless=tuple(not_when),
        not_when_starts=_anchored(phrase_pattern(not_when, case_sensitive=False), not_when),
    )
    reader.finish()
    if category.pattern is None and not patterns:
        raise reader.error("words", "a category needs at least one word or pattern")
    return category


def words_pattern(phrases: Sequence[str]) -> re.Pattern[str] | None:
    """Like wording.phrase_pattern (whole words, a trailing * for any ending, longest first, apostrophes and
    hyphens optional), with the alternatives grouped by their first letter: a mail is screened against a
    thousand or more indicators, and grouping lets each position try only those that could start there."""
    groups: dict[str, list[str]] = {}
    for phrase in phrases:
        words = normalise_wording(phrase).split()
        if words:
            rest = "".join([_word_regex(words[0][1:]), *(r"\s+" + _word_regex(w) for w in words[1:])])
            groups.setdefault(words[0][0].lower(), []).append(rest)
    if not groups:
        return None
    branches = (
        re.escape(first) + "(?:" + "|".join(sorted(set(rests), key=len, reverse=True)) + ")"
        for first, rests in groups.items()
    )
    return re.compile(r"(?<!\w)(?:" + "|".join(branches) + r")(?!\w)", re.IGNORECASE)


def _first_letters(phrase: str) -> str:
    """The letters every match of a wording.phrase_pattern phrase starts with, folded: its first word up to a
    trailing *. Empty where that word is not plain ASCII: other letters fold as the engine decides."""
    words = normalise_wording(phrase).split()
    if not words or not words[0].isascii():
        return ""
    return words[0].lower().split("*")[0]


def _anchored(pattern: PhrasePattern | None, phrases: list[str]) -> AnchoredPattern | None:
    """The phrase pattern with the strings its matches start with; None where a phrase gives no string."""
    starts = [_first_letters(p) for p in phrases]
    if pattern is None or not starts or "" in starts:
        return None
    return AnchoredPattern.starting_with(pattern, frozenset(starts))


def _word_regex(word: str) -> str:
    """One word of an indicator. People drop apostrophes and hyphens ("wont", "shes", "daughter in law"),
    so an indicator written with them matches without them too."""
    regex = re.escape(word[:-1]) + r"\w*" if word.endswith("*") else re.escape(word)
    return regex.replace("'", "'?").replace(r"\-", r"[-\s]?")


# Welsh changes a word's first letter after certain words ("cam-drin" is "ei gam-drin", "fy ngham-drin",
# "ei cham-drin"): the soft, nasal and aspirate mutations. Longest first, so "ll" is not read as "l".
_MUTATIONS = (
    ("ll", ("l",)), ("rh", ("r",)), ("c", ("g", "ngh", "ch")), ("p", ("b", "mh", "ph")),
    ("t", ("d", "nh", "th")), ("g", ("", "ng")), ("b", ("f", "m")), ("d", ("dd", "n")), ("m", ("f",)),
)  # fmt: skip
_UNMUTATED = ("ch", "ph", "th", "dd", "ff", "ng")  # these letters never start a mutation


def welsh_forms(phrase: str) -> list[str]:
    """A Welsh indicator as written and with its first word mutated, so a list need name only one form."""
    lowered = phrase.strip().lower()
    if lowered and lowered[0] in "aeiouwy":
        return [phrase, "h" + lowered]  # "ei hofn": h before a vowel after "her"
    if lowered.startswith(_UNMUTATED):
        return [phrase]
    for start, replacements in _MUTATIONS:
        if lowered.startswith(start):
            return [phrase, *(r + lowered[len(start) :] for r in replacements if len(lowered) > len(start))]
    return [phrase]


def _strings(reader: TomlReader, name: str) -> list[str]:
    values = reader.get(name, list, [], "a list of words or phrases in quotes")
    for index, value in enumerate(values):
        if not isinstance(value, str) or not value.strip():
            raise reader.error(f"{name}[{index}]", f"expected a word or phrase in quotes, got {value!r}")
    return values


def _patterns(reader: TomlReader, name: str, terms: Mapping[str, str]) -> tuple[AnchoredPattern, ...]:
    compiled = []
    for index, value in enumerate(_strings(reader, name)):
        unknown = [t for t in _TERM_USE.findall(value) if t not in terms]
        if unknown:
            accepted = ", ".join(sorted(terms)) or "none are defined"
            raise reader.error(f"{name}[{index}]", f"{{{unknown[0]}}} is not one of the [terms] ({accepted})")
        expanded = _TERM_USE.sub(lambda m: terms[m.group(1)], value)
        try:
            compiled.append(AnchoredPattern.of(re.compile(expanded, re.IGNORECASE)))
        except re.error as exc:
            raise reader.error(f"{name}[{index}]", f"not a valid pattern ({exc})") from None
    return tuple(compiled)


def _check_unique(top: TomlReader, categories: Sequence[Category]) -> None:
    seen: set[str] = set()
    for index, category in enumerate(categories):
        if category.key in seen:
            raise top.error(f"category[{index}].key", f"{category.key!r} is used by an earlier category")
        seen.add(category.key)


def screen(screening: Screening, parts: Iterable[TextPart], backstop: bool = True) -> tuple[Finding, ...]:
    """Every indicator in every part, at most one finding per category and part (the first words found).
    When none is found, the backstop (if loaded and ``backstop``) may still raise one finding of its own."""
    parts = list(parts)
    findings: list[Finding] = []
    budget = MAIL_LIMIT
    for part in parts:
        text = normalise_wording(part.text[: min(SCREEN_LIMIT, budget)])
        budget -= len(text)
        folded = FoldedText(text, screening.needles)
        lists = [(c.key, c.pattern) for c in screening.categories if c.pattern is not None]
        words = first_matches(screening.first_words, lists, text)
        # One search for every category's not_when phrases: where none occurs, no category blanks any.
        harmless = screening.any_harmless is not None and screening.any_harmless.search(text) is not None
        for category in screening.categories:
            found = _first_match(category, text, folded, words.get(category.key), harmless)
            if found is not None:
                findings.append(_finding(screening, category, part, text, found))
    if not findings and backstop and screening.backstop is not None:
        return _backstop_finding(screening, screening.backstop, parts)
    rank = {key: index for index, key in enumerate(screening.name_first)}
    return tuple(sorted(findings, key=lambda f: rank.get(f.category, len(rank))))  # stable: parts in order


def _backstop_finding(
    screening: Screening, model: SafeguardingModel, parts: list[TextPart]
) -> tuple[Finding, ...]:
    """The statistical screen over the same text, flagged only over its threshold; the finding says so."""
    found: Suspicion | None = model.most_suspicious((p.where, normalise_wording(p.text)) for p in parts)
    if found is None or found.probability < model.threshold:
        return ()
    names = {**{c.key: c.name for c in screening.categories}, UNCLEAR: "Type not clear: read it"}
    return (
        Finding(
            category=found.category,
            category_name=names.get(found.category, found.category),
            words=", ".join(f"“{w}”" for w in found.words),
            where=found.where,
            statistical=round(found.probability, 2),
        ),
    )


def _first_match(
    category: Category, text: str, folded: FoldedText, words: re.Match[str] | None, harmless: bool
) -> re.Match[str] | None:
    """The first indicator of the category; ``words`` is its word list's first match in the text, ``harmless``
    whether any category's not_when phrase occurs in it."""
    if (
        harmless
        and category.not_when is not None
        and (category.not_when_starts is None or category.not_when_starts.may_match(folded))
    ):
        blanks: list[tuple[int, int]] = []
        text = category.not_when.sub(lambda m: _blank(m, blanks), text)
        if blanks:
            folded = folded.blanked(text, blanks)
            words = category.pattern.search(text) if category.pattern else None  # on the blanked text
    matches = [m for m in (words,
                           *(p.search(text, folded) for p in category.patterns
                             if id(p) in folded.may_match)) if m]  # fmt: skip
    return min(matches, key=lambda m: m.start()) if matches else None


def _blank(found: re.Match[str], blanks: list[tuple[int, int]]) -> str:
    blanks.append(found.span())
    return " " * len(found.group())  # the same length: offsets still point at the words for the excerpt


def _finding(
    screening: Screening, category: Category, part: TextPart, text: str, found: re.Match[str]
) -> Finding:
    return Finding(
        category=category.key,
        category_name=category.name,
        words=" ".join(found.group().split())[:120],
        where=part.where,
        negated=_negated(screening, text, found.start()),
        already_reported=bool(screening.already_reported and screening.already_reported.search(text)),
    )


def _negated(screening: Screening, text: str, start: int) -> bool:
    if screening.negation is None:
        return False
    before = _SENTENCE_END.split(text[max(0, start - 200) : start])[-1]
    window = " ".join(before.split()[-screening.negation_window :])
    return bool(screening.negation.search(window))


def parts_of(mail: ParsedMail) -> list[TextPart]:
    """What a person wrote in this mail: the subject, the text with what it quotes, forwarded mail, and the
    attachments whose text can be read (intake/attachment_text.py; one that cannot is noted in the log)."""
    parts = [TextPart("subject", mail.subject), TextPart("text", mail.text)]
    parts += [TextPart("forwarded mail", f"{m.subject}\n{m.text}") for m in mail.forwarded]
    read = (read_attachment(a) for a in mail.attachments)
    parts += [TextPart(f"attachment {r.name}", r.text) for r in read if r is not None and r.text.strip()]
    return parts


_TITLED = re.compile(r"\b(?:Mrs|Mr|Ms|Miss|Mx|Dr)\.?\s+[A-Z][a-z'-]+(?:\s+[A-Z][a-z'-]+)?")
_KIN = (
    r"mum|mam|mother|dad|father|husband|wife|partner|son|daughter|brother|sister|aunt|auntie|uncle|gran|"
    r"granny|nan|nana|nanna|grandma|grandad|grandpa|grandmother|grandfather|neighbour|friend|client|resident"
)
_RELATIVE = re.compile(rf"\b(?:[Mm]y|[Oo]ur)\s+(?:{_KIN})\b(?:,?\s+[A-Z][a-z'-]+(?:\s+[A-Z][a-z'-]+)?)?")


def people_named(text: str, limit: int = 3) -> tuple[str, ...]:
    """Who the mail seems to be about, as written ("my mum, Joan Price", "Mrs Edna Price"): shown to the lead
    as a pointer, never used to decide anything."""
    found = [
        m.group().strip(" ,")
        for m in (*_RELATIVE.finditer(text[:SCREEN_LIMIT]), *_TITLED.finditer(text[:SCREEN_LIMIT]))
    ]
    return tuple(dict.fromkeys(found))[:limit]


def categories_found(findings: Iterable[Finding]) -> tuple[str, ...]:
    """The categories of the findings, once each, in the order the alert names them (name_first)."""
    return tuple(dict.fromkeys(f.category for f in findings))


def as_details(findings: Sequence[Finding]) -> list[Mapping[str, Any]]:
    """The findings as plain data, for an alert's template and the case's audit trail."""
    return [
        {"category": f.category, "category_name": f.category_name, "words": f.words, "where": f.where,
         "negated": f.negated, "already_reported": f.already_reported, "summary": f.describe(),
         "statistical": f.statistical}
        for f in findings
    ]  # fmt: skip
