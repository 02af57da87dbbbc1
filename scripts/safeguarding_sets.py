"""The labelled safeguarding mails the backstop may learn from, in groups that were written together.

Used by scripts/train_safeguarding_model.py to train the shipped model and to measure it held out: each
group is scored by a model trained on all the others. The tuning set's batches are told apart by the comment
header each starts with (tests/data/safeguarding_tuning/README.md names them); a batch of "second examples"
written from another batch's misses joins that batch's group, so a held-out batch is never scored by a
model that learnt its paraphrases. The third frozen set is never read here.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "tests" / "data" / "safeguarding_tuning" / "examples.toml"
FROZEN_SETS = (ROOT / "tests" / "data" / "safeguarding" / "frozen.toml",
               ROOT / "tests" / "data" / "safeguarding" / "frozen2.toml")  # fmt: skip
# Every part of the front door's kind-labelled tuning set (labelled_more.toml, labelled_fresh.toml, ...):
# found by name, so a new part joins without an edit here. The front door's frozen sets are not among them.
LABELLED_SETS = tuple(sorted((ROOT / "tests" / "data").glob("labelled_*.toml")))
CORPUS = ROOT.parent / "shared" / "corpus"

# (start of the batch's header, batch name, the commit that added it with the indicators it led to: the
# commit's parent holds the indicators as they stood for the batch's first run).
_BATCHES = (
    ("# Second batch", "2nd", "46e3240"), ("# Third batch", "3rd", "5e4b28e"),
    ("# Fourth batch", "4th", "df11674"), ("# Fifth batch", "5th", "6b85f32"),
    ("# Sixth batch", "6th", "6970054"), ("# The seventh batch", "7th", ""),
    ("# Written with the issue-17 third round", "8th", ""), ("# The ninth batch", "9th", "79b1fdd"),
    ("# The eleventh batch", "11th", "206c017"), ("# The thirteenth batch", "13th", "11969d8"),
    ("# The fifteenth batch", "15th", "e464bf3"), ("# The seventeenth batch", "17th", "3adbe54"),
    ("# The nineteenth batch", "19th", "886038f"), ("# The twenty-first batch", "21st", "0f8a431"),
    ("# The twenty-third batch", "23rd", "dc95730"), ("# The twenty-fifth batch", "25th", "cf75823"),
    ("# The twenty-seventh batch", "27th", "71c8a3b"), ("# The twenty-ninth batch", "29th", "873e91f"),
    ("# The 38th batch", "38th", "00cfcb5"), ("# The 40th batch", "40th", "3c76aa8"),
    ("# The 42nd batch", "42nd", "bcef0f1"), ("# The 44th batch", "44th", "39ede32"),
)  # fmt: skip
# Batches written from the (seen) frozen sets' misses: left out of training when a frozen set is held out.
FROM_FROZEN = ("8th", "26th", "31st")
_FOLLOWERS = re.compile(r"^# (Second|Examples, in other words)")
_ADDENDA = re.compile(r"^# (Harmless-use|Dropped|A resident's)")  # a few examples added to the 6th batch


@dataclass(frozen=True)
class Labelled:
    """One labelled mail: its group, a mail to build, and its category ('' for an ordinary mail)."""

    group: str
    batch: str
    id: str
    subject: str
    body: str
    categories: tuple[str, ...]

    @property
    def disclosure(self) -> bool:
        return bool(self.categories)

    @property
    def text(self) -> str:
        return f"{self.subject}\n{self.body}"


def first_run_commits() -> dict[str, str]:
    return {name: commit for _, name, commit in _BATCHES if commit}


def tuning_examples(path: Path = EXAMPLES) -> list[Labelled]:
    """The tuning set's examples with their batch and group, read in file order. They have no subject (the
    report's "About my relative" on every one would teach a model that those words mean a disclosure)."""
    entries = tomllib.loads(path.read_text(encoding="utf-8"))["example"]
    batches = _batch_of_each_example(path.read_text(encoding="utf-8").splitlines())
    return [
        Labelled(group, batch, f"example-{i}", "", e["text"],
                 (e["category"],) if e["category"] else ())
        for i, (e, (batch, group)) in enumerate(zip(entries, batches, strict=True))
    ]  # fmt: skip


def _batch_of_each_example(lines: list[str]) -> list[tuple[str, str]]:
    batch = group = "early"
    after_text, out, extra = True, [], 0
    for line in lines:
        if line.startswith("#") and after_text and len(line) > 40:
            batch, group, extra = _name(line, batch, group, extra)
        after_text = not line.startswith("#")
        if line.startswith("[[example]]"):
            out.append((batch, group))
    return out


def _name(header: str, batch: str, group: str, extra: int) -> tuple[str, str, int]:
    for start, name, _ in _BATCHES:
        if header.startswith(start):
            return name, name, extra
    if header.startswith("# ----"):
        return "1st", "1st", extra
    if batch == "early":  # the file's own header
        return batch, group, extra
    if header.startswith("# ordinary mail"):
        return batch, group, extra
    if _ADDENDA.match(header):  # added later, so not part of the 6th batch's first run
        return f"{batch.removesuffix('-addenda')}-addenda", group, extra
    if _FOLLOWERS.match(header):
        return _follower_name(batch), group, extra
    return f"added-{extra + 1}", f"added-{extra + 1}", extra + 1


def _follower_name(batch: str) -> str:
    """The 'second examples' batch after the 9th is the 10th, and so on."""
    number = re.match(r"\d+", batch)
    if number is None:
        return batch
    n = int(number.group()) + 1
    ending = {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th") if n % 100 not in (11, 12, 13) else "th"
    return f"{n}{ending}"


def frozen_mails(path: Path) -> list[Labelled]:
    name = path.stem
    return [
        Labelled(name, name, m["id"], m["subject"], m["body"],
                 tuple(m["categories"]) if m["label"] == "disclosure" else ())
        for m in tomllib.loads(path.read_text(encoding="utf-8"))["mail"]
    ]  # fmt: skip


def labelled_mails(path: Path) -> list[Labelled]:
    """The kind-labelled care mails: a disclosure is one flagged 'safeguarding' (no category is given)."""
    name = path.stem
    return [
        Labelled(name, name, m["id"], m["subject"], m.get("body", ""),
                 ("unlabelled",) if "safeguarding" in m.get("flags", ()) else ())
        for m in tomllib.loads(path.read_text(encoding="utf-8"))["mail"]
    ]  # fmt: skip


def all_labelled() -> list[Labelled]:
    mails = tuning_examples()
    for path in FROZEN_SETS:
        mails += frozen_mails(path)
    for path in LABELLED_SETS:
        mails += labelled_mails(path)
    return mails


def corpus_files() -> list[Path]:
    """The shared corpus of real-world mail (bounces, lists, auto-replies, a few people's mails): none is
    about care, so each is an ordinary mail. Empty where the corpus is absent."""
    if not CORPUS.is_dir():
        return []
    return sorted(
        p
        for p in CORPUS.rglob("*")
        if p.is_file() and p.name not in ("SOURCE.md", "LICENSE", "NOTICE", "README.md")
    )
