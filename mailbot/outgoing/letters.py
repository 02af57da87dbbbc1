"""Letters rendered from the organisation's Jinja2 templates: a subject, a plain-text body and an HTML body.

A letter lives in ``templates/<letter>/`` (``subject.txt``, ``body.txt``, ``body.html``). A policy or a
stage can override it with ``templates/<policy>/<letter>/`` or ``templates/<letter>-<stage>/``;
the most specific wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    TemplateNotFound,
    select_autoescape,
)

from mailbot.errors import UserError


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


class Letters:
    def __init__(self, directory: Path) -> None:
        if not directory.is_dir():
            raise LetterError(f"{directory}: templates directory not found")
        self.directory = directory
        self.env = Environment(
            loader=FileSystemLoader(str(directory)),
            autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["longdate"] = long_date

    def candidates(self, letter: str, policy: str | None, stage: str | None) -> list[str]:
        names = [f"{letter}-{stage}", letter] if stage else [letter]
        folders = [f"{policy}/{name}" for name in names] if policy else []
        return [*folders, *names]

    def folder(self, letter: str, policy: str | None = None, stage: str | None = None) -> str:
        for candidate in self.candidates(letter, policy, stage):
            if (self.directory / candidate / "body.txt").is_file():
                return candidate
        raise LetterError(
            f"{self.directory}: no template for letter {letter!r} "
            f"(looked for {', '.join(c + '/body.txt' for c in self.candidates(letter, policy, stage))})"
        )

    def render(
        self, letter: str, context: dict[str, Any], policy: str | None = None, stage: str | None = None
    ) -> Letter:
        folder = self.folder(letter, policy, stage)
        subject = " ".join(self._render(f"{folder}/subject.txt", context).split())
        text = self._render(f"{folder}/body.txt", context)
        html = (
            self._render(f"{folder}/body.html", context)
            if (self.directory / folder / "body.html").is_file()
            else None
        )
        return Letter(subject, text, html)

    def _render(self, name: str, context: dict[str, Any]) -> str:
        try:
            return self.env.get_template(name).render(context)
        except TemplateNotFound:
            raise LetterError(f"{self.directory / name}: template missing") from None
        except TemplateError as exc:
            raise LetterError(f"{self.directory / name}: {type(exc).__name__}: {exc}") from exc
