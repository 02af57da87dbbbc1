"""Load the rule chain from rules/classify.toml and run a mail through it, Mailman style."""

# Rules run in file order and every rule that runs is recorded as hit or missed. A hit adds the rule's
# flags; the first hit with a `kind` decides the kind and ends the chain. A rule with `when_thread` runs only
# when the mail does (true) or does not (false) answer an existing case.

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mailbot.checked import same_mailbox
from mailbot.classify import headers, junk, marks, scope, senders, spam, state, wording  # noqa: F401  (modules register rule types)
from mailbot.classify.decide import RuleSide, decide, is_persons_new_mail
from mailbot.classify.kind_model import KindModel
from mailbot.classify.result import KINDS, Classification, Finding, ThreadMatch
from mailbot.classify.rules import RULE_TYPES, MailContext, Param, Rule, normalise_wording
from mailbot.classify.safeguarding import Screening, TextPart, categories_found, parts_of, screen
from mailbot.classify.spam import SpamVerdict, verdicts
from mailbot.config.reader import TomlReader, Wording
from mailbot.errors import UserError
from mailbot.intake.parse import ParsedMail
from mailbot.intake.quotes import TEXT_LIMIT, new_text
from mailbot.vocabulary import PERSON_KINDS, Kind

_STEP_KEYS: Mapping[str, Param] = {
    "name": Param(str, required=True, help="unique name, recorded in rules_hit / rules_missed"),
    "type": Param(str, required=True, help="rule type"),
    "description": Param(str, help="why the rule exists"),
    "kind": Param(str, help="the kind decided when the rule hits (ends the chain)"),
    "flags": Param(list, help="flags added when the rule hits"),
    "when_thread": Param(bool, help="run only when the mail does (true) / does not (false) answer a case"),
    "sure": Param(bool, help="the kind this rule decides stands whatever the kind model says"),
    "new_mail_read_on": Param(
        bool,
        help="on new mail, later rules read it first: a person's kind they find stands (with this rule's "
        "flags); this rule's kind decides only when they find none",
    ),
}
_FLAG = re.compile(r"^[a-z][a-z_]*(?::[a-z]{2,3})?$")
SAFEGUARDING_FLAG = "safeguarding"
DEFAULT_KIND = "out_of_scope"


class ClassifyRulesError(UserError):
    """classify.toml is missing, unreadable or names something the chain does not accept."""


@dataclass(frozen=True)
class ChainStep:
    rule: Rule
    kind: str | None
    flags: tuple[str, ...]
    when_thread: bool | None
    sure: bool = False
    new_mail_read_on: bool = False

    def runs_for(self, context: MailContext) -> bool:
        return self.when_thread is None or self.when_thread == (context.thread is not None)

    def reads_on(self, mail: ParsedMail, context: MailContext) -> bool:
        """This rule's kind waits for what later rules make of a new mail (a colleague's own complaint)."""
        return self.new_mail_read_on and context.thread is None and self.rule.may_read_on(mail, context)

    def finds_a_persons_kind(self) -> bool:
        """A later rule that read words of feedback or a request, not the catch-all or a machine's kind."""
        return (
            self.kind in PERSON_KINDS
            and self.kind != Kind.OUT_OF_SCOPE
            and self.rule.type_name != "has_content"
        )


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
    _check_keys(_rule_reader(path, where, entry), {**_STEP_KEYS, **rule_class.parameters})
    params = {key: value for key, value in entry.items() if key not in _STEP_KEYS}
    try:
        rule = rule_class(entry["name"], entry.get("description", ""), params)
    except ValueError as exc:
        raise ClassifyRulesError(f"{where}: {exc}") from exc
    kind, flags = _kind(where, entry), _flags(where, entry)
    return ChainStep(
        rule,
        kind,
        flags,
        entry.get("when_thread"),
        bool(entry.get("sure", False)),
        bool(entry.get("new_mail_read_on", False)),
    )


def _rule_class(where: str, entry: Mapping[str, Any]) -> type[Rule]:
    if "name" not in entry or "type" not in entry:
        raise ClassifyRulesError(f"{where}: every rule needs 'name' and 'type'")
    if entry["type"] not in RULE_TYPES:
        raise ClassifyRulesError(f"{where}: unknown type {entry['type']!r}; accepted: {sorted(RULE_TYPES)}")
    return RULE_TYPES[entry["type"]]


def _rule_reader(path: Path, where: str, entry: Mapping[str, Any]) -> TomlReader:
    """A reader for one [[rule]] table, in classify.toml's own wording: each message starts with the rule."""
    rule_wording = Wording(
        missing="missing {name!r} ({expected})",
        wrong="{name!r} must be a {expected}, not {shown}",
        # The type was checked by _rule_class, so its name is safe inside a format string.
        unknown=f"unknown key {{name!r}} for type {entry['type']!r}; accepted: {{accepted}}",
    )
    return TomlReader(
        path,
        entry,
        error=lambda _path, _key, message: ClassifyRulesError(f"{where}: {message}"),
        wording=rule_wording,
    )


def _check_keys(rule: TomlReader, accepted: Mapping[str, Param]) -> None:
    # Unknown keys and wrong types are checked together in file order, so the first mistake is the one named.
    for key in rule.table:
        if key not in accepted:
            raise rule.unknown(key, sorted(accepted))
        if accepted[key].kind is list:
            rule.strings(key, what=accepted[key].describe())
        else:
            rule.get(key, accepted[key].kind, what=accepted[key].describe())
    for key, param in accepted.items():
        if param.required:
            rule.value(key, param.help)


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
    screening: Screening | None = None,
    *,
    trusted_servers: frozenset[str] = frozenset(),
    live_verdicts: tuple[SpamVerdict, ...] = (),
    model: KindModel | None = None,
    judge_junk: bool = True,
) -> Classification:
    """Run the chain over one mail and say what it is, which flags it carries, how sure, and why.

    ``trusted_servers`` are the receiving servers whose spam verdicts count; ``live_verdicts`` what a local
    rspamd said; ``model`` the kind model that decides a person's new mail with the rules; ``judge_junk``
    False for mail a person released from quarantine (the marks of junk are not read again). With
    ``screening``, any sign of abuse or neglect adds the ``safeguarding`` flag and what was found."""
    context = mail_context(mail, thread, own_addresses, (*verdicts(mail, trusted_servers), *live_verdicts))
    context = replace(context, judge_junk=judge_junk)
    verdict, rules = _run_chain(mail, chain, context)
    if is_persons_new_mail(verdict, thread is not None):
        prediction = model.predict(model_text(context)) if model is not None else None
        verdict = decide(verdict, rules, prediction)
    if screening is None:
        return verdict
    # The backstop reads a person's mail only: machine mail alerts on a named indicator or not at all.
    parts = safeguarding_parts(mail, thread)
    return with_safeguarding(verdict, screen(screening, parts, backstop=not verdict.is_machine))


def model_text(context: MailContext) -> str:
    """What the kind model reads: the subject and the words the rules read."""
    return f"{context.subject}\n{context.body}"


def with_safeguarding(verdict: Classification, findings: tuple[Finding, ...]) -> Classification:
    if not findings:
        return verdict
    hits = [f"safeguarding:{category}" for category in categories_found(findings)]
    flags = tuple(dict.fromkeys([*verdict.flags, SAFEGUARDING_FLAG]))
    return replace(verdict, flags=flags, rules_hit=(*verdict.rules_hit, *hits), safeguarding=findings)


def safeguarding_parts(mail: ParsedMail, thread: ThreadMatch | None) -> list[TextPart]:
    """New mail is screened whole (quoted and forwarded text included: a complainant may forward what they
    wrote before); mail on a case only for what is new in it, as its quoted history was screened already."""
    parts = parts_of(mail)
    if thread is None:
        return parts
    return [TextPart("new text", new_text(mail)), *(p for p in parts if p.where not in ("subject", "text"))]


def _run_chain(mail: ParsedMail, chain: RuleChain, context: MailContext) -> tuple[Classification, RuleSide]:
    kind: str | None = None
    flags: dict[str, None] = {}
    hit: list[str] = []
    missed: list[str] = []
    steps = [step for step in chain.steps if step.runs_for(context)]
    deciding: ChainStep | None = None
    waiting: tuple[ChainStep, dict[str, None], int, int] | None = None  # a kind held back for later rules
    for step in steps:
        if not step.rule.check(mail, context):
            missed.append(step.rule.name)
            continue
        hit.append(step.rule.name)
        flags.update(dict.fromkeys(step.flags))
        if step.kind is None:
            continue
        if waiting is None and step.reads_on(mail, context):
            waiting = (step, dict(flags), len(hit), len(missed))
            continue
        if waiting is None or step.finds_a_persons_kind():
            kind, deciding = step.kind, step
            break
        break
    if waiting is not None and deciding is None:
        # Later rules found no words of a person's own: the held-back kind decides, as if the chain had
        # stopped there (later rules' flags were not earned).
        deciding, flags, hits, misses = waiting
        kind, hit, missed = deciding.kind, hit[:hits], missed[:misses]
    verdict = Classification(kind or DEFAULT_KIND, tuple(flags), tuple(hit), tuple(missed))
    rest = steps[steps.index(deciding) + 1 :] if deciding else []
    return verdict, _rule_side(mail, context, deciding, rest)


def _rule_side(
    mail: ParsedMail, context: MailContext, deciding: ChainStep | None, rest: list[ChainStep]
) -> RuleSide:
    """How firmly the rules chose, and which other kinds later rules would have pointed to (praise in a
    complaint, say). Only kinds: later rules' flags were not earned."""
    if deciding is None or deciding.kind is None:
        return RuleSide(DEFAULT_KIND, "fallen_through", ())
    strength = "sure" if deciding.sure else "leaning"
    if deciding.rule.type_name == "has_content":
        strength = "fallen_through"
    others = [
        s.kind for s in rest if s.kind and s.rule.type_name != "has_content" and s.rule.check(mail, context)
    ]
    return RuleSide(deciding.kind, strength, tuple(dict.fromkeys([deciding.kind, *others])))


def mail_context(
    mail: ParsedMail,
    thread: ThreadMatch | None,
    own_addresses: frozenset[str],
    spam_verdicts: tuple[SpamVerdict, ...] = (),
) -> MailContext:
    """A reply is judged on its new words only: the quoted history holds our own letters' wording."""
    body = new_text(mail) if thread is not None else _whole_text(mail)
    return MailContext(
        thread=thread,
        # Compared as mailboxes (lower case, no +tag), so complaints+loop@ is one of ours.
        own_addresses=frozenset(same_mailbox(address) for address in own_addresses),
        subject=normalise_wording(mail.subject),
        body=normalise_wording(body),
        spam_verdicts=spam_verdicts,
        html=mail.html or "",
    )


def _whole_text(mail: ParsedMail) -> str:
    """The mail's text and any mail forwarded with it, each up to TEXT_LIMIT characters (bounded work)."""
    enclosed = [f"{inner.subject}\n{inner.text[:TEXT_LIMIT]}" for inner in mail.forwarded]
    return "\n\n".join([mail.text[:TEXT_LIMIT], *enclosed])
