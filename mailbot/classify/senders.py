"""Rules on who sent the mail: delivery systems, no-reply robots, our own addresses, named senders."""

from __future__ import annotations

import re
from collections.abc import Mapping
from email.utils import getaddresses
from typing import Any

from mailbot.checked import same_mailbox
from mailbot.classify.rules import MailContext, Param, Rule, any_search, compile_patterns, register
from mailbot.classify.wording import phrase_pattern
from mailbot.intake import forwarded
from mailbot.intake.headers import Address
from mailbot.intake.parse import ParsedMail


@register
class SenderRule(Rule):
    """The From address or display name matches one of the patterns."""

    type_name = "sender"
    parameters: Mapping[str, Param] = {
        "addresses": Param(list, help="regular expressions searched in the lower-case From address"),
        "names": Param(list, help="regular expressions searched in the From display name"),
        "both": Param(bool, help="hit only when the address AND the name match (default: either)"),
    }

    def configure(self, params: Mapping[str, Any]) -> None:
        self.addresses = compile_patterns(params.get("addresses", ()))
        self.names = compile_patterns(params.get("names", ()))
        self.both = bool(params.get("both", False))

    def check(self, mail: ParsedMail, context: MailContext) -> bool:
        if mail.sender is None:
            return False
        address = any_search(self.addresses, mail.sender.email)
        name = any_search(self.names, mail.sender.name)
        return (address and name) if self.both else (address or name)


@register
class OwnAddressRule(Rule):
    """From one of the organisation's own addresses (or "@domain" entries) passed in by the caller."""

    type_name = "own_address"
    parameters: Mapping[str, Param] = {
        "except_new_forwards": Param(
            bool, help="not a new mail forwarding an outside writer's (a colleague passing on a complaint)"
        ),
        "except_new_with": Param(
            list,
            help="phrases that make a colleague's new mail feedback of their own (a suggestion, an idea)",
        ),
    }

    def configure(self, params: Mapping[str, Any]) -> None:
        self.except_new_forwards = bool(params.get("except_new_forwards", False))
        self.feedback_words = phrase_pattern(params.get("except_new_with", ()), case_sensitive=False)

    def check(self, mail: ParsedMail, context: MailContext) -> bool:
        if not is_own(mail.sender.email if mail.sender else "", context):
            return False
        if context.thread is not None:
            return True
        if self.except_new_forwards and forwards_outside_mail(mail, context):
            return False
        return self.feedback_words is None or not self.feedback_words.search(
            f"{context.subject}\n{context.body}"
        )

    def may_read_on(self, mail: ParsedMail, context: MailContext) -> bool:
        """A colleague, known by our domain, writes in their own words; one of our own addresses named in
        full (the complaints and feedback mailboxes, the bot) sends our own mail, never a person's."""
        return same_mailbox(mail.sender.email if mail.sender else "") not in context.own_addresses


def is_own(address: str, context: MailContext) -> bool:
    if not address:
        return False
    mailbox = same_mailbox(address)
    return mailbox in context.own_addresses or "@" + mailbox.rpartition("@")[2] in context.own_addresses


def forwards_outside_mail(mail: ParsedMail, context: MailContext) -> bool:
    """A colleague's forward of what someone outside wrote: the writer's words decide its kind, not the
    colleague's address (a staff reply is staff talking, a forward is a complainant talking)."""
    writer = forwarded.original_sender(mail) or _quoted_writer(mail)
    return writer is not None and not is_own(writer.email, context)


def _quoted_writer(mail: ParsedMail) -> Address | None:
    """Who wrote the mail a colleague replies above ("On 29 Nov 2026, Ann Lee <ann@example.com> wrote:")."""
    found = _QUOTE_HEADER.search(mail.text)
    if found is None:
        return None
    [(name, address)] = getaddresses([found.group(1)]) or [("", "")]
    return Address(name.strip().strip('"'), address.strip().lower()) if "@" in address else None


# Gmail, Apple Mail and Thunderbird: "On <date>, <name> <address> wrote:" on one or two lines.
_QUOTE_HEADER = re.compile(
    r"^[ \t]*On\b[^\n]{0,120}?,\s*([^,\n]*<[^<>\s]+@[^<>\s]+>)\s*wrote:\s*$", re.MULTILINE
)
