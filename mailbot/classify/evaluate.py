"""Measure the rule chain against mail a person has labelled: a confusion table, precision and recall per kind
and per flag, so a change to rules/classify.toml is judged on evidence rather than on one example."""

# The labels file is CSV with the columns file,kind,flags (flags space-separated, may be empty); blank lines
# and lines starting with "#" are notes for the people who keep it. Every labelled mail is classified as new
# mail (no thread): a labelled set is a folder of files, so there is no case for it to answer.

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from mailbot.classify import KINDS, Classification, RuleChain, classify
from mailbot.classify.chain import SAFEGUARDING_FLAG
from mailbot.classify.result import SILENCING_FLAGS
from mailbot.classify.safeguarding import Screening
from mailbot.errors import UserError
from mailbot.intake.parse import UnparseableMail, parse_mail

HEADER = ("file", "kind", "flags")
# Flags that come from configuration and headers (our own address, a no-auto-reply request), not from what the
# mail says: nobody labels them, so they are left out of the flag scores.
UNJUDGED_FLAGS = SILENCING_FLAGS
# Reading order for tables: what people write first, then mail on a case, then machines.
_KIND_ORDER = (
    "complaint",
    "concern",
    "compliment",
    "comment",
    "reply",
    "escalation",
    "staff_reply",
    "auto_reply",
    "bounce",
    "bulk",
    "out_of_scope",
)


class EvaluationError(UserError):
    """The labels file or a labelled mail cannot be used; the message names the file and, where there is
    one, the line."""


@dataclass(frozen=True)
class Label:
    """One row of the labels file: what a complaints coordinator says the mail is."""

    file: str
    kind: str
    flags: frozenset[str]
    line: int


@dataclass(frozen=True)
class Judgement:
    """One labelled mail: the person's answer beside the rule chain's."""

    file: str
    expected_kind: str
    expected_flags: frozenset[str]
    kind: str
    flags: frozenset[str]
    decided_by: str | None = None  # the rule that chose the kind; None when no rule did (the chain's default)


@dataclass(frozen=True)
class Score:
    """Counts for one kind or flag; precision and recall are None when nothing was there to count."""

    name: str
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def expected(self) -> int:
        return self.true_positives + self.false_negatives

    @property
    def predicted(self) -> int:
        return self.true_positives + self.false_positives

    @property
    def precision(self) -> float | None:
        return self.true_positives / self.predicted if self.predicted else None

    @property
    def recall(self) -> float | None:
        return self.true_positives / self.expected if self.expected else None


@dataclass(frozen=True)
class Evaluation:
    """Every labelled mail judged; the scores are worked out from the judgements when asked for."""

    judgements: tuple[Judgement, ...]
    unlabelled: tuple[str, ...] = ()  # .eml files in the folder with no row in the labels file

    @property
    def right(self) -> int:
        return sum(j.kind == j.expected_kind for j in self.judgements)

    @property
    def accuracy(self) -> float:
        return self.right / len(self.judgements) if self.judgements else 0.0

    @property
    def confusion(self) -> Mapping[tuple[str, str], int]:
        """(expected kind, predicted kind) -> number of mails."""
        return Counter((j.expected_kind, j.kind) for j in self.judgements)

    @property
    def kinds(self) -> tuple[str, ...]:
        """Every kind that was expected or predicted, in reading order."""
        seen = {j.expected_kind for j in self.judgements} | {j.kind for j in self.judgements}
        return _in_reading_order(seen)

    @property
    def flags(self) -> tuple[str, ...]:
        return tuple(sorted(set().union(*(j.expected_flags | j.flags for j in self.judgements))))

    def kind_score(self, kind: str) -> Score:
        pairs = [(j.expected_kind == kind, j.kind == kind) for j in self.judgements]
        return _score(kind, pairs)

    def flag_score(self, flag: str) -> Score:
        pairs = [(flag in j.expected_flags, flag in j.flags) for j in self.judgements]
        return _score(flag, pairs)

    def kind_scores(self) -> tuple[Score, ...]:
        return tuple(self.kind_score(kind) for kind in self.kinds)

    def flag_scores(self) -> tuple[Score, ...]:
        return tuple(self.flag_score(flag) for flag in self.flags)


def _score(name: str, pairs: Iterable[tuple[bool, bool]]) -> Score:
    """pairs: (the person said so, the rules said so) for each mail."""
    counts = Counter(pairs)
    return Score(name, counts[True, True], counts[False, True], counts[True, False])


def _in_reading_order(kinds: Iterable[str]) -> tuple[str, ...]:
    rank = {kind: index for index, kind in enumerate(_KIND_ORDER)}
    return tuple(sorted(kinds, key=lambda kind: (rank.get(kind, len(rank)), kind)))


# --- running the chain over the labelled set ------------------------------------------------------------


def evaluate(
    directory: Path,
    labels: Path,
    chain: RuleChain,
    own_addresses: frozenset[str] = frozenset(),
    screening: Screening | None = None,
) -> Evaluation:
    """Classify every labelled mail in `directory` as new mail and set the answers beside the labels."""
    rows = read_labels(labels, known_flags=settable_flags(chain, screening))
    classifier = _Classifier(chain, own_addresses, screening)
    judgements = tuple(_judge(directory, labels, row, classifier) for row in rows)
    return Evaluation(judgements, _unlabelled(directory, rows))


def run_eval(
    directory: Path,
    labels: Path,
    chain: RuleChain,
    own_addresses: frozenset[str],
    screening: Screening | None = None,
) -> str:
    """What `mailbot eval DIR --labels FILE.csv` prints."""
    return format_evaluation(evaluate(directory, labels, chain, own_addresses, screening))


def settable_flags(chain: RuleChain, screening: Screening | None = None) -> frozenset[str]:
    """Every flag some rule can add; a labelled flag outside this set is a typo."""
    screened = {SAFEGUARDING_FLAG} if screening is not None else set()
    return frozenset({*(flag for step in chain.steps for flag in step.flags), *screened})


@dataclass(frozen=True)
class _Classifier:
    chain: RuleChain
    own_addresses: frozenset[str]
    screening: Screening | None


def _judge(directory: Path, labels: Path, row: Label, classifier: _Classifier) -> Judgement:
    path = directory / row.file
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise EvaluationError(
            f"{labels}:{row.line}: {row.file} cannot be read from {directory} ({exc.strerror})"
        ) from exc
    try:
        mail = parse_mail(raw)
    except UnparseableMail as exc:
        raise EvaluationError(f"{path}: not a mail ({exc}); labelled at {labels}:{row.line}") from exc
    chain = classifier.chain
    verdict = classify(mail, chain, None, classifier.own_addresses, classifier.screening)
    flags = frozenset(verdict.flags) - UNJUDGED_FLAGS
    return Judgement(row.file, row.kind, row.flags, verdict.kind, flags, _decided_by(chain, verdict))


def _decided_by(chain: RuleChain, verdict: Classification) -> str | None:
    """The chain stops at the rule that decides, so that is the last hit, unless only flag rules hit."""
    last = verdict.rules_hit[-1] if verdict.rules_hit else None
    deciding = {step.rule.name for step in chain.steps if step.kind is not None}
    return last if last in deciding else None


def _unlabelled(directory: Path, rows: tuple[Label, ...]) -> tuple[str, ...]:
    labelled = {row.file for row in rows}
    return tuple(sorted(p.name for p in directory.glob("*.eml") if p.name not in labelled))


# --- reading the labels file ----------------------------------------------------------------------------


def read_labels(path: Path, known_flags: frozenset[str] | None = None) -> tuple[Label, ...]:
    """Rows of the labels file; any bad row raises EvaluationError naming the file and line."""
    rows = list(_csv_rows(path))
    if not rows or tuple(field.strip().lower() for field in rows[0][1]) != HEADER:
        raise EvaluationError(
            f"{path}:{rows[0][0] if rows else 1}: the first row must be the header {','.join(HEADER)}"
        )
    labels = tuple(_label(path, line, fields, known_flags) for line, fields in rows[1:])
    if not labels:
        raise EvaluationError(f"{path}: no labelled mails after the header")
    _check_unique(path, labels)
    return labels


def _csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) for each row that is not blank or a # note."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeError) as exc:
        raise EvaluationError(f"{path}: cannot be read ({exc})") from exc
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip() and not line.lstrip().startswith("#"):
            yield number, next(csv.reader([line]))


def _label(path: Path, line: int, fields: list[str], known_flags: frozenset[str] | None) -> Label:
    where = f"{path}:{line}"
    if len(fields) not in (2, 3) or not fields[0].strip():
        raise EvaluationError(f"{where}: expected file,kind,flags (flags may be empty), got {fields}")
    name, kind = fields[0].strip(), fields[1].strip()
    flags = frozenset(fields[2].split()) if len(fields) == 3 else frozenset()
    if kind not in KINDS:
        raise EvaluationError(f"{where}: unknown kind {kind!r} for {name}; accepted: {sorted(KINDS)}")
    if known_flags is not None and (unknown := sorted(flags - known_flags)):
        raise EvaluationError(
            f"{where}: unknown flag(s) {unknown} for {name}; the rule chain sets: {sorted(known_flags)}"
        )
    return Label(name, kind, flags, line)


def _check_unique(path: Path, labels: tuple[Label, ...]) -> None:
    first: dict[str, int] = {}
    for label in labels:
        if label.file in first:
            raise EvaluationError(
                f"{path}:{label.line}: {label.file} is already labelled on line {first[label.file]}"
            )
        first[label.file] = label.line


# --- the report a person reads --------------------------------------------------------------------------


def format_evaluation(e: Evaluation) -> str:
    """Plain text for a terminal: headline, confusion table, per-kind and per-flag scores, the misses."""
    sections = [_headline(e), _confusion_table(e), _score_table("kind", e.kind_scores())]
    if e.flags:
        sections.append(_score_table("flag", e.flag_scores()))
    sections.append(_misses(e))
    if e.unlabelled:
        sections.append(f"Not labelled, so not evaluated: {', '.join(e.unlabelled)}")
    return "\n\n".join(sections) + "\n"


def _headline(e: Evaluation) -> str:
    return f"{len(e.judgements)} labelled mails; kind right for {e.right} (accuracy {_percent(e.accuracy)})"


def _confusion_table(e: Evaluation) -> str:
    """Columns are numbered (kind names are too long for column heads); the row label gives the number."""
    kinds, confusion = e.kinds, e.confusion
    if not kinds:
        return "Confusion: no mails"
    width = max(len(kind) for kind in kinds) + 4
    lines = [
        "Confusion: rows = labelled kind, columns = kind the rules chose",
        " " * width + "".join(f"{n:>5}" for n in range(1, len(kinds) + 1)),
    ]
    for row, expected in enumerate(kinds, start=1):
        cells = (confusion.get((expected, predicted), 0) for predicted in kinds)
        label = f"{row:>2} {expected}"
        lines.append(f"{label:<{width}}" + "".join(f"{count or '.':>5}" for count in cells))
    return "\n".join(lines)


def _score_table(what: str, scores: tuple[Score, ...]) -> str:
    width = max(len(what), *(len(score.name) for score in scores)) + 2
    lines = [f"{what:<{width}}{'labelled':>9}{'chosen':>8}{'right':>7}{'precision':>11}{'recall':>9}"]
    for s in scores:
        lines.append(
            f"{s.name:<{width}}{s.expected:>9}{s.predicted:>8}{s.true_positives:>7}"
            f"{_percent(s.precision):>11}{_percent(s.recall):>9}"
        )
    return "\n".join(lines)


def _misses(e: Evaluation) -> str:
    lines = [line for j in e.judgements if (line := _miss(j))]
    return "Misses:\n" + "\n".join(lines) if lines else "Misses: none"


def _miss(j: Judgement) -> str:
    parts = []
    if j.kind != j.expected_kind:
        parts.append(f"labelled {j.expected_kind}, chosen {j.kind} by {j.decided_by or 'the default'}")
    if missing := sorted(j.expected_flags - j.flags):
        parts.append(f"flag missed: {' '.join(missing)}")
    if extra := sorted(j.flags - j.expected_flags):
        parts.append(f"flag not labelled: {' '.join(extra)}")
    return f"  {j.file}: {'; '.join(parts)}" if parts else ""


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"
