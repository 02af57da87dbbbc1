"""Recall and false alarms of the safeguarding screening on the frozen labelled set, per category.

Usage: python scripts/safeguarding_report.py [tests/data/safeguarding/frozen.toml]
       python scripts/safeguarding_report.py tests/data/safeguarding_tuning/examples.toml
       python scripts/safeguarding_report.py --misses FILE   (and list each missed disclosure and each
                                                              false alarm with the words that raised it)
       python scripts/safeguarding_report.py --backstop FILE (the indicators with the statistical
                                                              backstop, rules/safeguarding_model.json,
                                                              as deployed by default)

The tuning set's examples (`[[example]]`: category, text) are measured the same way, each built as a mail
whose body is the example's text (quoted and forwarded blocks included as written). A front-door labelled set
(tests/data/front_door/frozen*.toml, tests/data/labelled_*.toml: `kind`, `flags`) is measured as
scripts/front_door_report.py builds and classifies it (its trusted servers, our own addresses): a mail flagged
`safeguarding` is a disclosure of no stated category ("unlabelled").

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
from mailbot.classify.labelled import as_message as front_door_message  # noqa: E402
from mailbot.classify.labelled import load_set  # noqa: E402
from mailbot.classify.safeguarding import categories_found, load_screening  # noqa: E402
from mailbot.intake.parse import parse_mail  # noqa: E402

FROZEN = ROOT / "tests" / "data" / "safeguarding" / "frozen.toml"
OWN = frozenset({"complaints@riverside.example", "feedback@riverside.example", "@riverside.example"})


@dataclass(frozen=True)
class Tally:
    labelled: Counter[str]
    caught: Counter[str]
    right_category: Counter[str]
    disclosures: int
    disclosures_caught: int
    ordinary: int
    false_alarms: int
    misses: tuple[str, ...] = ()  # "id [categories]: subject / body" of each disclosure not flagged
    alarms: tuple[str, ...] = ()  # "id: category 'words' ... / body" of each ordinary mail flagged
    by_backstop: tuple[int, int] = (0, 0)  # disclosures and ordinary mails flagged by the backstop alone


def as_message(entry: dict[str, object]) -> bytes:
    message = EmailMessage()
    message["From"] = formataddr((str(entry["from_name"]), str(entry["from_address"])))
    message["To"] = "complaints@care.example.org"
    message["Subject"] = str(entry["subject"])
    message["Message-ID"] = f"<{entry['id']}@frozen.example>"
    message.set_content(str(entry["body"]))
    return message.as_bytes()


def as_entries(path: Path) -> list[dict[str, object]]:
    """The labelled mails of a frozen set, or the tuning set's examples, or a front-door set's mails, in the
    same shape."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    if "mail" in data and all("kind" in m for m in data["mail"]):
        return [_front_door_entry(m) for m in data["mail"]]
    if "mail" in data:
        return data["mail"]
    return [
        {"id": f"example-{i}", "from_name": "A Writer", "from_address": "writer@example.net",
         "subject": "About my relative", "body": e["text"],
         "label": "disclosure" if e["category"] else "ordinary",
         "categories": [e["category"]] if e["category"] else []}
        for i, e in enumerate(data["example"])
    ]  # fmt: skip


def _front_door_entry(mail: dict[str, object]) -> dict[str, object]:
    disclosure = "safeguarding" in mail.get("flags", ())  # type: ignore[operator]
    return {**mail, "label": "disclosure" if disclosure else "ordinary",
            "categories": ["unlabelled"] if disclosure else [], "front_door": True}  # fmt: skip


def _message(entry: dict[str, object]) -> bytes:
    if entry.get("front_door"):
        return front_door_message(
            {k: v for k, v in entry.items() if k not in ("label", "categories", "front_door")}
        )
    return as_message(entry)


def _trusted(path: Path) -> frozenset[str]:
    """A front-door set's own receiving servers, trusted as scripts/front_door_report.py trusts them."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return load_set(path).trusted_servers if "set" in data else frozenset()


def tally(path: Path = FROZEN, backstop: bool = False) -> Tally:
    model = ROOT / "rules" / "safeguarding_model.json" if backstop else None
    chain, screening = (
        load_chain(ROOT / "rules" / "classify.toml"),
        load_screening(ROOT / "rules" / "safeguarding.toml", model),
    )
    labelled, caught, right = Counter[str](), Counter[str](), Counter[str]()
    disclosures = found = ordinary = alarms = 0
    missed, raised, statistical = [], [], Counter[str]()
    trusted = _trusted(path)
    for entry in as_entries(path):
        mail = parse_mail(_message(entry))
        verdict = classify(mail, chain, None, OWN, screening, trusted_servers=trusted)
        flagged = "safeguarding" in verdict.flags
        statistical[str(entry["label"])] += any(f.statistical is not None for f in verdict.safeguarding)
        named = set(categories_found(verdict.safeguarding))
        if entry["label"] == "ordinary":
            ordinary, alarms = ordinary + 1, alarms + flagged
            if flagged:
                words = "; ".join(f"{f.category} {f.words!r}" for f in verdict.safeguarding)
                raised.append(f"{entry['id']}: {words}\n    {_one_line(entry)}")
            continue
        disclosures, found = disclosures + 1, found + flagged
        if not flagged:
            missed.append(f"{entry['id']} {entry['categories']}\n    {_one_line(entry)}")
        for category in entry["categories"]:
            labelled[category] += 1
            caught[category] += flagged
            right[category] += category in named
    by_backstop = (statistical["disclosure"], statistical["ordinary"])
    return Tally(
        labelled,
        caught,
        right,
        disclosures,
        found,
        ordinary,
        alarms,
        tuple(missed),
        tuple(raised),
        by_backstop,
    )


def _one_line(entry: dict[str, object]) -> str:
    return " ".join(f"{entry['subject']} / {entry.get('body') or entry.get('html', '')}".split())


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
    if any(t.by_backstop):
        lines.append(
            f"\nFlagged by the backstop alone: {t.by_backstop[0]} disclosures, {t.by_backstop[1]} ordinary"
        )
    return "\n".join(lines)


def listing(t: Tally) -> str:
    return "\n".join(["", "MISSED DISCLOSURES", *t.misses, "", "FALSE ALARMS", *t.alarms])


def _arguments(argv: list[str]) -> tuple[Path, bool, bool]:
    """(the set, --backstop, --misses); --help prints the usage, anything unknown exits with it."""
    usage = __doc__.split("\n\n")[1]
    if "-h" in argv or "--help" in argv:
        print(usage)
        sys.exit(0)
    files = [a for a in argv if a not in ("--misses", "--backstop")]
    if len(files) > 1 or any(a.startswith("-") for a in files):
        sys.exit(f"safeguarding_report.py: unknown arguments {files}\n{usage}")
    return (Path(files[0]) if files else FROZEN), "--backstop" in argv, "--misses" in argv


if __name__ == "__main__":
    path, backstop, misses = _arguments(sys.argv[1:])
    measured = tally(path, backstop)
    print(table(measured) + (listing(measured) if misses else ""))
