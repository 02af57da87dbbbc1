"""docs/safeguarding-indicators.md, the indicators in plain words for a safeguarding lead, is generated from
rules/safeguarding.toml (scripts/safeguarding_indicators.py) and must say what the rules say."""

from __future__ import annotations

import re
import tomllib

from scripts.safeguarding_indicators import PAGE, RULES, generated, readable

RULES_DATA = tomllib.loads(RULES.read_text(encoding="utf-8"))


def test_the_page_is_in_step_with_the_rules() -> None:
    assert PAGE.read_text(encoding="utf-8") == generated(), (
        "docs/safeguarding-indicators.md is out of step: run python scripts/safeguarding_indicators.py"
    )


def test_every_category_and_every_group_comment_is_on_the_page() -> None:
    text = PAGE.read_text(encoding="utf-8")
    for category in RULES_DATA["category"]:
        assert f"## {category['name']}" in text
    comments = re.findall(r"^\s+# (.+)$", RULES.read_text(encoding="utf-8"), re.MULTILINE)
    missing = [c for c in comments if c.split()[0] not in text]
    assert not missing


def test_no_pattern_syntax_is_shown_where_words_would_do() -> None:
    shown = "\n".join(line for line in PAGE.read_text(encoding="utf-8").splitlines() if line.startswith("- "))
    assert not re.search(r"\\[a-zA-Z]|\(\?|\{\d*,\d*\}|\[\^|\|", shown)


def test_a_pattern_reads_as_words() -> None:
    pattern = (
        r"\b(told|asked)\s+(\w+\s+){0,3}(not to|never to)\s+(report|tell)\b[^.]{0,40}\b(manager|nurse)s?\b"
    )
    assert readable(pattern) == (
        "[told / asked] (up to 3 words) [not to / never to] [report / tell] … [manager / nurse](s)"
    )


def test_each_pattern_of_the_fourth_round_has_an_example_that_it_catches() -> None:
    text = PAGE.read_text(encoding="utf-8")
    section = text[text.index("## Organisational") : text.index("## Neglect")]
    assert '"They have taken the call bells out of the rooms on the dementia floor' in section
