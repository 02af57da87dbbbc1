"""Measure the rule chain against mail a person has labelled: a confusion table, precision and recall per kind
and per flag, so a change to rules/classify.toml is judged on evidence rather than on one example."""

# The labels file is CSV with the columns file,kind,flags (flags space-separated, may be empty); blank lines
# and lines starting with "#" are notes for the people who keep it. Every labelled mail is classified as new
# mail (no thread): a labelled set is a folder of files, so there is no case for it to answer.

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from mailbot.classify import Classification, RuleChain, classify
from mailbot.classify.chain import SAFEGUARDING_FLAG, mail_context, model_text
from mailbot.classify.kind_model import KindModel
from mailbot.classify.labelled import (
    EvaluationError,
    Label,
    _label,
    as_message,
    load_set,
    read_labels,
)
from mailbot.classify.result import SILENCING_FLAGS
from mailbot.classify.safeguarding import Screening
from mailbot.intake.parse import UnparseableMail, parse_mail
from mailbot.vocabulary import MACHINE_KINDS, NO_REPLY_FLAG, SILENT_KINDS, UNSURE_KIND_FLAG

# Flags that come from configuration and headers (our own address, a no-auto-reply request), not from what the
# mail says: nobody labels them, so they are left out of the flag scores.
# How an evaluation walks its labelled mails: ``list`` by default, a progress bar from the CLI.
Each = Callable[[Sequence], Iterable]  # type: ignore[type-arg]
UNJUDGED_FLAGS = SILENCING_FLAGS - {NO_REPLY_FLAG} | {UNSURE_KIND_FLAG}
# Reading order for tables: what people write first, then mail on a case, then machines.
_KIND_ORDER = (
    "complaint",
    "concern",
    "compliment",
    "comment",
    "subject_access",
    "foi",
    "reply",
    "escalation",
    "staff_reply",
    "auto_reply",
    "bounce",
    "bulk",
    "spam",
    "out_of_scope",
)


@dataclass(frozen=True)
class Judgement:
    """One labelled mail: the person's answer beside the rule chain's."""

    file: str
    expected_kind: str
    expected_flags: frozenset[str]
    kind: str
    flags: frozenset[str]
    decided_by: str | None = None  # the rule that chose the kind; None when no rule did (the chain's default)
    text: str = ""  # what the kind model reads of the mail, so a label can become a training example
    unsure: bool = False  # the kind was marked unsure (kind-neutral letters, the coordinator asked)
    # An automatic letter would go: the kind is answered and no flag forbids it (None: judged by kind alone).
    answered: bool | None = None


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
    model: KindModel | None = None,
    trusted_servers: frozenset[str] = frozenset(),
    each: Each = list,
) -> Evaluation:
    """Classify every labelled mail in `directory` as new mail and set the answers beside the labels;
    ``each`` walks the labels (the CLI's progress bar)."""
    rows = read_labels(labels, known_flags=settable_flags(chain, screening))
    classifier = _Classifier(chain, own_addresses, screening, model, trusted_servers)
    judgements = tuple(
        _judge(_read_mail(directory, labels, row), directory / row.file, labels, row, classifier)
        for row in each(rows)
    )
    return Evaluation(judgements, _unlabelled(directory, rows))


def evaluate_set(
    path: Path,
    chain: RuleChain,
    own_addresses: frozenset[str] = frozenset(),
    screening: Screening | None = None,
    model: KindModel | None = None,
    trusted_servers: frozenset[str] = frozenset(),
    each: Each = list,
) -> Evaluation:
    """The same for a labelled set written as one TOML file (see labelled.py); the set's own receiving
    servers are trusted as the configuration's are."""
    labelled = load_set(path)
    known = settable_flags(chain, screening)
    trusted = trusted_servers | labelled.trusted_servers
    classifier = _Classifier(chain, own_addresses, screening, model, trusted)
    judgements = []
    for line, entry in enumerate(each(labelled.mails), start=1):
        row = _label(path, line, [entry["id"], entry["kind"], " ".join(entry.get("flags", ()))], known)
        judgements.append(_judge(as_message(entry), f"{path}#{entry['id']}", path, row, classifier))
    return Evaluation(tuple(judgements))


def evaluate_any(
    source: Path, labels: Path | None, chain: RuleChain, own_addresses: frozenset[str], **options: object
) -> Evaluation:
    """A folder with a labels file, or a .toml set."""
    if source.suffix == ".toml":
        return evaluate_set(source, chain, own_addresses, **options)  # type: ignore[arg-type]
    if labels is None:
        raise EvaluationError(f"{source}: a folder of .eml files needs --labels FILE.csv")
    return evaluate(source, labels, chain, own_addresses, **options)  # type: ignore[arg-type]


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
    model: KindModel | None = None
    trusted_servers: frozenset[str] = frozenset()


def _read_mail(directory: Path, labels: Path, row: Label) -> bytes:
    try:
        return (directory / row.file).read_bytes()
    except OSError as exc:
        raise EvaluationError(
            f"{labels}:{row.line}: {row.file} cannot be read from {directory} ({exc.strerror})"
        ) from exc


def _judge(raw: bytes, where: Path | str, labels: Path, row: Label, classifier: _Classifier) -> Judgement:
    try:
        mail = parse_mail(raw)
    except UnparseableMail as exc:
        raise EvaluationError(f"{where}: not a mail ({exc}); labelled at {labels}:{row.line}") from exc
    chain = classifier.chain
    verdict = classify(
        mail, chain, None, classifier.own_addresses, classifier.screening,
        trusted_servers=classifier.trusted_servers, model=classifier.model,
    )  # fmt: skip
    flags = frozenset(verdict.flags) - UNJUDGED_FLAGS
    text = model_text(mail_context(mail, None, classifier.own_addresses))
    return Judgement(
        row.file,
        row.kind,
        row.flags,
        verdict.kind,
        flags,
        _decided_by(chain, verdict),
        text,
        verdict.unsure,
        verdict.may_auto_reply,
    )


def _decided_by(chain: RuleChain, verdict: Classification) -> str | None:
    """The chain stops at the rule that decides, so that is the last hit, unless only flag rules hit."""
    last = verdict.rules_hit[-1] if verdict.rules_hit else None
    deciding = {step.rule.name for step in chain.steps if step.kind is not None}
    return last if last in deciding else None


def _unlabelled(directory: Path, rows: tuple[Label, ...]) -> tuple[str, ...]:
    labelled = {row.file for row in rows}
    return tuple(sorted(p.name for p in directory.glob("*.eml") if p.name not in labelled))


# --- the report a person reads --------------------------------------------------------------------------


def format_evaluation(e: Evaluation) -> str:
    """Plain text for a terminal: headline, confusion table, per-kind and per-flag scores, the misses."""
    sections = [_headline(e), confusion_table(e), _score_table("kind", e.kind_scores())]
    if e.flags:
        sections.append(_score_table("flag", e.flag_scores()))
    sections.append(_misses(e))
    if e.unlabelled:
        sections.append(f"Not labelled, so not evaluated: {', '.join(e.unlabelled)}")
    return "\n\n".join(sections) + "\n"


def _headline(e: Evaluation) -> str:
    unsure = sum(j.unsure for j in e.judgements)
    return (
        f"{len(e.judgements)} labelled mails; kind right for {e.right} (accuracy {_percent(e.accuracy)}); "
        f"{unsure} marked unsure; {machine_person_errors(e)}"
    )


def machine_person_errors(e: Evaluation) -> str:
    """The two mistakes that matter most at the door: a person's mail taken for a machine's (it would go
    unanswered, perhaps unseen), and a machine's mail answered (backscatter, mail loops): an automatic letter
    would go, its kind answered and no flag (a mark of mass mail, a no-reply address) forbidding it."""
    people = [j for j in e.judgements if j.expected_kind not in _MACHINE]
    machines = [j for j in e.judgements if j.expected_kind in _MACHINE]
    lost = sum(j.kind in _MACHINE for j in people)
    answered = sum(j.kind not in _SILENT if j.answered is None else j.answered for j in machines)
    return f"person taken for machine {lost}/{len(people)}, machine mail answered {answered}/{len(machines)}"


_MACHINE = frozenset(MACHINE_KINDS)
_SILENT = frozenset(SILENT_KINDS)


def confusion_table(e: Evaluation) -> str:
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
        by = j.decided_by or "the default"
        parts.append(f"labelled {j.expected_kind}, chosen {j.kind}{' (unsure)' if j.unsure else ''} by {by}")
    if missing := sorted(j.expected_flags - j.flags):
        parts.append(f"flag missed: {' '.join(missing)}")
    if extra := sorted(j.flags - j.expected_flags):
        parts.append(f"flag not labelled: {' '.join(extra)}")
    return f"  {j.file}: {'; '.join(parts)}" if parts else ""


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"
