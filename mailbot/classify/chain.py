"""Load the rule chain from rules/classify.toml and run a mail through it, Mailman style."""

# Rules run in file order and every rule that runs is recorded as hit or missed. A hit adds the rule's
# flags; the first hit with a `kind` decides the kind and ends the chain. A rule with `when_thread` runs only
# when the mail does (true) or does not (false) answer an existing case.

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mailbot.classify import headers, senders, state, wording  # noqa: F401  (modules register rule types)
from mailbot.classify.result import KINDS, Classification, ThreadMatch
from mailbot.classify.rules import RULE_TYPES, MailContext, Param, Rule, normalise_wording
from mailbot.errors import UserError
from mailbot.intake.parse import ParsedMail
from mailbot.intake.quotes import TEXT_LIMIT, new_text

_STEP_KEYS: Mapping[str, Param] = {
    "name": Param(str, required=True, help="unique name, recorded in rules_hit / rules_missed"),
    "type": Param(str, required=True, help="rule type"),
    "description": Param(str, help="why the rule exists"),
    "kind": Param(str, help="the kind decided when the rule hits (ends the chain)"),
    "flags": Param(list, help="flags added when the rule hits"),
    "when_thread": Param(bool, help="run only when the mail does (true) / does not (false) answer a case"),
}
_FLAG = re.compile(r"^[a-z][a-z_]*(?::[a-z]{2,3})?$")
DEFAULT_KIND = "out_of_scope"


class ClassifyRulesError(UserError):
    """classify.toml is missing, unreadable or names something the chain does not accept."""


@dataclass(frozen=True)
class ChainStep:
    rule: Rule
    kind: str | None
    flags: tuple[str, ...]
    when_thread: bool | None

    def runs_for(self, context: MailContext) -> bool:
        return self.when_thread is None or self.when_thread == (context.thread is not None)


@dataclass(frozen=True)
class RuleChain:
    source: Path
    steps: tuple[ChainStep, ...]

    @property
    def rule_names(self) -> tuple[str, ...]:
        return tuple(step.rule.name for step in self.steps)


def load_chain(path: Path) -> RuleChain:
    """Read and check classify.toml; every error names the file, the rule and what would be accepted."""
    document = _read_toml(path)
    if unknown := set(document) - {"rule"}:
        raise ClassifyRulesError(
            f"{path}: unknown top-level key(s) {sorted(unknown)}; accepted: [[rule]] tables"
        )
    entries = document.get("rule")
    if not isinstance(entries, list) or not entries:
        raise ClassifyRulesError(f"{path}: no [[rule]] tables; the chain needs at least one rule")
    steps = tuple(_step(path, index, entry) for index, entry in enumerate(entries, start=1))
    _check_unique_names(path, steps)
    return RuleChain(source=path, steps=steps)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ClassifyRulesError(f"{path}: cannot be read ({exc.strerror})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ClassifyRulesError(f"{path}: not valid TOML ({exc})") from exc


def _step(path: Path, index: int, entry: Mapping[str, Any]) -> ChainStep:
    where = f"{path}: rule {entry.get('name', f'#{index}')!r}"
    rule_class = _rule_class(where, entry)
    accepted = {**_STEP_KEYS, **rule_class.parameters}
    _check_keys(where, entry, accepted)
    params = {key: value for key, value in entry.items() if key not in _STEP_KEYS}
    try:
        rule = rule_class(entry["name"], entry.get("description", ""), params)
    except ValueError as exc:
        raise ClassifyRulesError(f"{where}: {exc}") from exc
    return ChainStep(rule, _kind(where, entry), _flags(where, entry), entry.get("when_thread"))


def _rule_class(where: str, entry: Mapping[str, Any]) -> type[Rule]:
    if "name" not in entry or "type" not in entry:
        raise ClassifyRulesError(f"{where}: every rule needs 'name' and 'type'")
    if entry["type"] not in RULE_TYPES:
        raise ClassifyRulesError(f"{where}: unknown type {entry['type']!r}; accepted: {sorted(RULE_TYPES)}")
    return RULE_TYPES[entry["type"]]


def _check_keys(where: str, entry: Mapping[str, Any], accepted: Mapping[str, Param]) -> None:
    for key, value in entry.items():
        if key not in accepted:
            choices = ", ".join(sorted(accepted))
            raise ClassifyRulesError(
                f"{where}: unknown key {key!r} for type {entry['type']!r}; accepted: {choices}"
            )
        if not _fits(value, accepted[key].kind):
            raise ClassifyRulesError(f"{where}: {key!r} must be a {accepted[key].describe()}, not {value!r}")
    for key, param in accepted.items():
        if param.required and key not in entry:
            raise ClassifyRulesError(f"{where}: missing {key!r} ({param.help})")


def _fits(value: object, kind: type) -> bool:
    if kind is list:
        return isinstance(value, list) and all(isinstance(item, str) for item in value)
    if kind is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def _kind(where: str, entry: Mapping[str, Any]) -> str | None:
    kind = entry.get("kind")
    if kind is not None and kind not in KINDS:
        raise ClassifyRulesError(f"{where}: unknown kind {kind!r}; accepted: {sorted(KINDS)}")
    return kind


def _flags(where: str, entry: Mapping[str, Any]) -> tuple[str, ...]:
    flags = tuple(entry.get("flags", ()))
    if bad := [flag for flag in flags if not _FLAG.match(flag)]:
        raise ClassifyRulesError(
            f"{where}: bad flag(s) {bad}; accepted: lower-case words such as "
            f"'safeguarding', or 'lang:' and a language code such as 'lang:cy'"
        )
    return flags


def _check_unique_names(path: Path, steps: tuple[ChainStep, ...]) -> None:
    seen: set[str] = set()
    for step in steps:
        if step.rule.name in seen:
            raise ClassifyRulesError(f"{path}: rule {step.rule.name!r} appears twice; names must be unique")
        seen.add(step.rule.name)


def classify(
    mail: ParsedMail,
    chain: RuleChain,
    thread: ThreadMatch | None = None,
    own_addresses: frozenset[str] = frozenset(),
) -> Classification:
    """Run the chain over one mail and say what it is, which flags it carries and why."""
    context = mail_context(mail, thread, own_addresses)
    kind: str | None = None
    flags: dict[str, None] = {}
    hit: list[str] = []
    missed: list[str] = []
    for step in (step for step in chain.steps if step.runs_for(context)):
        if not step.rule.check(mail, context):
            missed.append(step.rule.name)
            continue
        hit.append(step.rule.name)
        flags.update(dict.fromkeys(step.flags))
        if step.kind is not None:
            kind = step.kind
            break
    return Classification(kind or DEFAULT_KIND, tuple(flags), tuple(hit), tuple(missed))


def mail_context(mail: ParsedMail, thread: ThreadMatch | None, own_addresses: frozenset[str]) -> MailContext:
    """A reply is judged on its new words only: the quoted history holds our own letters' wording."""
    body = new_text(mail) if thread is not None else _whole_text(mail)
    return MailContext(
        thread=thread,
        own_addresses=frozenset(address.lower() for address in own_addresses),
        subject=normalise_wording(mail.subject),
        body=normalise_wording(body),
    )


def _whole_text(mail: ParsedMail) -> str:
    """The mail's text and any mail forwarded with it, each up to TEXT_LIMIT characters (bounded work)."""
    enclosed = [f"{inner.subject}\n{inner.text[:TEXT_LIMIT]}" for inner in mail.forwarded]
    return "\n\n".join([mail.text[:TEXT_LIMIT], *enclosed])
