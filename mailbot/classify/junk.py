"""Marks of unsolicited junk on mail that no server of ours called spam: written in neither of our languages,
answers asked for at another domain, an HTML mail whose text part says nothing, a link to the sender's own
web site in a short mail, and the stock phrases of scams and link sellers. One mark proves nothing (a person
may write in Polish, reply from another address, or sign with their web site), so the rule counts distinct
marks and hits at ``min_marks``; what it holds is quarantined, never deleted, and a person can release it."""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from typing import Any

from mailbot.checked import same_mailbox
from mailbot.classify.rules import MailContext, Param, Rule, register
from mailbot.classify.wording import phrase_pattern
from mailbot.intake.parse import ParsedMail

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_LINK = re.compile(r"\b(?:https?://|www\.)([A-Za-z0-9.-]+)", re.IGNORECASE)
TEXT_LIMIT = 20_000  # characters read: bounded work whatever a message's size
SHORT_WORDS = 400  # a link to the sender's own site counts only in a mail shorter than this


@register
class JunkMarksRule(Rule):
    """At least ``min_marks`` distinct marks of junk (see the module's docstring)."""

    type_name = "junk_marks"
    parameters: Mapping[str, Param] = {
        "our_words": Param(list, required=True, help="common short words of the languages we are written in"),
        "min_share": Param(float, help="share of words that must be ours for a mail in our languages (0.15)"),
        "min_words": Param(int, help="words a mail needs before its language is judged (default 12)"),
        "phrases": Param(list, help="stock phrases of scams and link sellers; any found is one mark"),
        "min_marks": Param(int, help="how many distinct marks make junk (default 2)"),
    }

    def configure(self, params: Mapping[str, Any]) -> None:
        self.our_words = frozenset(word.casefold() for word in params["our_words"])
        self.min_share = float(params.get("min_share", 0.15))
        self.min_words = int(params.get("min_words", 12))
        self.phrases = phrase_pattern(params.get("phrases", ()), case_sensitive=False)
        self.min_marks = int(params.get("min_marks", 2))

    def check(self, mail: ParsedMail, context: MailContext) -> bool:
        # A person who released the mail from quarantine has judged it already.
        return context.judge_junk and len(self.marks(mail, context)) >= self.min_marks

    def marks(self, mail: ParsedMail, context: MailContext) -> list[str]:
        text = f"{context.subject}\n{context.body}"[:TEXT_LIMIT]
        words = words_in(text)
        checks = {
            "not in our languages": self._foreign(words),
            "replies asked for at another domain": _reply_elsewhere(mail),
            "HTML with an empty text part": bool(context.html.strip()) and _fewer_words(mail.text, 5),
            "a link to its own web site": len(words) < SHORT_WORDS and _links_home(mail, text),
            "stock junk phrases": self.phrases is not None and bool(self.phrases.search(text)),
        }
        return [mark for mark, found in checks.items() if found]

    def _foreign(self, words: list[str]) -> bool:
        if len(words) < self.min_words:
            return False
        ours = sum(map(self.our_words.__contains__, map(str.casefold, words)))
        return ours < self.min_share * len(words)


def words_in(text: str) -> list[str]:
    """``_WORD.findall(text)``. In ASCII a word is a run of letters, or two joined by an apostrophe: every
    other character made a space, ``split`` gives the runs, and only a run with an apostrophe in it is
    cut by the pattern (three times faster on the benchmark's mails)."""
    if not text.isascii():
        return _WORD.findall(text)
    words: list[str] = []
    for run in text.translate(_NOT_LETTER_OR_APOSTROPHE).split():
        if "'" in run:
            words += _WORD.findall(run)
        else:
            words.append(run)
    return words


_NOT_LETTER_OR_APOSTROPHE = {
    code: " " for code in range(128) if not (chr(code).isalpha() or chr(code) == "'")
}


def _fewer_words(text: str, count: int) -> bool:
    """Fewer than ``count`` words, known without reading past the count-th (a text part may be long)."""
    return sum(1 for _ in itertools.islice(_WORD.finditer(text), count)) < count


def _domain(address: str) -> str:
    return same_mailbox(address).rpartition("@")[2]


def _reply_elsewhere(mail: ParsedMail) -> bool:
    if mail.sender is None:
        return False
    home = _domain(mail.sender.email)
    return any(_domain(a.email) != home for a in mail.reply_to if a.email)


def _links_home(mail: ParsedMail, text: str) -> bool:
    """A link to the sender's own domain: how a seller brings you to their shop (a person's signature may
    carry one too, hence only one mark)."""
    if mail.sender is None:
        return False
    home = _domain(mail.sender.email)
    hosts = (m.group(1).lower().rstrip(".") for m in _LINK.finditer(text))
    return bool(home) and any(host == home or host.endswith("." + home) for host in hosts)
