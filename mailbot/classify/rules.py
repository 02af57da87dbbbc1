"""The rule base class, its parameter declarations, and the registry of types that classify.toml names."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from mailbot.classify.anchors import needed_strings
from mailbot.classify.mail_words import NeedingPattern
from mailbot.classify.mail_words import normalise_wording as normalise_wording  # where rules have read it
from mailbot.classify.result import ThreadMatch
from mailbot.intake.parse import ParsedMail

RULE_TYPES: dict[str, type[Rule]] = {}


@dataclass(frozen=True)
class MailContext:
    """What rules may read besides the mail itself, worked out once per mail."""

    thread: ThreadMatch | None
    own_addresses: frozenset[str]
    subject: str
    body: str  # the new words of a reply; for new mail the whole text and any mail forwarded with it
    spam_verdicts: tuple[Any, ...] = ()  # spam.SpamVerdict: what our trusted servers (and rspamd) said
    html: str = ""  # the HTML part, for marks only HTML carries (tracking images)
    judge_junk: bool = True  # False once a person released the mail from quarantine


@dataclass(frozen=True)
class Param:
    """One key a rule type accepts in classify.toml."""

    kind: type
    required: bool = False
    help: str = ""

    def describe(self) -> str:
        shape = "list of strings" if self.kind is list else self.kind.__name__
        return f"{shape}{', required' if self.required else ''}"


class Rule:
    """A named test on one mail. Subclasses declare `type_name` and `parameters` and implement `check`."""

    type_name: ClassVar[str]
    parameters: ClassVar[Mapping[str, Param]] = {}

    def __init__(self, name: str, description: str, params: Mapping[str, Any]) -> None:
        self.name = name
        self.description = description
        self.configure(params)

    def configure(self, params: Mapping[str, Any]) -> None:
        """Read and compile the parameters; raise ValueError with a message a coordinator can act on."""

    def check(self, mail: ParsedMail, context: MailContext) -> bool:
        raise NotImplementedError

    def may_read_on(self, mail: ParsedMail, context: MailContext) -> bool:
        """Whether a step marked ``new_mail_read_on`` lets later rules read this mail first (chain.py)."""
        return True

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


def register(rule_class: type[Rule]) -> type[Rule]:
    RULE_TYPES[rule_class.type_name] = rule_class
    return rule_class


def compile_patterns(patterns: Sequence[str]) -> tuple[NeedingPattern, ...]:
    """Each pattern compiled to ignore case, with the strings any match of it needs (anchors.py): it is
    then searched only in a text that holds them (mail_words.NeedingPattern)."""
    compiled = []
    for pattern in patterns:
        if "\b" in pattern or "\f" in pattern:
            raise ValueError(
                f"pattern {pattern!r} holds a backspace or form feed: in TOML a \\b or \\f inside double "
                "quotes is that character, not the regular expression's; write the pattern in single quotes"
            )
        try:
            regex = re.compile(pattern, re.IGNORECASE)
        except re.error as exc:
            raise ValueError(f"pattern {pattern!r} is not a valid regular expression ({exc})") from exc
        compiled.append(NeedingPattern(regex, needed_strings(regex)))
    return tuple(compiled)


def any_search(patterns: Sequence[NeedingPattern], text: str) -> bool:
    return any(pattern.search(text) for pattern in patterns)
