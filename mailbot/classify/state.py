"""Rules on where the mail stands: does it answer an existing case, does it say anything at all."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mailbot.classify.rules import MailContext, Param, Rule, register
from mailbot.intake.parse import ParsedMail


@register
class ThreadRule(Rule):
    """The cases code matched the mail to an existing case (optionally only by the listed means)."""

    type_name = "thread"
    parameters: Mapping[str, Param] = {
        "matched_by": Param(list, help='only these: "references", "subject", "body", "plus_address"'),
    }

    def configure(self, params: Mapping[str, Any]) -> None:
        self.matched_by = frozenset(params.get("matched_by", ()))

    def check(self, mail: ParsedMail, context: MailContext) -> bool:
        if context.thread is None:
            return False
        return not self.matched_by or context.thread.matched_by in self.matched_by


@register
class HasContentRule(Rule):
    """The mail carries something a person wrote or sent: words, a subject or an attachment."""

    type_name = "has_content"

    def check(self, mail: ParsedMail, context: MailContext) -> bool:
        return bool(context.body.strip() or context.subject.strip() or mail.attachments or mail.forwarded)
