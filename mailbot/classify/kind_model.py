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
        columns, values = self._vector(text)
        scores = self._scores(columns, values)
        probabilities = softmax(scores)
        best = max(range(len(self.kinds)), key=probabilities.__getitem__)
        return Prediction(
            self.kinds[best],
            probabilities[best],
            dict(zip(self.kinds, probabilities, strict=True)),
            self._strongest(columns, values, best, top),
        )

    def _scores(self, columns: list[int], values: list[float]) -> list[float]:
        """Each kind's intercept plus its weights times the vector, the products summed one after another
        in the vector's order (cumsum adds in order, as Python's sum did: the same result to the last bit),
        for every kind at once."""
        import numpy as np

        products = self._coef[:, columns] * np.array(values)
        totals = np.cumsum(np.hstack([np.zeros((len(self.kinds), 1)), products]), axis=1)[:, -1]
        return [intercept + float(total) for intercept, total in zip(self.intercept, totals, strict=True)]

    def _vector(self, text: str) -> tuple[list[int], list[float]]:
        """The TF-IDF vector's columns and values, in the order scikit-learn's analysers first meet the
        n-grams: words, then characters."""
        clipped = clip(text)
        columns: list[int] = []
        values: list[float] = []
        offset = 0
        counted = (self._word_counts(clipped), self._char_counts(clipped))
        for part, counts in zip(self.parts, counted, strict=True):
            idf = part.idf
            weights = [_sublinear(n) * idf[col] for col, n in counts.items()]
            norm = math.sqrt(sum(map(mul, weights, weights))) or 1.0
            columns += [offset + col for col in counts]
            values += [w / norm for w in weights]
            offset += len(idf)
        return columns, values

    def _strongest(
        self, columns: list[int], values: list[float], kind: int, top: int
    ) -> tuple[tuple[str, float], ...]:
        """The n-grams that pushed hardest towards the kind: the largest products, ties to the larger
        column (as sorting (push, column) pairs from the largest would give)."""
        import numpy as np

        if not columns:
            return ()
        pushes = self._coef[kind, columns] * np.array(values)
        order = np.lexsort((np.array(columns), pushes))[::-1][:top]
        names = self._names
        return tuple((names[columns[i]], round(float(pushes[i]), 4)) for i in order.tolist() if pushes[i] > 0)

    def _word_counts(self, text: str) -> Counter[int]:
        """Columns of the word n-grams the model knows, counted in the order of first appearance."""
        vocabulary = self.parts[0].vocabulary
        grams = _ascii_word_grams(text) if text.isascii() else _analysers()[0](text)
        return Counter(vocabulary[g] for g in grams if g in vocabulary)

    def _char_counts(self, text: str) -> Counter[int]:
        """Columns of the character n-grams the model knows, counted as scikit-learn's char_wb analyser
        counts them over the whole text, in the same order of first appearance: each distinct word is
        analysed once (a word's n-grams never cross its ends) and remembered for the next mail."""
        known = self._known_grams
        counts: Counter[int] = Counter()
        for word, times in Counter(text.lower().split()).items():
            grams = known.get(word)
            if grams is None:
                grams = self._grams_of(word)
            for column in grams:
                counts[column] += times
        return counts

    def _grams_of(self, word: str) -> tuple[int, ...]:
        vocabulary = self.parts[1].vocabulary
        grams = tuple(vocabulary[gram] for gram in _analysers()[1](word) if gram in vocabulary)
        if len(self._known_grams) < KNOWN_WORDS:
            self._known_grams[word] = grams
        return grams

    @cached_property
    def _known_grams(self) -> dict[str, tuple[int, ...]]:
        return {}

    def prepare(self) -> None:
        """Make now what the first prediction would (the weight array, importing numpy): in a process that
        forks read-ahead workers, once for all of them."""
        _ = self._coef

    @cached_property
    def _coef(self) -> Any:
        """The weights as one array (kinds x columns), built once a model: numpy is imported only here."""
        import numpy as np

        return np.array(self.coef, dtype=np.float64)

    @cached_property
    def _names(self) -> dict[int, str]:
        """Column -> n-gram, for explaining a prediction; built once a model (it has every n-gram)."""
        words, chars = self.parts
        names = {col: f"word “{gram}”" for gram, col in words.vocabulary.items()}
        offset = len(words.idf)
        names.update({offset + col: f"letters “{gram}”" for gram, col in chars.vocabulary.items()})
        return names


def _sublinear(count: int) -> float:
    """scikit-learn's sublinear term frequency, 1 + log(count); the few counts a mail has are kept."""
    term = _SUBLINEAR.get(count)
    if term is None:
        term = _SUBLINEAR[count] = 1 + math.log(count)
    return term


_SUBLINEAR: dict[int, float] = {}


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


def _ascii_word_grams(text: str) -> list[str]:
    """scikit-learn's word analyser with WORDS for a plain ASCII text: its tokens (\\b\\w\\w+\\b) are the
    runs of two or more word characters, which translate and split find three times faster."""
    tokens = [t for t in text.lower().translate(_ASCII_NOT_WORD).split() if len(t) > 1]
    return tokens + [f"{a} {b}" for a, b in itertools.pairwise(tokens)]


_ASCII_NOT_WORD = {code: " " for code in range(128) if not (chr(code).isalnum() or chr(code) == "_")}


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
