"""Junk that no server of ours called spam, held by two or more of its marks (classify/junk.py); one mark
alone never holds a person's mail."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from mailbot.app import App
from mailbot.classify import classify, load_chain
from mailbot.classify.junk import _WORD, words_in
from mailbot.db.models import Case
from mailbot.intake.parse import parse_mail
from mailbot.scheduled import jobs
from mailbot.testing import Dovecot, SmtpCapture
from tests.mails import mail
from tests.test_classify import RULES
from tests.test_front_door_e2e import CONFIG, MONDAY, deliver_at, run_cli, to

CHAIN = load_chain(RULES)
POLISH = (
    "Dzień dobry, piszę w sprawie mojej mamy. Opiekunka nie przyszła w niedzielę i nikt do nas nie "
    "zadzwonił. Proszę o wyjaśnienie i kontakt ze mną jak najszybciej. Pozdrawiam, Anna Nowak\n"
)


def kind_of(raw: bytes) -> str:
    return classify(parse_mail(raw), CHAIN).kind


def test_a_relative_writing_in_polish_is_not_junk_for_one_mark() -> None:
    assert kind_of(mail(sender="anna.nowak@example.pl", subject="Mama", body=POLISH)) == "complaint"


def test_a_reply_to_at_another_address_alone_is_not_junk() -> None:
    body = "Dad's carer did not come on Sunday and nobody rang us. Please reply to my work address.\n"
    raw = mail(sender="sam@example.net", body=body, headers={"Reply-To": "sam.ellis@work.example.com"})
    assert kind_of(raw) == "complaint"


def test_another_language_with_replies_asked_for_elsewhere_is_junk() -> None:
    body = "Ahorre dinero en su recibo de luz con nuestros calefactores ecologicos de bajo consumo.\n"
    raw = mail(sender="ventas@example.mx", subject="Ahorre dinero", body=body,
               headers={"Reply-To": "ofertas@example.com"})  # fmt: skip
    verdict = classify(parse_mail(raw), CHAIN)
    assert (verdict.kind, verdict.rules_hit[-1]) == ("spam", "spam-marks")


def test_a_released_mail_is_not_judged_on_its_marks_again() -> None:
    body = "Get high-quality traffic to your site now, click here: http://www.seller.example.com/offer\n"
    raw = mail(sender="admin@seller.example.com", subject="Traffic", body=body)
    assert kind_of(raw) == "spam"
    assert classify(parse_mail(raw), CHAIN, judge_junk=False).kind != "spam"


def test_junk_in_the_shared_corpus_is_held_and_the_people_in_it_are_not(corpus_dir: Path) -> None:
    junk = ["mail-parser/mail_malformed_3", "mail-parser/mail_test_17", "mail-parser/mail_test_8",
            "flanker/spam/broken-headers.eml"]  # fmt: skip
    assert [kind_of((corpus_dir / name).read_bytes()) for name in junk] == ["spam"] * 4
    # An accountant writing in Italian, with her firm's details in the signature: one mark, a person.
    assert kind_of((corpus_dir / "mail-parser" / "mail_test_7").read_bytes()) != "spam"


@pytest.fixture
def app(make_app: Callable[..., App]) -> App:
    app = make_app(extra=CONFIG)
    jobs.poll_cycle(app)  # first contact
    return app


def test_junk_is_held_unanswered_and_released_as_ordinary_mail(
    app: App,
    dovecot: Dovecot,
    smtp_server: SmtpCapture,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    body = "Najlepsze oferty kredytowe bez zaświadczeń, szybka decyzja i przelew w ciągu godziny.\n"
    raw = mail(sender="oferty@example.pl", subject="Kredyt", body=body, headers={"Reply-To": "x@example.com"})
    deliver_at(dovecot, raw, MONDAY)  # a reference carries the year of receipt: fixed, whenever this runs
    jobs.poll_cycle(app)

    assert to(smtp_server, "oferty@example.pl") == []
    [line] = run_cli(app, monkeypatch, capsys, "spam", "list").splitlines()
    assert line.endswith("\tspam-marks") and len(dovecot.messages()) == 1

    released = run_cli(app, monkeypatch, capsys, "spam", "release", line.split("\t")[0])

    assert "opened CMP-2026-0001" in released  # a person judged it; its marks are not read again
    with app.sessions() as session:
        assert len(session.scalars(select(Case)).all()) == 1


@pytest.mark.parametrize(
    "text",
    [
        "",
        "don't can't rock'n'roll 'quoted' o''clock it's' '",
        "abc1def ghi_jkl MIXED case, punctuation!? tabs\tand\nlines\x0bvertical\x1cfile",
        "Zürich café naïve — non-ASCII goes to the pattern",
        "a'b'c'd x'' ''y",
    ],
)
def test_words_in_as_the_pattern_finds_them(text: str) -> None:
    assert words_in(text) == _WORD.findall(text)


def test_words_in_every_corpus_text_as_the_pattern_finds_them(corpus_dir: Path) -> None:
    for path in sorted(corpus_dir.rglob("*.eml"))[:400]:
        text = parse_mail(path.read_bytes()).text[:20_000]
        assert words_in(text) == _WORD.findall(text), path
