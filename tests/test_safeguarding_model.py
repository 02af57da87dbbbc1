"""The safeguarding backstop: the shipped JSON predicts as scikit-learn would; a disclosure in words no
indicator has is flagged through the classifier with the statistical screen named as the reason; an ordinary
mail and machine mail are not; [cases] safeguarding_backstop = false turns it off."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest
from sqlalchemy import select

from mailbot.app import App
from mailbot.classify import classify, load_chain
from mailbot.classify.safeguarding import Screening, load_screening, screen
from mailbot.classify.safeguarding_model import SafeguardingModel, SafeguardingModelError, load, windows
from mailbot.config.settings import load_config
from mailbot.db.models import CaseEvent
from mailbot.intake.parse import parse_mail
from mailbot.scheduled import jobs
from mailbot.testing import Dovecot, SmtpCapture
from tests.mails import mail
from tests.test_config import GOOD, write
from tests.test_routing_e2e import STAFF
from tests.test_safeguarding_e2e import LEAD, sent_to, text_of

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "rules" / "safeguarding_model.json"
RULES = ROOT / "rules" / "safeguarding.toml"

# Written for this test, in words the indicators do not have (checked below), not taken from any set.
NEW_WORDS = [
    "Since the new lad started on nights Mum keeps the blanket over her head when she hears his trolley and "
    "asked me twice to take her home with me.",
    "The support worker keeps telling my brother that nobody else would put up with someone like him.",
]
ORDINARY = [
    "I'd like a copy of my mother's care plan and the invoice for October, which seems to charge for two "
    "extra visits. Could the finance team ring me on Tuesday?",
    "The carers keep arriving forty minutes late and the office never rings back. Please sort it out.",
]


@cache
def model() -> SafeguardingModel:
    return load(MODEL)


@cache
def screening() -> Screening:
    return load_screening(RULES, MODEL)


@cache
def rules_alone() -> Screening:
    return load_screening(RULES)


def verdict(body: str, subject: str = "About Mum", **headers: str):
    chain = load_chain(ROOT / "rules" / "classify.toml")
    parsed = parse_mail(mail(subject=subject, body=body, headers=headers or None))
    return classify(parsed, chain, screening=screening())


def test_the_shipped_model_predicts_as_scikit_learn_does() -> None:
    np = pytest.importorskip("numpy")
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from mailbot.classify.safeguarding_model import WORDS

    m = model()
    vectorizer = TfidfVectorizer(sublinear_tf=True, vocabulary=m.vocabulary, **WORDS)
    vectorizer.idf_ = np.array(m.idf)
    regression = LogisticRegression()
    regression.classes_, regression.coef_ = np.array(m.classes), np.array(m.coef)
    regression.intercept_ = np.array(m.intercept)
    texts = [*NEW_WORDS, *ORDINARY, "", "Gwnaeth hi fy nharo i ddoe."]
    expected = regression.predict_proba(vectorizer.transform(texts))
    for text, row in zip(texts, expected, strict=True):
        ours, _ = m.probabilities(text)
        assert [ours[c] for c in m.classes] == pytest.approx(list(row), abs=1e-9)


@pytest.mark.parametrize("body", NEW_WORDS)
def test_a_disclosure_in_new_words_is_flagged_by_the_backstop(body: str) -> None:
    assert screen(rules_alone(), []) == ()
    assert verdict(body).safeguarding and not load_screening_finds(body), "an indicator has these words now"
    found = verdict(body)
    assert "safeguarding" in found.flags
    [finding] = found.safeguarding
    assert finding.statistical is not None and finding.statistical >= model().threshold
    assert "raised by the statistical screen, not a named indicator" in finding.describe()
    assert finding.words.startswith("“") and finding.where == "text"


def load_screening_finds(body: str) -> bool:
    chain = load_chain(ROOT / "rules" / "classify.toml")
    return bool(classify(parse_mail(mail(body=body)), chain, screening=rules_alone()).safeguarding)


def test_a_few_words_are_too_few_to_judge() -> None:
    assert model().most_suspicious([("new text", "Nobody has rung me yet.")]) is None  # a reply on a case
    assert model().most_suspicious([("subject", "Mum"), ("text", "Nobody came today.")]) is None


@pytest.mark.parametrize("body", ORDINARY)
def test_an_ordinary_mail_is_not_flagged(body: str) -> None:
    assert "safeguarding" not in verdict(body, subject="Invoice and visits").flags


def test_an_indicator_stays_the_reason_when_one_is_found() -> None:
    [finding] = verdict("Dad has bruises on both arms that nobody can explain.").safeguarding
    assert finding.statistical is None and finding.category == "physical"


def test_machine_mail_is_left_to_the_indicators() -> None:
    newsletter = verdict(NEW_WORDS[0], subject="Our news", **{"List-Id": "<news.example.org>",
                                                            "List-Unsubscribe": "<https://x.example/u>",
                                                            "Precedence": "bulk"})  # fmt: skip
    assert newsletter.is_machine and "safeguarding" not in newsletter.flags


def test_turning_the_backstop_off(tmp_path: Path) -> None:
    on = load_config(write(tmp_path, GOOD), {})
    assert on.cases.safeguarding_model == MODEL.resolve()
    off = load_config(write(tmp_path, GOOD + "\n[cases]\nsafeguarding_backstop = false\n"), {})
    assert off.cases.safeguarding_model is None
    assert load_screening(off.cases.safeguarding_rules, off.cases.safeguarding_model).backstop is None


def test_a_missing_model_names_the_file_and_the_way_out(tmp_path: Path) -> None:
    with pytest.raises(SafeguardingModelError, match="safeguarding_backstop = false"):
        load(tmp_path / "nowhere.json")


def test_long_text_is_read_in_overlapping_stretches() -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(200))
    stretches = windows(text)
    assert len(stretches) > 5 and all(len(s) <= 800 for s in stretches)
    assert stretches[1].startswith(stretches[0].split(". ")[-1])  # one sentence shared


def test_the_lead_is_told_the_statistical_screen_raised_it(
    make_app: Callable[..., App], dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    app = make_app(extra=STAFF)
    jobs.poll_cycle(app)
    dovecot.deliver(mail(sender="rita.hale@example.net", name="Rita Hale", subject="Mum", body=NEW_WORDS[0]))
    jobs.poll_cycle(app)
    [alert] = sent_to(smtp_server, LEAD)
    body = text_of(alert)
    assert "(statistical screen)" in alert["Subject"]  # the lead can tell it from a named indicator unopened
    assert "raised by the statistical screen, not a named indicator" in body
    assert "the words that weighed most: “" in body
    assert "no indicator in rules/safeguarding.toml matched" in body
    assert len(sent_to(smtp_server, "rita.hale@example.net")) == 1  # still acknowledged
    with app.sessions() as session:
        [event] = session.scalars(select(CaseEvent).where(CaseEvent.action == "safeguarding alert")).all()
        assert "raised by the statistical screen" in event.detail


def test_check_config_loads_the_model_named(tmp_path: Path) -> None:
    from mailbot.cli.check_config import data_findings

    missing = load_config(write(tmp_path, GOOD + '\n[cases]\nsafeguarding_model = "gone.json"\n'), {})
    [bad] = [f for f in data_findings(missing) if not f.ok]
    assert "cases.safeguarding_model" in bad.text and "gone.json" in bad.text
    shipped = load_config(write(tmp_path, GOOD), {})
    assert "safeguarding model: loaded" in [f.text for f in data_findings(shipped)]


def test_scores_are_added_up_in_the_vectors_order_to_the_last_bit() -> None:
    """The classes' scores come from one array operation; they must equal adding each n-gram's weight
    times its value one after another, as before, so that no stretch's probability moves by a rounding."""
    m = model()
    for text in (
        "She told me the carer shouted at her and pushed her into the chair, and nobody came for hours.",
        "The visit was fine and the carer was kind.",
        "",
    ):
        vector = m.vector(text)
        expected = list(m.intercept)
        for column, value in vector.items():
            expected = [s + w * value for s, w in zip(expected, m.columns[column], strict=True)]
        assert m._scores(vector) == expected
