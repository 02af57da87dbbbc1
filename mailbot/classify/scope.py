"""Rules that tell a person's feedback from other mail by its shape: another organisation's business (a
hospital's A&E, a garage, a courier, a vet, a landlord's repairs), named without a word of ours; and the
marks of a voice, such as a seller's (a call asked for, others served, prices, a sales title), counted by
kind of mark so that no single phrase decides."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from mailbot.classify.rules import MailContext, Param, Rule, compile_patterns, register
from mailbot.classify.wording import phrase_pattern
from mailbot.intake.parse import ParsedMail

_ADDRESS = re.compile(r"[^\s<>()\[\]\"',;:]+@[^\s<>()\[\]\"',;:]+")


@register
class ElsewhereRule(Rule):
    """Any of ``phrases`` and none of ``ours``: one word of our own service keeps the mail ours."""

    type_name = "phrases_without"
    parameters: Mapping[str, Param] = {
        "phrases": Param(list, required=True, help="the other business's words (trailing * for any ending)"),
        "ours": Param(list, required=True, help="words of our own service; any found and the rule misses"),
    }

    def configure(self, params: Mapping[str, Any]) -> None:
        self.theirs = phrase_pattern(params["phrases"], case_sensitive=False)
        self.ours = phrase_pattern(params["ours"], case_sensitive=False)

    def check(self, mail: ParsedMail, context: MailContext) -> bool:
        text = f"{context.subject}\n{context.body}"
        if self.theirs is None or not self.theirs.search(text):
            return False
        # An address is nobody's words: "complaints@" in a phishing mail is not a complaint, "care@" not care.
        return self.ours is None or not self.ours.search(_ADDRESS.sub(" ", text))


@register
class MarksOfAVoiceRule(Rule):
    """Marks of ``at_least`` different groups (phrase lists in ``groups``, regular expressions in
    ``pattern_groups``); ``unless`` phrases are blanked out first, any of ``stopped_by`` makes it miss, and
    any of ``demanding`` asks for ``demanding_at_least`` groups instead (or, without that, makes it miss).
    """

    type_name = "marks_of_a_voice"
    parameters: Mapping[str, Param] = {
        "groups": Param(
            dict, required=True, help="a table: group name = list of phrases (trailing * allowed)"
        ),
        "pattern_groups": Param(dict, help="a table: group name = list of regular expressions"),
        "at_least": Param(int, help="how many different groups must have a mark (default 2)"),
        "unless": Param(list, help="phrases that do not count, removed before matching"),
        "demanding": Param(list, help="phrases that raise the count needed to demanding_at_least"),
        "demanding_at_least": Param(
            int, help="groups needed where a 'demanding' phrase occurs (default: miss)"
        ),
        "stopped_by": Param(list, help="phrases any of which makes the rule miss"),
    }

    def configure(self, params: Mapping[str, Any]) -> None:
        self.phrases = {
            name: phrase_pattern(_strings(name, words), False) for name, words in _table(params, "groups")
        }
        # Every group's phrases in one pattern: one pass says whether any is there at all (in most mail
        # none is), before each group is looked for on its own. It finds a match wherever a group's would.
        self.any_phrase = phrase_pattern([w for _, words in _table(params, "groups") for w in words], False)
        self.patterns = {
            name: compile_patterns(_strings(name, p)) for name, p in _table(params, "pattern_groups")
        }
        self.at_least = int(params.get("at_least", 2))
        self.unless = phrase_pattern(params.get("unless", ()), case_sensitive=False)
        self.demanding = phrase_pattern(params.get("demanding", ()), case_sensitive=False)
        self.demanding_at_least = params.get("demanding_at_least")
        self.stopped_by = phrase_pattern(params.get("stopped_by", ()), case_sensitive=False)

    def check(self, mail: ParsedMail, context: MailContext) -> bool:
        text = f"{context.subject}\n{context.body}"
        if self.unless is not None:
            text = self.unless.sub(" ", text)
        if self.stopped_by is not None and self.stopped_by.search(text):
            return False
        needed = self.at_least
        if self.demanding is not None and self.demanding.search(text):
            if self.demanding_at_least is None:
                return False
            needed = int(self.demanding_at_least)
        return len(self.groups_marked(text)) >= needed

    def groups_marked(self, text: str) -> set[str]:
        found: set[str] = set()
        if self.any_phrase is not None and self.any_phrase.search(text):
            found = {
                name for name, pattern in self.phrases.items() if pattern is not None and pattern.search(text)
            }
        return found | {
            name for name, patterns in self.patterns.items() if any(p.search(text) for p in patterns)
        }


def _table(params: Mapping[str, Any], key: str) -> list[tuple[str, Any]]:
    return list(params.get(key, {}).items())


def _strings(group: str, values: Any) -> list[str]:
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ValueError(f"group {group!r} must be a list of strings, not {values!r}")
    return values
