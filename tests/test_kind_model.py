"""The kind model: its saved form predicts exactly as scikit-learn does, explains itself, and loads without
running code; the statutory clocks; marks of mass mail."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from mailbot.cases.statutory import foi_clock, subject_access_clock
from mailbot.classify.kind_model import Example, KindModelError, load, save, train
from mailbot.classify.marks import has_tracking_image

EXAMPLES = [
    *(Example(f"Carers missed the visit again on day {n}, nobody rang, not good enough", "complaint")
      for n in range(8)),
    *(Example(f"Thank you so much to the team, Mum loved the party on day {n}", "compliment")
      for n in range(8)),
    *(Example(f"I am a bit worried Dad is not eating, could someone check on day {n}", "concern")
      for n in range(8)),
]  # fmt: skip


def test_the_saved_model_predicts_what_scikit_learn_predicts(tmp_path: Path) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion

    from mailbot.classify.kind_model import CHARS, WORDS, clip

    model = train(EXAMPLES)
    save(model, tmp_path / "kind-model.json")
    loaded = load(tmp_path / "kind-model.json")
    assert loaded is not None
    # The same fit done directly with scikit-learn, to compare probabilities.
    features = FeatureUnion([("words", TfidfVectorizer(sublinear_tf=True, **WORDS)),
                             ("chars", TfidfVectorizer(sublinear_tf=True, min_df=2, **CHARS))])  # fmt: skip
    matrix = features.fit_transform([clip(e.text) for e in EXAMPLES])
    reference = LogisticRegression(C=30.0, max_iter=2000, class_weight="balanced").fit(
        matrix, [e.kind for e in EXAMPLES]
    )
    for text in (
        "nobody came to Dad, not good enough",
        "thank you for the lovely party",
        "worried about Mum",
    ):
        ours = loaded.predict(text).probabilities
        theirs = dict(
            zip(reference.classes_, reference.predict_proba(features.transform([text]))[0], strict=True)
        )
        assert ours == pytest.approx(theirs, abs=1e-6)


def test_a_prediction_names_the_n_grams_that_pushed_it() -> None:
    prediction = train(EXAMPLES).predict("Thank you so much, Mum loved it")
    assert prediction.kind == "compliment"
    assert any("thank" in name for name, _weight in prediction.features)
    assert all(weight > 0 for _name, weight in prediction.features)


def test_scores_are_summed_in_the_vectors_order_to_the_last_bit() -> None:
    """The kinds' scores come from one array operation; they must equal Python's sum over the vector in
    its order, as they were computed before, so that no verdict moves by a rounding."""
    from operator import mul

    model = train(EXAMPLES)
    for text in ("nobody came to Dad, not good enough " * 30, "thank you", "", "Mum Mum Mum worried"):
        columns, values = model._vector(text)
        expected = [
            model.intercept[k] + sum(map(mul, map(model.coef[k].__getitem__, columns), values))
            for k in range(len(model.kinds))
        ]
        assert model._scores(columns, values) == expected
        pairs = zip(columns, values, strict=True)
        pushes = sorted(((model.coef[0][c] * v, c) for c, v in pairs), reverse=True)
        strongest = tuple((model._names[c], round(push, 4)) for push, c in pushes[:5] if push > 0)
        assert model._strongest(columns, values, 0, 5) == strongest


def test_a_file_that_is_not_a_model_is_refused_with_its_name(tmp_path: Path) -> None:
    path = tmp_path / "kind-model.json"
    assert load(path) is None
    path.write_text(json.dumps({"format": "something else"}))
    with pytest.raises(KindModelError, match=r"kind-model\.json: not a mailbot-kind-model/1 file"):
        load(path)


def test_the_model_file_is_private(tmp_path: Path) -> None:
    save(train(EXAMPLES), tmp_path / "var" / "kind-model.json")
    assert (tmp_path / "var" / "kind-model.json").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("received", "nation", "due", "latest"),
    [
        (date(2026, 9, 3), "ENG", date(2026, 10, 5), date(2026, 12, 3)),  # 3 October is a Saturday
        (date(2027, 1, 31), "ENG", date(2027, 3, 1), date(2027, 4, 30)),  # no 31 February: its last day
        (date(2026, 3, 14), "ENG", date(2026, 4, 14), date(2026, 6, 15)),  # 14 June 2026 is a Sunday
    ],
)
def test_a_subject_access_request_is_due_a_calendar_month_on(received: date, nation: str, due: date,
                                                               latest: date) -> None:  # fmt: skip
    clock = subject_access_clock(received, nation)
    assert (clock.due, clock.latest_due) == (due, latest)


def test_foia_skips_every_uk_nations_bank_holidays_and_foisa_only_scotlands() -> None:
    # Received Wednesday 30 December 2026. Scotland alone keeps Monday 4 January 2027 (for 2 January), which
    # FOIA, counting a bank holiday in any part of the UK, skips too; St Andrew's Day likewise.
    assert foi_clock(date(2026, 12, 30), "ENG").due == date(2027, 1, 29)
    assert foi_clock(date(2026, 12, 30), "SCT").due == date(2027, 1, 29)
    # 17 March (St Patrick's Day, Northern Ireland) is not a working day for FOIA in England either.
    assert foi_clock(date(2026, 3, 2), "ENG").due == date(2026, 3, 31)
    assert foi_clock(date(2026, 3, 2), "SCT").due == date(2026, 3, 30)


def test_a_tracking_image_is_one_pixel_or_hidden() -> None:
    assert has_tracking_image('<p>Hi</p><img src="https://t.example/o.gif" width="1" height="1">')
    assert has_tracking_image('<img style="display:none" src="https://t.example/o.gif">')
    assert not has_tracking_image('<img src="logo.png" width="120" height="40">')


def test_a_plain_ascii_texts_word_n_grams_are_scikit_learns() -> None:
    from mailbot.classify.kind_model import _analysers, _ascii_word_grams

    for text in (
        "".join(map(chr, range(128))) * 3,
        "I can't believe Dad's carer_1 left at 9:30 -- x y zz, A&E e-mail 22",
        "Thank you!!  Mum loved it.\n\nRegards,\nJo",
        "",
    ):
        assert _ascii_word_grams(text) == _analysers()[0](text)
