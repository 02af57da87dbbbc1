"""The safeguarding indicators in plain words, for a safeguarding lead who does not read code.

Usage: python scripts/safeguarding_indicators.py            (writes docs/safeguarding-indicators.md)
       python scripts/safeguarding_indicators.py --check    (fails if the page is out of step with the rules)

The page is generated from rules/safeguarding.toml, the file the screening reads, so it cannot say something
the rules do not: per category, its definition, then each group of indicators under the comment its author
wrote above it, the words as written, and each pattern in a readable form with one or two sentences from
the tuning set (tests/data/safeguarding_tuning/examples.toml) that it catches. tests/test_safeguarding_doc.py
checks the page is in step with the rules.
"""

from __future__ import annotations

import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules" / "safeguarding.toml"
EXAMPLES = ROOT / "tests" / "data" / "safeguarding_tuning" / "examples.toml"
PAGE = ROOT / "docs" / "safeguarding-indicators.md"
LISTS = ("words", "patterns", "welsh", "not_when")
HEADINGS = {
    "words": "Words and phrases",
    "patterns": "Situations described with other words in between",
    "welsh": "In Welsh (each also found with its first letter mutated)",
    "not_when": "Harmless uses that are ignored",
}
TERM_WORDS = {
    "kin": "[a partner or family member]", "body": "[a part of the body]", "face": "[the face or head]",
    "valuables": "[money or belongings]", "duration": "[a length of time]",
}  # fmt: skip


@dataclass
class Group:
    comment: str
    items: list[str] = field(default_factory=list)


@dataclass
class Category:
    key: str
    lists: dict[str, list[Group]] = field(default_factory=dict)


def groups_by_comment(text: str) -> dict[str, Category]:
    """Each category's lists, with each item under the comment written above it (tomllib drops comments)."""
    categories: dict[str, Category] = {}
    current: Category | None = None
    listing: list[Group] | None = None
    pending = ""
    for line in text.splitlines():
        stripped = line.strip()
        if found := re.fullmatch(r'key = "([a-z_]+)"', stripped):
            current = categories.setdefault(found.group(1), Category(found.group(1)))
            continue
        if current is not None and (opened := re.match(r"(\w+) = \[(.*)$", stripped)) and opened[1] in LISTS:
            listing = current.lists.setdefault(opened[1], [Group("")])
            stripped = opened[2]
        if listing is None:
            continue
        if stripped.startswith("#"):
            comment = stripped.lstrip("# ")
            last = listing[-1]
            if last.items or not last.comment:
                listing.append(Group(comment)) if last.items else setattr(last, "comment", comment)
            else:
                last.comment += " " + comment
            continue
        pending, ended = _items_on(pending + " " + stripped, listing[-1])
        if ended:
            listing = None
    return categories


def _items_on(text: str, group: Group) -> tuple[str, bool]:
    """Read the quoted items of one line (or of lines joined until they parse); say whether the list ended."""
    body = text.strip()
    ended = body.endswith("]") and not body.endswith("\\]")
    body = body[:-1] if ended else body
    try:
        group.items += tomllib.loads(f"x = [{body}]")["x"]
    except tomllib.TOMLDecodeError:
        return text, False  # a string runs on to the next line
    return "", ended


# --- patterns in words --------------------------------------------------------------------------------------

OPEN, CLOSE = "\x02", "\x03"  # brackets of our own words, kept apart from the pattern's groups until the end
_GAPS = (
    (r"\(\[?\\w[^()]*?\]?\+\\s\+\)\{0,(\d)\}", f" {OPEN}up to \\1 words{CLOSE} "),
    (r"\(\[?\\w[^()]*?\]?\+\\s\+\)\{1,(\d)\}", f" {OPEN}1 to \\1 words{CLOSE} "),
    (r"\(\[?\\w[^()]*?\]?\+(\\s\+| )\)\?", f" {OPEN}a word{CLOSE} "),
    (r"\[\^[^\]]*\]\{\d*,?\d+\}", " … "),
    (r"\[\\s\\S\]\{0,\d+\}", " … "),
    (r"\[\\d,\]\{3,\}", f"{OPEN}a sum of money{CLOSE}"),
    (r"\\d\{1,2\}|\\d\{2,\}|\\d\+|\\d", f"{OPEN}a number{CLOSE}"),
    (r"\[(\d)-(\d)\]", r"\1-\2"),
    (r"\[\\w[^\]]*\]\+", f"{OPEN}a word{CLOSE}"),
    (r"\[[^\]]*\\x2[27][^\]]*\]\??", ""),
    (r"\\x27|\\u2019", "'"),
    (r"\.\?", "'"),
    (r"\\W\?|\\W|\\s\*|\\s\+|\\s|\\n", " "),
    (r"\\w\*", "…"),
    (r"\\w\+", f"{OPEN}a word{CLOSE}"),
    (r"\\b|\^|\$", ""),
    (r"\\(.)", r"\1"),
)


def readable(pattern: str) -> str:
    """A pattern as words: alternatives in [a / b], optional parts marked, gaps said in words."""
    text = re.sub(r"\{([a-z_]+)\}", lambda m: TERM_WORDS.get(m[1], m[0]), pattern)
    text = _without_lookarounds(text)  # "not followed by": the examples say it better
    text = re.sub(r"(?<=[a-z])\((?:\?:)?[a-z]{1,4}(?:\|[a-z]{1,4})*\)\??", "…", text)  # call(s|ed)? is call…
    for gap, words in _GAPS:
        text = re.sub(gap, words, text)
    text = re.sub(r"([\w)])s\?", rf"\1{OPEN}s{CLOSE}", text)
    text = _alternatives(text.replace("(?:", "("))
    return re.sub(r"\] \(s\)", "](s)", " ".join(text.replace("?", "").split()))


def _without_lookarounds(text: str) -> str:
    while (start := text.find("(?!")) >= 0 or (start := text.find("(?<!")) >= 0:
        depth, end = 0, start
        for end in range(start, len(text)):
            depth += {"(": 1, ")": -1}.get(text[end], 0) if text[end - 1] != "\\" else 0
            if depth == 0:
                break
        text = text[:start] + text[end + 1 :]
    return text


def _alternatives(text: str) -> str:
    """Innermost groups first: "(a|b)" becomes "[a / b]", "(a|b)?" becomes "[maybe a / b]"."""
    inner = re.compile(r"\(([^()]*)\)(\?)?")
    while found := inner.search(text):
        choices = [c.strip() for c in found[1].split("|")]
        shown = " / ".join(c or "nothing" for c in choices)
        maybe = "maybe " if found[2] else ""
        piece = f" [{maybe}{shown}] " if len(choices) > 1 or maybe else shown
        text = text[: found.start()] + piece.replace("(", OPEN).replace(")", CLOSE) + text[found.end() :]
    return text.replace(OPEN, "(").replace(CLOSE, ")")


# --- examples -----------------------------------------------------------------------------------------------


def terms_of(data: dict) -> dict[str, str]:
    return {name: "(?:" + "|".join(values) + ")" for name, values in data.get("terms", {}).items()}


def examples_caught(pattern: str, terms: dict[str, str], examples: list[dict], key: str) -> list[str]:
    """The shortest one or two tuning examples of this category (else of any) that the pattern catches."""
    compiled = re.compile(re.sub(r"\{([a-z_]+)\}", lambda m: terms[m[1]], pattern), re.IGNORECASE)
    for pool in ([e for e in examples if e["category"] == key], [e for e in examples if e["category"]]):
        caught = {" ".join(e["text"].split()) for e in pool if compiled.search(e["text"])}
        caught = sorted(caught, key=lambda text: (len(text), text))  # the same page whatever the set order
        if caught:
            return caught[:2]
    return []


# --- the page -----------------------------------------------------------------------------------------------


def page(rules_text: str, examples: list[dict]) -> str:
    data = tomllib.loads(rules_text)
    grouped, terms = groups_by_comment(rules_text), terms_of(data)
    lines = [
        "# Safeguarding indicators in plain words",
        "",
        "Generated from `rules/safeguarding.toml` by `python scripts/safeguarding_indicators.py`; do not",
        "edit this page, edit the rules and run the script again (a test fails while the two differ).",
        "",
        "A mail is flagged for the safeguarding lead when ANY indicator below is found in what a person",
        "wrote (the subject, the text, quoted and forwarded text, readable attachments). Words are found",
        "whole and whatever their capitals; a word ending in `…` may end any way (`bruis…`: bruise,",
        "bruised, bruising). In a situation, `[a / b]` means either word, `[maybe a / b]` that the words",
        "may be missing, `(up to 3 words)` that other words may come between, and `…` that anything may",
        'come between within the sentence. A "no" or "not" before the words is shown in the alert,',
        "never used to stay silent.",
        "",
        "When no indicator is found in a person's mail, a statistical screen",
        "(`rules/safeguarding_model.json`, learnt from the labelled examples) reads it as well and may",
        'still alert. Its alerts say so in the subject ("statistical screen"), name the type it',
        'thinks most likely (or "type not clear: read it") and quote the words that weighed most:',
        "read the mail and judge. It catches disclosures worded in ways no indicator below has, at",
        "the cost of more alerts about ordinary complaints. `[cases] safeguarding_backstop = false`",
        "turns it off; the README says how to retrain it on your own examples.",
        "",
        *_naming_order(data),
    ]
    for category in data["category"]:
        lines += _category_section(category, grouped[category["key"]], terms, examples)
    return "\n".join(lines).rstrip() + "\n"


def _naming_order(data: dict) -> list[str]:
    names = {c["key"]: c["name"] for c in data["category"]}
    order = data.get("screening", {}).get("name_first", [])
    if not order:
        return []
    return [
        "When one mail matches several categories, the alert names them in this order (who harms or why",
        "before what was done; a type not yet clear last):",
        "",
        *(f"{i}. {names[key]}" for i, key in enumerate(order, 1)),
        "",
    ]


def _category_section(
    category: dict, grouped: Category, terms: dict[str, str], examples: list[dict]
) -> list[str]:
    lines = ["", f"## {category['name']}", "", " ".join(category.get("definition", "").split()), ""]
    for name in LISTS:
        groups = [g for g in grouped.lists.get(name, []) if g.items]
        if not groups:
            continue
        lines += [f"### {HEADINGS[name]}", ""]
        for group in groups:
            lines += _group_lines(name, group, terms, examples, category["key"])
    return lines


def _group_lines(name: str, group: Group, terms: dict[str, str], examples: list[dict], key: str) -> list[str]:
    heading = [f"*{group.comment}*", ""] if group.comment else []
    if name != "patterns":
        words = ", ".join(f'"{w.replace("*", "…")}"' for w in group.items)
        return [*heading, words, ""]
    lines = list(heading)
    for pattern in group.items:
        lines.append(f"- {readable(pattern)}")
        lines += [f'  - e.g. "{example}"' for example in examples_caught(pattern, terms, examples, key)]
    return [*lines, ""]


def generated() -> str:
    examples = tomllib.loads(EXAMPLES.read_text(encoding="utf-8"))["example"]
    return page(RULES.read_text(encoding="utf-8"), examples)


if __name__ == "__main__":
    text = generated()
    if "--check" in sys.argv:
        in_step = PAGE.exists() and PAGE.read_text(encoding="utf-8") == text
        sys.exit(0 if in_step else f"{PAGE} is out of step with {RULES}: run {Path(__file__).name}")
    PAGE.write_text(text, encoding="utf-8")
    print(f"wrote {PAGE} ({len(text.splitlines())} lines)")
