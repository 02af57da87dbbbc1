"""Safeguarding screening on its own: categories, the words shown to the lead, negation noted, harmless uses,
where in a mail the words were, and mistakes in the indicator file named by file and key.

The examples here and in tests/data/safeguarding_tuning are in-sample (written with the rules in view); the
frozen set in tests/data/safeguarding measures the rules honestly.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from mailbot.classify import safeguarding
from mailbot.classify.safeguarding import (
    TextPart,
    categories_found,
    load_screening,
    parts_of,
    people_named,
    screen,
    welsh_forms,
)
from mailbot.config.reader import ConfigError
from mailbot.intake.parse import parse_mail

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules" / "safeguarding.toml"
EXAMPLES = tomllib.loads((ROOT / "tests/data/safeguarding_tuning/examples.toml").read_text())["example"]
STATUTORY = {"physical", "domestic", "sexual", "psychological", "financial", "modern_slavery",
             "discriminatory", "organisational", "neglect", "self_neglect"}  # fmt: skip


@pytest.fixture(scope="module")
def screening():
    return load_screening(RULES)


def test_the_indicator_file_covers_the_ten_statutory_categories(screening) -> None:
    keys = {c.key for c in screening.categories}
    assert keys >= STATUTORY
    assert all(c.name and c.definition for c in screening.categories)


@pytest.mark.parametrize("example", EXAMPLES, ids=[e["text"][:40] for e in EXAMPLES])
def test_tuning_examples(screening, example) -> None:
    found = categories_found(screen(screening, [TextPart("text", example["text"])]))
    if "known_wrong_name" in example:
        # Flagged, but the alert names another category; kept and counted, not hidden.
        assert found != () and example["category"] not in found, (
            f"now named right; remove known_wrong_name: {example['text']}"
        )
    elif example["category"]:
        assert example["category"] in found
    elif "known_false_alarm" in example:
        # A false alarm kept and counted, not hidden: when the indicators stop raising it, drop the note.
        assert found != (), f"no longer a false alarm; remove known_false_alarm: {example['text']}"
    else:
        assert found == ()


def test_a_negation_is_noted_and_the_alert_still_raised(screening) -> None:
    findings = screen(screening, [TextPart("text", "There was no sign of bruising when I visited.")])
    (finding,) = [f for f in findings if f.category == "physical"]
    assert finding.negated
    assert "preceded by a negation" in finding.describe()


def test_already_reported_is_noted_not_used_to_stay_silent(screening) -> None:
    text = "Her son took her bank card again. I have already reported it to the police."
    findings = screen(screening, [TextPart("text", text)])
    assert "financial" in categories_found(findings)
    assert all(f.already_reported for f in findings)


def test_the_finding_quotes_the_words_as_written_and_where(screening) -> None:
    (finding,) = screen(
        screening, [TextPart("subject", "Invoice query"), TextPart("text", "She FLINCHES now.")]
    )
    assert (finding.words, finding.where) == ("FLINCHES", "text")
    assert finding.describe() == "Physical abuse: “FLINCHES” in the text"


def test_a_disclosure_in_passing_inside_a_billing_complaint(screening) -> None:
    text = (
        "I am writing about the invoice for October, which charges for 14 visits when only 11 happened. "
        "Also the carer has been very rough with Mum when she gets her up. Please send a corrected invoice."
    )
    assert "physical" in categories_found(screen(screening, [TextPart("text", text)]))


def test_forwarded_and_attached_text_is_screened(screening) -> None:
    raw = (
        b"From: Ann Lee <ann@example.net>\r\nTo: complaints@example.org\r\nSubject: Fwd: from my sister\r\n"
        b"Message-ID: <1@example.net>\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nSee below and the attached note.\r\n"
        b"--b\r\nContent-Type: message/rfc822\r\n\r\nFrom: sis@example.net\r\nSubject: Mum\r\n\r\n"
        b"Her pressure sore has got worse and nobody turned her.\r\n"
        b"--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=note.txt\r\n\r\n"
        b"The agency keeps the carers' passports.\r\n--b--\r\n"
    )
    findings = screen(screening, parts_of(parse_mail(raw)))
    where = {(f.category, f.where) for f in findings}
    assert ("neglect", "forwarded mail") in where
    assert ("modern_slavery", "attachment note.txt") in where


def test_work_is_bounded_for_a_huge_part(screening) -> None:
    text = "word " * 400_000 + "bruises"
    assert screen(screening, [TextPart("text", text)]) == ()  # past the screened prefix


@pytest.mark.parametrize(
    ("content", "key"),
    [
        ('[[category]]\nkey = "x"\nname = "X"\nwords = ["a"]\ncolour = "red"\n', "category[0].colour"),
        ('[[category]]\nkey = "x"\nname = "X"\nwords = [1]\n', "category[0].words[0]"),
        ('[[category]]\nkey = "x"\nname = "X"\npatterns = ["(unclosed"]\n', "category[0].patterns[0]"),
        ('[[category]]\nkey = "x"\nname = "X"\n', "category[0].words"),
        ('[[category]]\nkey = "x"\nname = "X"\nwords=["a"]\n'
         '[[category]]\nkey = "x"\nname = "Y"\nwords=["b"]\n', "category[1].key"),
        ("[[category]\n", "(syntax)"),
        ('[terms]\ncarer = ["carer"]\n[[category]]\nkey = "x"\nname = "X"\npatterns = ["{carers} hit"]\n',
         "category[0].patterns[0]"),
        ('[terms]\ncarer = [1]\n[[category]]\nkey = "x"\nname = "X"\nwords = ["a"]\n', "terms.carer[0]"),
        ('[terms]\nCarer = ["carer"]\n[[category]]\nkey = "x"\nname = "X"\nwords = ["a"]\n', "terms.Carer"),
        ('[screening]\nname_first = ["y"]\n[[category]]\nkey = "x"\nname = "X"\nwords = ["a"]\n',
         "screening.name_first[0]"),
    ],
)  # fmt: skip
def test_mistakes_in_the_indicator_file_name_the_file_and_key(tmp_path: Path, content: str, key: str) -> None:
    path = tmp_path / "safeguarding.toml"
    path.write_text(content)
    with pytest.raises(ConfigError) as raised:
        load_screening(path)
    assert raised.value.key == key and str(path) in str(raised.value)


def test_the_alert_names_who_or_why_before_what_and_an_unclear_type_last(screening) -> None:
    # [screening] name_first: domestic (who) before physical (what), organisational (why) before neglect,
    # and "harm named, type not yet clear" only after every specific type found.
    text = (
        "I don't want to make a fuss, but she was left in a wet pad all night. Everyone on the unit is "
        "got up at 5am. Her husband hit her when she got home."
    )
    assert categories_found(screen(screening, [TextPart("text", text)])) == (
        "domestic",
        "organisational",
        "physical",
        "neglect",
        "named",
    )


def test_the_order_of_naming_leaves_no_category_out(screening) -> None:
    assert sorted(screening.name_first) == sorted(c.key for c in screening.categories)


def test_who_the_mail_is_about_is_pointed_out_as_written() -> None:
    text = "I am writing about my mum, Joan Price, at Willow House. Mrs Edna Davies next door saw it too."
    assert people_named(text) == ("my mum, Joan Price", "Mrs Edna Davies")
    assert people_named("The carer was rough.") == ()


def test_a_named_term_stands_for_any_of_its_words_in_a_pattern(tmp_path: Path) -> None:
    path = tmp_path / "safeguarding.toml"
    path.write_text(
        '[terms]\nkin = ["son", "daughter-in-law"]\n'
        '[[category]]\nkey = "domestic"\nname = "Domestic abuse"\n'
        "patterns = ['\\b{kin}\\b[^.]{0,40}\\bshouts?\\b']\n"
    )
    screening = load_screening(path)
    assert categories_found(screen(screening, [TextPart("text", "Her daughter-in-law shouts at her.")]))
    assert not screen(screening, [TextPart("text", "Her neighbour shouts at the dog.")])


def test_welsh_indicators_are_found_in_their_mutated_forms(screening) -> None:
    # "taro" (hit) after "ei" (her) is "ei tharo"; "cam-drin" after "fy" (my) is "fy ngham-drin".
    assert "physical" in categories_found(
        screen(screening, [TextPart("text", "Mae'r gofalwr wedi ei tharo hi.")])
    )
    assert "named" in categories_found(screen(screening, [TextPart("text", "Dw i'n poeni am ei gam-drin.")]))


def test_welsh_mutations_of_a_word() -> None:
    assert welsh_forms("taro") == ["taro", "daro", "nharo", "tharo"]
    assert welsh_forms("llygod") == ["llygod", "lygod"]
    assert welsh_forms("ofn") == ["ofn", "hofn"]
    assert welsh_forms("chwerthin am ei ben") == ["chwerthin am ei ben"]


def test_work_is_bounded_for_a_mail_of_many_huge_parts(screening, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(safeguarding, "MAIL_LIMIT", 300)
    parts = [TextPart(f"attachment {i}.txt", "word " * 50) for i in range(3)] + [TextPart("last", "bruises")]
    assert screen(screening, parts) == ()  # past what one mail may cost
    assert screen(screening, parts[-1:]) != ()
