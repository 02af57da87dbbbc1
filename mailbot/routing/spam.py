"""Spam, by the verdict of our own receiving server: no case, no reply, never deleted. The message is held in
quarantine (its raw bytes stay in the database and the mail stays in the mailbox) until a person lists it
(``mailbot spam list``) and, if it was a person's mail after all, releases it (``mailbot spam release ID``):
it is then processed again as ordinary mail, with spam verdicts ignored."""

from __future__ import annotations

from mailbot.routing.context import Routing
from mailbot.vocabulary import InboundState

SPAM_RULE_PREFIX = "spam"


def hold_in_quarantine(r: Routing) -> str:
    r.inbound.state = InboundState.QUARANTINED
    r.inbound.case_id = None
    hits = ", ".join(hit for hit in r.verdict.rules_hit if hit.startswith(SPAM_RULE_PREFIX)) or "spam rules"
    release = f"`mailbot spam release {r.inbound.id}` to process it"
    return f"held in quarantine as spam ({hits}); nothing sent; {release}"
