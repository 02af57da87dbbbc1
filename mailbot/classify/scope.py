"""Mail about another organisation's business: a hospital's A&E, a garage, a courier, a vet, a landlord's
repairs. Its words name that business and nothing of ours (no carer, no resident, no relative in our care),
so it is out of scope: recorded, no complaint case, nobody written to."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mailbot.classify.rules import MailContext, Param, Rule, register
from mailbot.classify.wording import phrase_pattern
from mailbot.intake.parse import ParsedMail


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
        return self.ours is None or not self.ours.search(text)
