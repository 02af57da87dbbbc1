"""Rules on who sent the mail: delivery systems, no-reply robots, our own addresses, named senders."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mailbot.checked import same_mailbox
from mailbot.classify.rules import MailContext, Param, Rule, any_search, compile_patterns, register
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

    def check(self, mail: ParsedMail, context: MailContext) -> bool:
        if mail.sender is None or not mail.sender.email:
            return False
        address = same_mailbox(mail.sender.email)
        domain = "@" + address.rpartition("@")[2]
        return address in context.own_addresses or domain in context.own_addresses
