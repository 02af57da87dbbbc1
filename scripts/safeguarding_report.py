"""Recall and false alarms of the safeguarding screening on the frozen labelled set, per category.

Usage: python scripts/safeguarding_report.py [tests/data/safeguarding/frozen.toml]

Each labelled mail is built as a real message and classified as deployed (rule chain and screening). A
disclosure counts as caught when the mail is flagged for safeguarding, and as "right category" when its
labelled category is among those the alert names. The set was written apart from the rules and is never tuned
on; see its README.
"""

from __future__ import annotations

import sys
import tomllib
from collections import Counter
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mailbot.classify import classify, load_chain  # noqa: E402
from mailbot.classify.safeguarding import categories_found, load_screening  # noqa: E402
from mailbot.intake.parse import parse_mail  # noqa: E402

FROZEN = ROOT / "tests" / "data" / "safeguarding" / "frozen.toml"


@dataclass(frozen=True)
class Tally:
    labelled: Counter[str]
    caught: Counter[str]
    right_category: Counter[str]
    disclosures: int
    disclosures_caught: int
    ordinary: int
    false_alarms: int


def as_message(entry: dict[str, object]) -> bytes:
    message = EmailMessage()
    message["From"] = formataddr((str(entry["from_name"]), str(entry["from_address"])))
    message["To"] = "complaints@care.example.org"
    message["Subject"] = str(entry["subject"])
    message["Message-ID"] = f"<{entry['id']}@frozen.example>"
    message.set_content(str(entry["body"]))
    return message.as_bytes()


def tally(path: Path = FROZEN) -> Tally:
    chain, screening = (
        load_chain(ROOT / "rules" / "classify.toml"),
        load_screening(ROOT / "rules" / "safeguarding.toml"),
    )
    labelled, caught, right = Counter[str](), Counter[str](), Counter[str]()
    disclosures = found = ordinary = alarms = 0
    for entry in tomllib.loads(path.read_text(encoding="utf-8"))["mail"]:
        verdict = classify(parse_mail(as_message(entry)), chain, screening=screening)
        flagged = "safeguarding" in verdict.flags
        named = set(categories_found(verdict.safeguarding))
        if entry["label"] == "ordinary":
            ordinary, alarms = ordinary + 1, alarms + flagged
            continue
        disclosures, found = disclosures + 1, found + flagged
        for category in entry["categories"]:
            labelled[category] += 1
            caught[category] += flagged
            right[category] += category in named
    return Tally(labelled, caught, right, disclosures, found, ordinary, alarms)


def table(t: Tally) -> str:
    lines = [
        "| category | disclosures | flagged | flagged with this category |",
        "| --- | ---: | ---: | ---: |",
    ]
    for category in sorted(t.labelled):
        n = t.labelled[category]
        lines.append(f"| {category} | {n} | {t.caught[category]} | {t.right_category[category]} |")
    lines.append(f"| **all disclosures** | {t.disclosures} | {t.disclosures_caught} | |")
    lines.append(f"| ordinary mails flagged (false alarms) | {t.ordinary} | {t.false_alarms} | |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(tally(Path(sys.argv[1]) if len(sys.argv) > 1 else FROZEN)))
