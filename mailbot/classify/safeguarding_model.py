"""The safeguarding backstop: a statistical screen for disclosures told in words no indicator has.

The indicators (rules/safeguarding.toml) know the words they were written from; fresh wording of the same
harm is often missed. This screen is a logistic regression on word n-grams, trained by
scripts/train_safeguarding_model.py on the labelled disclosures and ordinary care mails, that names a
category (or "ordinary") from the words around the sign. It is shipped as data (JSON: the vocabulary, the
inverse document frequencies, the weights and the threshold), never a pickle; prediction repeats
scikit-learn's arithmetic here (tested to agree) and explains itself by the n-grams of the mail that
weighed most towards a disclosure, so the lead sees why in seconds.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from mailbot.classify.kind_model import WORDS, softmax, word_grams
from mailbot.errors import UserError

FORMAT = "mailbot-safeguarding-model/1"
ORDINARY = "ordinary"  # the class of mail with no disclosure
UNCLEAR = "named"  # the indicators' "harm named, type not yet clear", when no category stands out
# The kind model's word analyser (WORDS, word_grams): the same text always gives the same n-grams.
_TOKEN = re.compile(WORDS["token_pattern"])
WINDOW = 700  # characters scored at a time: a sign in passing is not drowned by a long mail's other words
# Fewer words than this are too few to judge by their statistics ("Nobody has rung me yet." reads as a
# sign of neglect); the shortest disclosure in the labelled sets has seven.
MIN_WORDS = 6
READ_LIMIT = 20_000  # characters of a mail the backstop reads (bounded work; the indicators read more)
_SENTENCE = re.compile(r"(?<=[.!?\n])\s+")
# Words that carry weight in the model (disclosures are often told about "her" or "him") but tell the lead
# nothing: left out of the explanation, never out of the arithmetic.
_FUNCTION_WORDS_LISTED = (
    "a about after all also am an and any are as at be been before being but by can could did do "
    "does for from had has have he her here hers him his how if in into is it its just me my no nor "
    "not now of on only or our out she so some than that the their them then there these they this "
    "those to too up us very was we were what when where which while who why will with would you "
    "your"
)
_FUNCTION_WORDS = frozenset(_FUNCTION_WORDS_LISTED.split())


class SafeguardingModelError(UserError):
    """The backstop's model file cannot be read; names the file and what to do."""


@dataclass(frozen=True)
class Example:
    text: str
    category: str  # a category key, or ORDINARY


@dataclass(frozen=True)
class Suspicion:
    """What the backstop thinks of the most suspicious stretch of a mail."""

    probability: float  # of a disclosure, 0..1
    category: str  # a category key, or UNCLEAR
    words: tuple[str, ...]  # the mail's n-grams that weighed most towards a disclosure, strongest first
    where: str  # the part of the mail ("text", "subject", "attachment x.pdf")


@dataclass(frozen=True)
class SafeguardingModel:
    classes: tuple[str, ...]  # category keys and ORDINARY
    vocabulary: dict[str, int]
    idf: tuple[float, ...]
    coef: tuple[tuple[float, ...], ...]  # one row per class
    intercept: tuple[float, ...]
    threshold: float  # a stretch at or over this probability of a disclosure is flagged
    trained_on: str  # fingerprint of the examples
    examples: int
    # The weights by n-gram (each column's weight for every class): a stretch's few n-grams are added up
    # column by column, several times faster than row by row over a dict.
    columns: tuple[tuple[float, ...], ...] = field(init=False, repr=False, compare=False)
    names: dict[int, str] = field(init=False, repr=False, compare=False)  # column -> n-gram

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", tuple(zip(*self.coef, strict=True)))
        object.__setattr__(self, "names", {col: gram for gram, col in self.vocabulary.items()})

    def probabilities(self, text: str) -> tuple[dict[str, float], dict[int, float]]:
        """Each class's probability for one stretch of text, and its weighted n-grams (column: value)."""
        vector = self.vector(text)
        return dict(zip(self.classes, softmax(self._scores(vector)), strict=True)), vector

    def _scores(self, vector: dict[int, float]) -> list[float]:
        """Each class's intercept plus its weight times each n-gram's value, added one n-gram after another
        in the vector's order: cumsum over the rows adds in that order, so the scores are the same to the
        last bit as adding them up one by one, for every class at once."""
        import numpy as np

        if not vector:
            return list(self.intercept)
        weighted = self._weights[list(vector)] * np.array(list(vector.values()))[:, None]
        totals = np.cumsum(np.vstack([np.array(self.intercept), weighted]), axis=0)[-1]
        return [float(total) for total in totals]

    def prepare(self) -> None:
        """Make now what the first score would (the weight array, importing numpy): in a process that forks
        read-ahead workers, once for all of them."""
        _ = self._weights

    @cached_property
    def _weights(self) -> Any:
        """The weights as one array (columns x classes), made once a model; numpy is imported only here."""
        import numpy as np

        return np.array(self.columns, dtype=np.float64)

    def vector(self, text: str, grams: list[str] | None = None) -> dict[int, float]:
        """TF-IDF as scikit-learn computes it: (1 + log count) x idf, scaled to unit length. ``grams`` are
        the text's word_grams when the caller has them already."""
        vocabulary = self.vocabulary
        counts = Counter(
            map(vocabulary.__getitem__, filter(vocabulary.__contains__, grams or word_grams(text)))
        )
        weights = {col: (1 + math.log(n)) * self.idf[col] for col, n in counts.items()}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        return {col: w / norm for col, w in weights.items()}

    def judge(self, text: str, where: str, top: int = 5) -> Suspicion:
        probabilities, vector = self.probabilities(text)
        disclosure = 1.0 - probabilities[ORDINARY]
        return Suspicion(
            disclosure, self._category(probabilities, disclosure), self._weighed(vector, top), where
        )

    def _category(self, probabilities: dict[str, float], disclosure: float) -> str:
        """The category when it holds at least half of the disclosure's probability, else "unclear"."""
        best = max((c for c in self.classes if c != ORDINARY), key=probabilities.__getitem__)
        return best if disclosure and probabilities[best] / disclosure >= 0.5 else UNCLEAR

    def _weighed(self, vector: dict[int, float], top: int) -> tuple[str, ...]:
        """The n-grams that pushed hardest away from "ordinary": what the lead reads as the reason."""
        ordinary = self.classes.index(ORDINARY)
        names = self.names
        pushes = sorted(((-self.coef[ordinary][c] * v, c) for c, v in vector.items()), reverse=True)
        telling = [
            names[c] for push, c in pushes if push > 0 and not _FUNCTION_WORDS.issuperset(names[c].split())
        ]
        return tuple(telling[:top])

    def most_suspicious(self, parts: Iterable[tuple[str, str]]) -> Suspicion | None:
        """The highest-scoring stretch over the parts (where, text), reading at most READ_LIMIT characters.
        The subject is read with the text after it: a few words alone are too few to judge."""
        best: tuple[float, str, str] | None = None  # (probability, stretch, where): explained at the end
        budget, subject = READ_LIMIT, ""
        for where, text in parts:
            if where == "subject":
                subject = text + "\n"
                continue
            text, subject = subject + text, ""
            for window in windows(text[:budget]):
                grams = _words_and_pairs(window)
                if grams is None:  # not plain ASCII: its words counted as written, its n-grams lower case
                    if len(_TOKEN.findall(window)) < MIN_WORDS:
                        continue
                elif len(grams) < 2 * MIN_WORDS - 1:  # n words give n - 1 pairs
                    continue
                scores = self._scores(self.vector(window, grams))
                probability = 1.0 - dict(zip(self.classes, softmax(scores), strict=True))[ORDINARY]
                best = (probability, window, where) if best is None or probability > best[0] else best
            budget -= min(len(text), budget)
        return None if best is None else self.judge(best[1], best[2])


def _words_and_pairs(window: str) -> list[str] | None:
    """word_grams of a plain ASCII window (where lower case changes no word's length, its words are the
    words counted against MIN_WORDS); None for any other window."""
    return word_grams(window) if window.isascii() else None


def windows(text: str) -> list[str]:
    """The text in stretches of whole sentences up to about WINDOW characters, each overlapping the next by
    one sentence, so a sign that spans two sentences is read together."""
    sentences = [s for s in _SENTENCE.split(text) if s.strip()]
    if len(text) <= WINDOW or len(sentences) <= 1:
        return [text] if text.strip() else []
    stretches, current = [], []
    for sentence in sentences:
        if current and sum(map(len, current)) + len(sentence) > WINDOW:
            stretches.append(" ".join(current))
            current = current[-1:]
        current.append(sentence)
    stretches.append(" ".join(current))
    return stretches


def fingerprint(examples: Iterable[Example]) -> str:
    digest = hashlib.sha256()
    for example in sorted(examples, key=lambda e: (e.category, e.text)):
        digest.update(f"{example.category}\0{example.text}\0".encode())
    return digest.hexdigest()


def train(
    examples: Sequence[Example], threshold: float, negatives: Sequence[str] = (), c: float = 10.0
) -> SafeguardingModel:
    """Fit on the labelled examples; ``negatives`` (mail from outside care, say) count as ordinary but lend
    no words to the vocabulary. scikit-learn is imported here only: screening never needs it."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(sublinear_tf=True, min_df=2, **WORDS)
    vectorizer.fit([e.text for e in examples])
    matrix = vectorizer.transform([*(e.text for e in examples), *negatives])
    labels = [*(e.category for e in examples), *([ORDINARY] * len(negatives))]
    # Balanced: disclosures outnumber ordinary mail in the labelled sets, and rare categories must count.
    model = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
    model.fit(matrix, labels)
    return SafeguardingModel(
        classes=tuple(str(k) for k in model.classes_),
        vocabulary={str(g): int(col) for g, col in vectorizer.vocabulary_.items()},
        idf=tuple(float(x) for x in vectorizer.idf_),
        coef=tuple(tuple(float(x) for x in row) for row in model.coef_),
        intercept=tuple(float(x) for x in model.intercept_),
        threshold=threshold,
        trained_on=fingerprint(examples),
        examples=len(examples) + len(negatives),
    )


# --- the shipped file -------------------------------------------------------------------------------------


def save(model: SafeguardingModel, path: Path) -> None:
    """Weights rounded to six places: the file stays reviewable in size, the scores move by less than 1e-4."""
    document: dict[str, Any] = {
        "format": FORMAT, "classes": model.classes, "threshold": model.threshold,
        "trained_on": model.trained_on, "examples": model.examples,
        "intercept": [round(x, 6) for x in model.intercept], "idf": [round(x, 6) for x in model.idf],
        "vocabulary": dict(sorted(model.vocabulary.items(), key=lambda item: item[1])),
        "coef": [[round(x, 6) for x in row] for row in model.coef],
    }  # fmt: skip
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(document, separators=(",", ":")) + "\n", encoding="utf-8")
    partial.replace(path)


def load(path: Path) -> SafeguardingModel:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SafeguardingModelError(
            f"{path}: no such file; train it with scripts/train_safeguarding_model.py, name another with "
            f"[cases] safeguarding_model, or set [cases] safeguarding_backstop = false"
        ) from None
    except (OSError, ValueError) as exc:
        raise SafeguardingModelError(f"{path}: cannot be read as a safeguarding model ({exc})") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise SafeguardingModelError(
            f"{path}: not a {FORMAT} file; retrain with scripts/train_safeguarding_model.py"
        )
    if ORDINARY not in document["classes"]:
        raise SafeguardingModelError(f"{path}: has no {ORDINARY!r} class; retrain it")
    return SafeguardingModel(
        classes=tuple(document["classes"]), vocabulary=document["vocabulary"], idf=tuple(document["idf"]),
        coef=tuple(tuple(row) for row in document["coef"]), intercept=tuple(document["intercept"]),
        threshold=float(document["threshold"]), trained_on=document["trained_on"],
        examples=int(document["examples"]),
    )  # fmt: skip
