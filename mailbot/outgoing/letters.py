"""Letters rendered from the organisation's Jinja2 templates: a subject, a plain-text body and an HTML body,
in English, in Welsh, or in both with the Welsh first.

A letter lives in ``templates/<letter>/`` (``subject.txt``, ``body.txt``, ``body.html``). A policy or a
stage can override it with ``templates/<policy>/<letter>/`` or ``templates/<letter>-<stage>/``;
the most specific wins. Welsh letters sit in ``templates/cy/`` in the same layout, with
``templates/cy/words.toml`` giving the Welsh for phrases taken from the policies; a letter with no Welsh
template (those to staff) is written in English.

An organisation edits its templates while the bot runs: an edited, added or removed template is used from
the next letter a second or more later, without a restart (``RECHECK_SECONDS``). Until then the templates
already read are used as they are, so a busy batch does not look at the disk for every letter.
"""

from __future__ import annotations

import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from babel.dates import format_date
from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    TemplateNotFound,
    select_autoescape,
)

from mailbot import checked
from mailbot.errors import UserError

ENGLISH = "en"
WELSH = "cy"
LANGUAGES = (ENGLISH, WELSH)
# The letters that reach a complainant, who may write in Welsh; the rest go to staff. Each of these needs a
# Welsh template: missing_translations() lists the ones that have none.
COMPLAINANT_LETTERS = (
    "acknowledgement", "thank_you", "extension", "outcome", "signpost", "relay", "request_received",
    "request_extended",
)  # fmt: skip
TEMPLATE_FILES = ("subject.txt", "body.txt", "body.html")
BILINGUAL_RULE = "-" * 40
# How long the templates read (and where each letter's were found) are used without looking at the disk.
RECHECK_SECONDS = 1.0


class LetterError(UserError):
    """A letter's template is missing or fails to render; names the template."""


@dataclass(frozen=True)
class Letter:
    subject: str
    text: str
    html: str | None


def long_date(value: date | datetime | None) -> str:
    """'Thursday 26 November 2026', the form UK complaint letters use."""
    if value is None:
        return ""
    return f"{value:%A} {value.day} {value:%B %Y}"


def welsh_long_date(value: date | datetime | None) -> str:
    """'Dydd Iau 26 Tachwedd 2026': Babel's CLDR data is a maintained source of Welsh day and month names."""
    if value is None:
        return ""
    return format_date(value, "EEEE d MMMM y", locale=WELSH)


LONG_DATES: dict[str, Callable[[date | datetime | None], str]] = {ENGLISH: long_date, WELSH: welsh_long_date}


@dataclass(frozen=True)
class _Found:
    """Where one letter's templates were found, for one language: its folder, and whether it has HTML."""

    folder: str
    html: bool


class Letters:
    def __init__(self, directory: Path, clock: Callable[[], float] = time.monotonic) -> None:
        if not directory.is_dir():
            raise LetterError(f"{directory}: templates directory not found")
        self.directory = directory
        self.environments = {language: self._environment(language) for language in LANGUAGES}
        self._clock = clock
        self._checked_at: float | None = None
        self._found: dict[tuple[str, str | None, str | None, str], tuple[_Found, ...]] = {}

    def _environment(self, language: str) -> Environment:
        env = Environment(
            loader=FileSystemLoader(str(self.directory)),
            autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
            finalize=checked.shown,  # every value a letter shows, from whatever mail it came
            # Jinja2 would look at a template's file every time it is asked for (and for every template
            # it includes); ``_recheck`` does it for all of them at most once a second instead.
            auto_reload=False,
        )
        env.filters["longdate"] = LONG_DATES[language]
        env.filters["translate"] = _translator(self._words(language))
        return env

    def _words(self, language: str) -> dict[str, str]:
        path = self.directory / language / "words.toml"
        return read_words(path) if language != ENGLISH and path.is_file() else {}

    def candidates(
        self, letter: str, policy: str | None, stage: str | None, language: str = ENGLISH
    ) -> list[str]:
        names = [f"{letter}-{stage}", letter] if stage else [letter]
        folders = [f"{policy}/{name}" for name in names] if policy else []
        english = [*folders, *names]
        if language == ENGLISH:
            return english
        return [*(f"{language}/{folder}" for folder in english), *english]

    def folder(
        self, letter: str, policy: str | None = None, stage: str | None = None, language: str = ENGLISH
    ) -> str:
        candidates = self.candidates(letter, policy, stage, language)
        for candidate in candidates:
            if (self.directory / candidate / "body.txt").is_file():
                return candidate
        raise LetterError(
            f"{self.directory}: no template for letter {letter!r} "
            f"(looked for {', '.join(c + '/body.txt' for c in candidates)})"
        )

    def render(
        self,
        letter: str,
        context: dict[str, Any],
        policy: str | None = None,
        stage: str | None = None,
        language: str = ENGLISH,
    ) -> Letter:
        """``language`` is ``en``, ``cy``, or ``cy+en`` for one letter in Welsh and then in English."""
        found = self._where(letter, policy, stage, language)
        letters = [self._render_folder(where, context) for where in found]
        if len(letters) == 1:
            return letters[0]
        return bilingual(letters[0], letters[1], _language_of(found[1].folder))

    def _where(self, letter: str, policy: str | None, stage: str | None, language: str) -> tuple[_Found, ...]:
        """The folders the letter is written from, looked for on disk at most once a second."""
        self._recheck()
        key = (letter, policy, stage, language)
        found = self._found.get(key)
        if found is None:
            # A letter with no Welsh template falls back to the English one, which is then written once.
            folders = dict.fromkeys(self.folder(letter, policy, stage, part) for part in _languages(language))
            found = tuple(_Found(f, (self.directory / f / "body.html").is_file()) for f in folders)
            self._found[key] = found
        return found

    def _recheck(self) -> None:
        """Once a second at most: forget where letters were found (a folder may have been added or removed)
        and every template read whose file changed or went (the next letter reads it again)."""
        now = self._clock()
        if self._checked_at is not None and now - self._checked_at < RECHECK_SECONDS:
            return
        self._checked_at = now
        self._found.clear()
        for env in self.environments.values():
            cache = env.cache
            if cache is None:
                continue
            for name, template in list(cache.items()):
                if not template.is_up_to_date:
                    del cache[name]

    def missing_translations(self, language: str = WELSH) -> list[str]:
        """Template files of complainant letters (and their policy and stage overrides) that have no
        counterpart in ``language``, as paths under the templates directory."""
        missing = []
        for body in sorted(self.directory.rglob("body.txt")):
            folder = body.parent.relative_to(self.directory)
            if folder.parts[0] in LANGUAGES or folder.name.split("-", 1)[0] not in COMPLAINANT_LETTERS:
                continue
            for name in TEMPLATE_FILES:
                translated = self.directory / language / folder / name
                if (body.parent / name).is_file() and not translated.is_file():
                    missing.append(translated.relative_to(self.directory).as_posix())
        return missing

    def _render_folder(self, found: _Found, context: dict[str, Any]) -> Letter:
        folder = found.folder
        env = self.environments[_language_of(folder)]
        subject = " ".join(self._render(env, f"{folder}/subject.txt", context).split())
        text = self._render(env, f"{folder}/body.txt", context)
        html = self._render(env, f"{folder}/body.html", context) if found.html else None
        return Letter(subject, text, html)

    def _render(self, env: Environment, name: str, context: dict[str, Any]) -> str:
        try:
            return env.get_template(name).render(context)
        except TemplateNotFound:
            raise LetterError(f"{self.directory / name}: template missing") from None
        except TemplateError as exc:
            raise LetterError(f"{self.directory / name}: {type(exc).__name__}: {exc}") from exc


def read_words(path: Path) -> dict[str, str]:
    """A language's ``words.toml``: tables of phrases the policies write in English (stage labels, roles,
    signposts, kinds, decisions), each with what a letter in that language says instead."""
    try:
        tables = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise LetterError(f"{path}: {exc}") from exc
    words: dict[str, str] = {}
    for section, table in tables.items():
        if not isinstance(table, dict) or not all(isinstance(said, str) for said in table.values()):
            raise LetterError(
                f'{path}: [{section}] must be a table of phrases, each "in English" = "translated"'
            )
        words.update(table)
    return words


def _translator(words: dict[str, str]) -> Callable[[Any], Any]:
    """The ``translate`` filter: a phrase from the policies in the letter's language, or as it was written."""
    return lambda phrase: words.get(phrase, phrase) if isinstance(phrase, str) else phrase


def _language_of(folder: str) -> str:
    """A folder under a language's directory is written in that language; any other is English."""
    return next((lang for lang in LANGUAGES if folder.startswith(f"{lang}/")), ENGLISH)


def _languages(language: str) -> list[str]:
    parts = language.split("+")
    if any(part not in LANGUAGES for part in parts) or len(set(parts)) != len(parts):
        raise LetterError(
            f"unknown letter language {language!r} (accepted: {', '.join(LANGUAGES)}, "
            f"or two joined by '+' with the first written first, such as 'cy+en')"
        )
    return parts


def bilingual(first: Letter, second: Letter, second_language: str) -> Letter:
    """One letter in two languages, the first above: subject 'first / second', and one body of each kind.
    Without an HTML body in both, the letter goes as text only, so that no reader sees one language alone."""
    subject = f"{first.subject} / {second.subject}"
    text = f"{first.text.rstrip()}\n\n{BILINGUAL_RULE}\n\n{second.text}"
    html = _append_body(first.html, second.html, second_language) if first.html and second.html else None
    return Letter(subject, text, html)


def _append_body(document: str, other: str, language: str) -> str:
    """``other``'s body placed inside ``document``'s, after a rule, marked with its own language."""
    lowered = other.lower()
    opening = lowered.find("<body")
    start = lowered.find(">", opening) + 1 if opening != -1 else 0
    end = lowered.rfind("</body>")
    inner = other[start : end if end != -1 else len(other)]
    closing = document.lower().rfind("</body>")
    closing = closing if closing != -1 else len(document)
    return f'{document[:closing]}<hr>\n<div lang="{language}">\n{inner}</div>\n{document[closing:]}'
