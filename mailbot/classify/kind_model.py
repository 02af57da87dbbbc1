"""A small statistical model of what kind of mail a person wrote, learnt from the organisation's own labels.

Trained with scikit-learn (a logistic regression on word and character n-grams, TF-IDF weighted) on the
examples that coordinators' ``#kind`` corrections and ``mailbot eval`` labels leave in the database; it trains
in about a second. The fitted numbers are saved as JSON beside the database, not as a pickle, so loading a
model runs no code; prediction here repeats scikit-learn's arithmetic (tested to agree with it), and explains
itself by the n-grams that pushed hardest towards the kind it chose.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from operator import mul
from pathlib import Path
from typing import Any

from mailbot.errors import UserError
from mailbot.private_files import private_directory, write_private

FORMAT = "mailbot-kind-model/1"
MIN_EXAMPLES = 12  # fewer than this, or fewer than two kinds, and the rules decide alone
# Both analysers are fixed here (and saved with the model), so the same text always gives the same n-grams.
WORDS = {"analyzer": "word", "ngram_range": (1, 2), "lowercase": True, "token_pattern": r"(?u)\b\w\w+\b"}
CHARS = {"analyzer": "char_wb", "ngram_range": (3, 5), "lowercase": True}
TEXT_LIMIT = 4000  # characters of a mail the model reads: the opening says what a mail is
KNOWN_WORDS = 100_000  # words whose character n-grams a model remembers (bounded memory: a few MB)


class KindModelError(UserError):
    """The model file cannot be read or was written by something else; names the file."""


@dataclass(frozen=True)
class Example:
    text: str
    kind: str


@dataclass(frozen=True)
class Prediction:
    kind: str
    probability: float
    probabilities: dict[str, float]
    features: tuple[tuple[str, float], ...]  # (n-gram, weight towards the kind), strongest first


@dataclass(frozen=True)
class _Part:
    """One analyser's fitted state: n-gram -> column, and the column's inverse document frequency."""

    vocabulary: dict[str, int]
    idf: list[float]


@dataclass(frozen=True)
class KindModel:
    kinds: tuple[str, ...]
    parts: tuple[_Part, _Part]  # words, characters
    coef: tuple[tuple[float, ...], ...]  # one row per kind, columns: words then characters
    intercept: tuple[float, ...]
    trained_on: str  # fingerprint of the examples, so a changed set of examples is noticed
    examples: int

    def predict(self, text: str, top: int = 5) -> Prediction:
        vector = self._vector(text)
        columns, values = list(vector), list(vector.values())
        # The same products summed in the same order as a generator over the vector would (so the same
        # floating-point result to the last bit), without Python's per-item overhead.
        scores = [
            self.intercept[k] + sum(map(mul, map(self.coef[k].__getitem__, columns), values))
            for k in range(len(self.kinds))
        ]
        probabilities = softmax(scores)
        best = max(range(len(self.kinds)), key=probabilities.__getitem__)
        return Prediction(
            self.kinds[best],
            probabilities[best],
            dict(zip(self.kinds, probabilities, strict=True)),
            self._strongest(vector, best, top),
        )

    def _vector(self, text: str) -> dict[int, float]:
        vector: dict[int, float] = {}
        offset = 0
        clipped = clip(text)
        counted = (self._word_counts(clipped), self._char_counts(clipped))
        for part, counts in zip(self.parts, counted, strict=True):
            weights = {
                part.vocabulary[g]: (1 + math.log(n)) * part.idf[part.vocabulary[g]]
                for g, n in counts.items()
            }
            norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
            vector.update({offset + col: w / norm for col, w in weights.items()})
            offset += len(part.idf)
        return vector

    def _strongest(self, vector: dict[int, float], kind: int, top: int) -> tuple[tuple[str, float], ...]:
        names = self._names
        pushes = sorted(((self.coef[kind][c] * v, c) for c, v in vector.items()), reverse=True)
        return tuple((names[c], round(push, 4)) for push, c in pushes[:top] if push > 0)

    def _word_counts(self, text: str) -> Counter[str]:
        vocabulary = self.parts[0].vocabulary
        return Counter(gram for gram in _analysers()[0](text) if gram in vocabulary)

    def _char_counts(self, text: str) -> Counter[str]:
        """The character n-grams the model knows, counted as scikit-learn's char_wb analyser counts them
        over the whole text, in the same order of first appearance: each distinct word is analysed once
        (a word's n-grams never cross its ends) and remembered for the next mail."""
        known = self._known_grams
        counts: Counter[str] = Counter()
        for word, times in Counter(text.lower().split()).items():
            grams = known.get(word)
            if grams is None:
                grams = self._grams_of(word)
            for gram in grams:
                counts[gram] += times
        return counts

    def _grams_of(self, word: str) -> tuple[str, ...]:
        vocabulary = self.parts[1].vocabulary
        grams = tuple(gram for gram in _analysers()[1](word) if gram in vocabulary)
        if len(self._known_grams) < KNOWN_WORDS:
            self._known_grams[word] = grams
        return grams

    @cached_property
    def _known_grams(self) -> dict[str, tuple[str, ...]]:
        return {}

    @cached_property
    def _names(self) -> dict[int, str]:
        """Column -> n-gram, for explaining a prediction; built once a model (it has every n-gram)."""
        words, chars = self.parts
        names = {col: f"word “{gram}”" for gram, col in words.vocabulary.items()}
        offset = len(words.idf)
        names.update({offset + col: f"letters “{gram}”" for gram, col in chars.vocabulary.items()})
        return names


def clip(text: str) -> str:
    return text[:TEXT_LIMIT]


def fingerprint(examples: Iterable[Example]) -> str:
    digest = hashlib.sha256()
    for example in sorted(examples, key=lambda e: (e.kind, e.text)):
        digest.update(f"{example.kind}\0{example.text}\0".encode())
    return digest.hexdigest()


def can_train(examples: Sequence[Example]) -> bool:
    return len(examples) >= MIN_EXAMPLES and len({e.kind for e in examples}) >= 2


def train(examples: Sequence[Example]) -> KindModel:
    """Fit the model; scikit-learn is imported here only, so classifying with a saved model never needs it."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion

    if not can_train(examples):
        raise ValueError(f"need at least {MIN_EXAMPLES} examples of two kinds or more, got {len(examples)}")
    words = TfidfVectorizer(sublinear_tf=True, min_df=1, **WORDS)
    chars = TfidfVectorizer(sublinear_tf=True, min_df=2, **CHARS)
    features = FeatureUnion([("words", words), ("chars", chars)])
    matrix = features.fit_transform([clip(e.text) for e in examples])
    # C=30: few examples per kind, each worth listening to; balanced so rarer kinds are not drowned out.
    model = LogisticRegression(C=30.0, max_iter=2000, class_weight="balanced")
    model.fit(matrix, [e.kind for e in examples])
    coef, intercept = model.coef_, model.intercept_
    if len(model.classes_) == 2:  # scikit-learn keeps one row for two kinds: the second kind's side
        coef, intercept = [-coef[0], coef[0]], [-intercept[0], intercept[0]]
    return KindModel(
        kinds=tuple(str(k) for k in model.classes_),
        parts=(_part(words), _part(chars)),
        coef=tuple(tuple(float(x) for x in row) for row in coef),
        intercept=tuple(float(x) for x in intercept),
        trained_on=fingerprint(examples),
        examples=len(examples),
    )


def _part(vectorizer: Any) -> _Part:
    return _Part(
        {str(g): int(c) for g, c in vectorizer.vocabulary_.items()}, [float(x) for x in vectorizer.idf_]
    )


def _analysers() -> tuple[Any, Any]:
    return _ANALYSERS or _build_analysers()


_ANALYSERS: list[Any] = []


def _build_analysers() -> tuple[Any, Any]:
    """scikit-learn's own analysers with the saved settings; without it, the same n-grams built here."""
    try:
        from sklearn.feature_extraction.text import CountVectorizer
    except ImportError:  # pragma: no cover - scikit-learn is a dependency; kept for a trimmed install
        _ANALYSERS.extend([word_grams, _char_grams])
    else:
        _ANALYSERS.extend(
            [CountVectorizer(**WORDS).build_analyzer(), CountVectorizer(**CHARS).build_analyzer()]
        )
    return _ANALYSERS[0], _ANALYSERS[1]


def word_grams(text: str) -> list[str]:
    """scikit-learn's word analyser with WORDS: tokens of two or more word characters, lower case, and each
    pair of neighbours."""
    tokens = re.findall(WORDS["token_pattern"], text.lower())
    return tokens + [f"{a} {b}" for a, b in itertools.pairwise(tokens)]


def _char_grams(text: str) -> list[str]:
    grams = []
    for word in text.lower().split():
        padded = f" {word} "
        for n in range(3, 6):
            grams += [padded[i : i + n] for i in range(len(padded) - n + 1)]
            if n >= len(padded):
                break
    return grams


def softmax(scores: Sequence[float]) -> list[float]:
    """Scores to probabilities, as scikit-learn's multinomial logistic regression does."""
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return [e / total for e in exps]


# --- the file beside the database -----------------------------------------------------------------------


def save(model: KindModel, path: Path) -> None:
    document = {
        "format": FORMAT, "kinds": model.kinds, "trained_on": model.trained_on, "examples": model.examples,
        "words": {"vocabulary": model.parts[0].vocabulary, "idf": model.parts[0].idf},
        "chars": {"vocabulary": model.parts[1].vocabulary, "idf": model.parts[1].idf},
        "coef": model.coef, "intercept": model.intercept,
    }  # fmt: skip
    # Written aside and renamed into place, so a running service never reads half a model.
    private_directory(path.parent)
    partial = path.with_name(path.name + ".partial")
    write_private(partial, json.dumps(document, separators=(",", ":")).encode())
    partial.replace(path)


def load(path: Path) -> KindModel | None:
    """The saved model, or None when there is none yet."""
    try:
        document = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise KindModelError(f"{path}: cannot be read as a kind model ({exc}); delete it to retrain") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise KindModelError(f"{path}: not a {FORMAT} file; delete it to retrain")
    parts = tuple(_Part(document[p]["vocabulary"], document[p]["idf"]) for p in ("words", "chars"))
    return KindModel(
        kinds=tuple(document["kinds"]), parts=(parts[0], parts[1]),
        coef=tuple(tuple(row) for row in document["coef"]), intercept=tuple(document["intercept"]),
        trained_on=document["trained_on"], examples=int(document["examples"]),
    )  # fmt: skip
