"""Marks that mass senders leave on a mail when it carries no list headers: a sending platform's own header
fields, an unsubscribe or "view in browser" footer, a tracking image. One mark proves little (a person's
contact form may go out through a sending platform; a person may quote a footer), so the rule counts
distinct marks and hits at ``min_marks``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from mailbot.classify.rules import MailContext, Param, Rule, compile_patterns, register
from mailbot.classify.wording import phrase_pattern
from mailbot.intake.parse import ParsedMail
from mailbot.intake.quotes import new_text

# An <img> one pixel wide or high, or hidden: how a sender learns that a mail was opened.
_IMG = re.compile(r"<img\b[^>]{0,600}>", re.IGNORECASE)
_TINY = re.compile(r"""\b(?:width|height)\s*=\s*["']?\s*[01]\s*(?:px)?["'\s/>]|display\s*:\s*none""", re.I)
HTML_LIMIT = 300_000  # characters of HTML searched: bounded work whatever a message's size


@register
class MassMailMarksRule(Rule):
    """At least ``min_marks`` distinct marks of mass mail: each listed header present counts once together,
    each footer phrase found counts once, a tracking image counts once."""

    type_name = "mass_mail_marks"
    parameters: Mapping[str, Param] = {
        "headers": Param(list, help="header fields sending platforms add (any counts as one mark)"),
        "header_values": Param(list, help='"Field: regex" pairs, e.g. "X-Mailer: (?i)mailchimp"'),
        "footers": Param(list, help="phrases of unsubscribe and notification footers; each found is a mark"),
        "tracking_images": Param(bool, help="a 1-pixel or hidden image in the HTML is a mark (default true)"),
        "min_marks": Param(int, help="how many distinct marks make mass mail (default 2)"),
    }

    def configure(self, params: Mapping[str, Any]) -> None:
        self.headers = tuple(name.lower() for name in params.get("headers", ()))
        self.header_values = tuple(_header_value(pair) for pair in params.get("header_values", ()))
        self.footers = [p for p in (phrase_pattern([f], False) for f in params.get("footers", ())) if p]
        self.tracking_images = bool(params.get("tracking_images", True))
        self.min_marks = int(params.get("min_marks", 2))

    def check(self, mail: ParsedMail, context: MailContext) -> bool:
        return len(self.marks(mail, context)) >= self.min_marks

    def marks(self, mail: ParsedMail, context: MailContext) -> list[str]:
        found = []
        if any(mail.header(name) is not None for name in self.headers) or any(
            pattern.search(value) for name, pattern in self.header_values for value in mail.header_all(name)
        ):
            found.append("sending platform header")
        # Only what this mail says itself: a person's reply may quote a newsletter's footer.
        text = new_text(mail) if mail.text.strip() else _visible(context.html)
        found += [f"footer {p.pattern[:40]}" for p in self.footers if p.search(text)]
        if self.tracking_images and has_tracking_image(context.html):
            found.append("tracking image")
        return found


def has_tracking_image(html: str) -> bool:
    return any(_TINY.search(tag.group()) for tag in _IMG.finditer(html[:HTML_LIMIT]))


def _visible(html: str) -> str:
    return re.sub(r"<[^>]{0,2000}>", " ", html[:HTML_LIMIT]) if html else ""


def _header_value(pair: str) -> tuple[str, re.Pattern[str]]:
    name, sep, pattern = pair.partition(":")
    if not sep or not name.strip():
        raise ValueError(f"header_values entry {pair!r} must be 'Field: regex'")
    return name.strip().lower(), compile_patterns([pattern.strip()])[0]
