"""The rule chain as the front door's classification tests use it: rules/classify.toml, with the
riverside.example domain as ours and no kind model (the rules alone decide)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from mailbot.classify import Classification, RuleChain, classify, load_chain
from mailbot.classify.result import ThreadMatch
from mailbot.intake.parse import parse_mail
from tests.mails import mail

RULES = Path(__file__).resolve().parents[1] / "rules" / "classify.toml"
OWN = frozenset({"complaints@riverside.example", "@riverside.example"})


@cache
def rule_chain() -> RuleChain:
    return load_chain(RULES)


def judged(chain: RuleChain, raw: bytes, thread: ThreadMatch | None = None) -> Classification:
    return classify(parse_mail(raw), chain, thread=thread, own_addresses=OWN)


def judged_words(chain: RuleChain, body: str, sender: str, name: str, subject: str) -> Classification:
    return judged(chain, mail(sender=sender, name=name, subject=subject, body=body))
