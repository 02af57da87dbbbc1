"""A coordinator's #kind corrections measurably improve the next classification (issue 13), on real servers.

The organisation's kind model first learns the labelled set through ``mailbot eval``. Families then write in
a way of their own that the rules and that model read poorly: delight after a day at the day centre, without
the usual words of praise. A coordinator corrects six such mails with ``#kind compliment`` from their own mail
client; six other mails of the same sort, never corrected and never seen, are classified before and after.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from mailbot.app import App
from mailbot.db.models import Case, KindExample
from mailbot.intake.parse import parse_mail
from mailbot.scheduled import jobs
from mailbot.testing import Dovecot, SmtpCapture
from tests.mails import mail
from tests.test_coordinators_e2e import staff_mail
from tests.test_front_door_e2e import CONFIG, run_cli

LABELLED = Path(__file__).resolve().parent / "data" / "labelled"
CORRECTED = (
    "Mum came home from the day centre beaming. She has been humming the singalong songs all evening.",
    "Dad hasn't stopped talking about the quiz at the day centre on Thursday. He came home grinning.",
    "My wife came back from the day centre with a painting she'd done herself, the first in years.",
    "The day centre trip to the garden centre was the highlight of Dad's month; he came home chattering.",
    "Mum danced at the day centre tea dance yesterday. She was glowing when she got home.",
    "Grandad came home from the day centre smiling and told us all about the dominoes match he won.",
)
UNSEEN = (
    "Mum came home from the day centre singing and chatting about the bingo, she was so animated.",
    "Dad was beaming when he got back from the day centre, full of stories about the music afternoon.",
    "My husband came home from the day centre grinning after the armchair exercises.",
    "Auntie was glowing after the day centre craft session and brought home a card she made.",
    "Dad came back from the day centre humming; the singalong was the best part of his week.",
    "Mum hasn't stopped smiling since the day centre outing to the seaside.",
)


@pytest.fixture
def app(make_app: Callable[..., App]) -> App:
    app = make_app(extra=CONFIG)
    jobs.poll_cycle(app)  # first contact
    return app


def probe(app: App) -> tuple[int, float]:
    """How many unseen mails come out as compliments, and the model's mean probability that they are."""
    right, probability = 0, 0.0
    model = app.learner.model() if app.learner else None
    assert model is not None
    for n, text in enumerate(UNSEEN):
        raw = mail(sender=f"family{n}@example.net", name="A Relative", subject="Day centre", body=text + "\n")
        verdict = app.classify(parse_mail(raw), None)
        right += verdict.kind == "compliment"
        probability += model.predict(f"Day centre\n{text}\n").probabilities["compliment"]
    return right, probability / len(UNSEEN)


def test_a_coordinators_kind_corrections_improve_the_next_classification(
    app: App,
    dovecot: Dovecot,
    smtp_server: SmtpCapture,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    learnt = run_cli(
        app, monkeypatch, capsys, "eval", str(LABELLED), "--labels", str(LABELLED / "labels.csv")
    )
    # 79 labelled mails, of which 68 a person wrote new (machines and our own mail are not examples).
    assert "Learnt 68 labelled examples" in learnt and "kind model retrained on 68 examples" in learnt
    before, probability_before = probe(app)

    for n, text in enumerate(CORRECTED):
        dovecot.deliver(mail(sender=f"relative{n}@example.net", name="A Relative", subject="Day centre",
                             body=text + "\n"))  # fmt: skip
    jobs.poll_cycle(app)
    with app.sessions() as session:
        refs = list(session.scalars(select(Case.ref).order_by(Case.id)))
    assert len(refs) == len(CORRECTED)
    for ref in refs:
        dovecot.deliver(staff_mail("#kind compliment\n", subject=f"RE: [{ref}] Day centre"))
    jobs.poll_cycle(app)
    with app.sessions() as session:
        assert set(session.scalars(select(Case.kind))) == {"compliment"}
        assert session.scalar(select(KindExample.id).where(KindExample.source.like("#kind%"))) is not None

    after, probability_after = probe(app)

    print(f"unseen day-centre compliments right: {before}/6 -> {after}/6; "
          f"mean P(compliment) {probability_before:.2f} -> {probability_after:.2f}")  # fmt: skip
    assert after >= 5 and after > before
    assert probability_after > probability_before + 0.1


def test_classify_json_explains_the_kind_by_the_models_strongest_n_grams(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run_cli(app, monkeypatch, capsys, "eval", str(LABELLED), "--labels", str(LABELLED / "labels.csv"))
    path = tmp_path / "thanks.eml"
    path.write_bytes(
        mail(sender="pat@example.net", subject="Thank you", body="Thank you so much to Kelly.\n")
    )

    [result] = json.loads(run_cli(app, monkeypatch, capsys, "classify", "--json", str(path)))

    assert result["kind"] == "compliment" and 0.5 < result["confidence"] <= 1.0
    assert any(reason.startswith("model: compliment") for reason in result["reasons"])
    assert result["model_features"] and all(f["weight"] > 0 for f in result["model_features"])
