"""Marks that mass senders leave on a mail when it carries no list headers: a sending platform's own header
fields, an unsubscribe or "view in browser" footer, a tracking image or tracking link, a robot's sender
address, a newsletter's table layout, a report's rows of "label: value". One mark proves little (a person's
contact form may go out through a sending platform; a person may quote a footer or write from a no-reply
address), so the rule counts distinct marks and hits at ``min_marks``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from mailbot.classify.rules import MailContext, Param, Rule, any_search, compile_patterns, register
from mailbot.classify.wording import phrase_pattern
from mailbot.intake.parse import ParsedMail
from mailbot.intake.quotes import new_text

# An <img> one pixel wide or high, or hidden: how a sender learns that a mail was opened.
_IMG = re.compile(r"<img\b[^>]{0,600}>", re.IGNORECASE)
_TINY = re.compile(r"""\b(?:width|height)\s*=\s*["']?\s*[01]\s*(?:px)?["'\s/>]|display\s*:\s*none""", re.I)
_URL = re.compile(r"""https?://[^\s"'<>]{1,500}""", re.IGNORECASE)
# Fixed-width tables: how newsletter builders lay out a mail, never how a person's mail client does.
_LAYOUT = re.compile(
    r"""<table\b[^>]{0,600}(?:\bwidth\s*=\s*["']?[4-9]\d\d\b|role\s*=\s*["']presentation|bgcolor)|<center\b""",
    re.IGNORECASE,
)
# A report's row: a short label, then a colon or equals sign and its value ("Duration: 0:42", "- severity =
# warning"). The header lines of a forwarded mail are a person's, not a report's.
_ROW = re.compile(r"^\s*[-*]?\s*([A-Za-z][\w /()#.-]{0,30}?)\s*[:=]\s*\S", re.MULTILINE)
_FORWARD_KEYS = frozenset({"from", "sent", "to", "cc", "subject", "date", "reply-to", "bcc", "http", "https"})
_FIRST_PERSON = re.compile(r"\bI(?:'m|'ve|'d)?\b|(?i:\b(?:my|me|we|we've|we'd|our|mum|dad)\b)")
_SPEAKS_AS_I = re.compile(r"\bI(?:'m|'ve|'d)?\b|(?i:\b(?:my|me)\b)")
# Marks no person's own mail client leaves; words can be quoted or typed by anyone.
STRUCTURAL = frozenset({"sending platform header", "tracking image", "tracking link", "newsletter layout"})
REPORT_SHARE = 0.4  # of a mail's non-blank lines that must be rows
HTML_LIMIT = 300_000  # characters of HTML searched: bounded work whatever a message's size
TEXT_LIMIT = 20_000


@register
class MassMailMarksRule(Rule):
    """At least ``min_marks`` distinct marks of mass mail: each listed header present counts once together,
    each footer phrase found counts once; a tracking image, a tracking link, a robot's sender address, a
    newsletter layout and a report's rows count once each."""

    type_name = "mass_mail_marks"
    parameters: Mapping[str, Param] = {
        "headers": Param(list, help="header fields sending platforms add (any counts as one mark)"),
        "header_values": Param(list, help='"Field: regex" pairs, e.g. "X-Mailer: (?i)mailchimp"'),
        "footers": Param(list, help="phrases of unsubscribe and notification footers; each found is a mark"),
        "tracking_images": Param(bool, help="a 1-pixel or hidden image in the HTML is a mark (default true)"),
        "links": Param(list, help="regular expressions for tracking links (any found is one mark)"),
        "senders": Param(list, help="regular expressions for robots' sender addresses"),
        "no_reply_phrases": Param(list, help="phrases: replies go unread (one mark with a robot's address)"),
        "layout": Param(bool, help="an HTML mail laid out in fixed-width tables is a mark (default false)"),
        "report_rows": Param(int, help='rows of "label: value" that make a report a mark (default: off)'),
        "min_marks": Param(int, help="how many distinct marks make mass mail (default 2)"),
    }

    def configure(self, params: Mapping[str, Any]) -> None:
        self.headers = tuple(name.lower() for name in params.get("headers", ()))
        self.header_values = tuple(_header_value(pair) for pair in params.get("header_values", ()))
        self.footers = [p for p in (phrase_pattern([f], False) for f in params.get("footers", ())) if p]
        # All the footer phrases in one pattern: one pass over a mail says whether any of them is there
        # (most mail holds none), before each is looked for on its own (see _merged).
        self.any_footer = phrase_pattern(params.get("footers", ()), False)
        self.tracking_images = bool(params.get("tracking_images", True))
        self.links = compile_patterns(params.get("links", ()))
        self.senders = compile_patterns(params.get("senders", ()))
        self.no_reply = phrase_pattern(params.get("no_reply_phrases", ()), case_sensitive=False)
        self.layout = bool(params.get("layout", False))
        self.report_rows = int(params.get("report_rows", 0))
        self.min_marks = int(params.get("min_marks", 2))

    def check(self, mail: ParsedMail, context: MailContext) -> bool:
        marks = self.marks(mail, context)
        if len(marks) < self.min_marks:
            return False
        # Someone writing as "I" with only words and a no-reply address against them is a person (a relative
        # on an anonymous relay who asks to "opt out" of something); mass mail that speaks as "I" still
        # carries a platform's fields or tracking.
        return (
            self.min_marks < 2
            or bool(STRUCTURAL & set(marks))
            or not _SPEAKS_AS_I.search(_text(mail, context))
        )

    def marks(self, mail: ParsedMail, context: MailContext) -> list[str]:
        found = []
        if any(mail.header(name) is not None for name in self.headers) or any(
            pattern.search(value) for name, pattern in self.header_values for value in mail.header_all(name)
        ):
            found.append("sending platform header")
        text = _text(mail, context)
        if self.any_footer is not None and self.any_footer.search(text):
            found += [f"footer: {text[start:end]}" for start, end in _merged(self.footers, text)]
        checks = {
            "tracking image": self.tracking_images and has_tracking_image(context.html),
            "tracking link": bool(self.links) and self._tracking_link(text, context.html),
            # A no-reply address and "do not reply" say one thing twice; a person may say both.
            "no replies read": _robot_sender(mail, self.senders)
            or (self.no_reply is not None and bool(self.no_reply.search(text))),
            "newsletter layout": self.layout and bool(_LAYOUT.search(context.html[:HTML_LIMIT])),
            "report rows": self.report_rows > 0 and is_a_report(text, self.report_rows),
        }
        return found + [mark for mark, hit in checks.items() if hit]

    def _tracking_link(self, text: str, html: str) -> bool:
        return any(any_search(self.links, url) for url in _links(f"{text}\n{html[:HTML_LIMIT]}"))


def _links(read: str) -> tuple[str, ...]:
    """Every link in what a mail says and in its HTML: the same for each mass_mail_marks rule, so found once
    a mail (the last mail's, held with what was read: bounded by TEXT_LIMIT and HTML_LIMIT)."""
    global _last_links
    if _last_links[0] == read:
        return _last_links[1]
    found = tuple(url.group() for url in _URL.finditer(read))
    _last_links = (read, found)
    return found


_last_links: tuple[str, tuple[str, ...]] = ("", ())


def _text(mail: ParsedMail, context: MailContext) -> str:
    """Only what this mail says itself: a person's reply may quote a newsletter's footer."""
    return (new_text(mail) if mail.text.strip() else _visible(context.html))[:TEXT_LIMIT]


def _merged(patterns: list[re.Pattern[str]], text: str) -> list[tuple[int, int]]:
    """Where footer phrases were found, overlapping finds merged: "you are receiving this email because"
    is one footer, however many listed phrases it contains."""
    spans = sorted(m.span() for p in patterns for m in p.finditer(text))
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def has_tracking_image(html: str) -> bool:
    return any(_TINY.search(tag.group()) for tag in _IMG.finditer(html[:HTML_LIMIT]))


def is_a_report(text: str, rows: int) -> bool:
    """Rows of "label: value" and nobody speaking in the first person: a web form's fields carry a person's
    own words ("I wanted to thank..."), a monitor's or a scanner's never do."""
    found = sum(m.group(1).strip().lower() not in _FORWARD_KEYS for m in _ROW.finditer(text))
    lines = sum(bool(line.strip()) for line in text.splitlines())
    # Mostly rows: a catalogue with a phone number or two in its footer is not a report.
    return found >= rows and found >= REPORT_SHARE * lines and not _FIRST_PERSON.search(text)


def _robot_sender(mail: ParsedMail, patterns: tuple[re.Pattern[str], ...]) -> bool:
    return bool(patterns) and mail.sender is not None and any_search(patterns, mail.sender.email.lower())


def _visible(html: str) -> str:
    return re.sub(r"<[^>]{0,2000}>", " ", html[:HTML_LIMIT]) if html else ""


def _header_value(pair: str) -> tuple[str, re.Pattern[str]]:
    name, sep, pattern = pair.partition(":")
    if not sep or not name.strip():
        raise ValueError(f"header_values entry {pair!r} must be 'Field: regex'")
    return name.strip().lower(), compile_patterns([pattern.strip()])[0]
