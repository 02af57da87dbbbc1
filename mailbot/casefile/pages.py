"""Documents for people outside the mailbot, the case file and the subject access index, rendered from
templates/casefile/ and templates/privacy/: the organisation's copy when it has one, else the shipped one.

The pages are self-contained and inert: autoescaped, every picture and file inline as a data: URI, and a
Content-Security-Policy that lets nothing run and nothing be fetched, whatever a complainant's mail held.
"""

from __future__ import annotations

import base64
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, TemplateError

from mailbot import checked
from mailbot.config.settings import SHIPPED_TEMPLATES
from mailbot.errors import UserError

# Files larger than this are listed with their hash but not embedded in the HTML case file.
EMBED_LIMIT = 20 * 1024 * 1024
NONE = "\u2013"  # an en dash, for a date not set


class DocumentError(UserError):
    """A document template is missing or fails to render; names it."""


def environment(templates_dir: Path) -> Environment:
    loader = ChoiceLoader([FileSystemLoader(str(templates_dir)), FileSystemLoader(str(SHIPPED_TEMPLATES))])
    # checked.shown: the characters that reorder what is read ("Tom\u202e reganaM" read as "Tom Manager") are
    # taken out of every value shown, as in letters and notices.
    env = Environment(loader=loader, autoescape=True, undefined=StrictUndefined, trim_blocks=True,
                      lstrip_blocks=True, finalize=checked.shown)  # fmt: skip
    env.filters.update(datauri=data_uri, size=file_size, day=day, moment=moment)
    env.globals["EMBED_LIMIT"] = EMBED_LIMIT
    return env


def render(templates_dir: Path, name: str, context: dict[str, Any]) -> str:
    try:
        return environment(templates_dir).get_template(name).render(context)
    except TemplateError as exc:
        raise DocumentError(f"{templates_dir / name}: {type(exc).__name__}: {exc}") from exc


def data_uri(data: bytes, content_type: str = "application/octet-stream") -> str:
    return f"data:{content_type};base64,{base64.b64encode(data).decode('ascii')}"


def file_size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def day(value: date | datetime | None) -> str:
    """'Tue 24 Nov 2026', or a dash."""
    return f"{value:%a} {value.day} {value:%b %Y}" if value else NONE


def moment(value: datetime | None, zone: str | None = None) -> str:
    """'Tue 24 Nov 2026 14:05', in ``zone`` when given (the organisation's time)."""
    if value is None:
        return NONE
    local = value.astimezone(ZoneInfo(zone)) if zone else value
    return f"{day(local)} {local:%H:%M}"
