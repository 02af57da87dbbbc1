"""Letters in Welsh, without mail servers: every letter a complainant can receive, rendered from the shipped
templates with the context the real code builds (outgoing/notices.py ``letter_context``) for real cases in an
in-memory SQLite database; the bilingual letter; English for staff; and the check that finds a complainant
letter with no Welsh template."""

from __future__ import annotations

import re
import shutil
import tomllib
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from mailbot.cases import stages
from mailbot.cases.statutory import subject_access_clock
from mailbot.config.settings import OrganisationConfig
from mailbot.db.models import Case
from mailbot.db.session import make_engine, make_sessionmaker, upgrade
from mailbot.outgoing.letters import (
    COMPLAINANT_LETTERS,
    TEMPLATE_FILES,
    Letter,
    LetterError,
    Letters,
    read_words,
    welsh_long_date,
)
from mailbot.outgoing.notices import LetterRequest, letter_context
from mailbot.policy import Policy, load_policies
from mailbot.routing.requests import letter_details
from mailbot.vocabulary import OUTCOMES, RECORDED_STAGE

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
POLICIES = load_policies(ROOT / "rules" / "policies")
LETTERS = Letters(TEMPLATES)
LONDON = ZoneInfo("Europe/London")
# England and Wales 2026: May Day Mon 4 May, Spring Bank Holiday Mon 25 May.
WED_29_APR_2026 = datetime(2026, 4, 29, 10, 0, tzinfo=LONDON)
ORGANISATION = OrganisationConfig(
    name="Gofal Glan Môr",
    from_address="cwynion@glanmor.example",
    from_name="Cwynion Gofal Glan Môr",
    domain="glanmor.example",
    own_addresses=frozenset({"cwynion@glanmor.example"}),
)
# letter_context reads the organisation from the app's configuration and nothing else of the app.
APP: Any = SimpleNamespace(config=SimpleNamespace(organisation=ORGANISATION))
# The letters that go to staff, who are written to in English. A new letter must be added here or to
# COMPLAINANT_LETTERS, so that nobody forgets to decide whether it needs a Welsh template.
STAFF_LETTERS = {
    "alert_bounce", "alert_elected_member", "alert_safeguarding", "alert_undelivered",
    "alert_unverified_staff", "breach",
    "command_done", "command_no_case", "command_refused", "digest", "follow_up", "forward_matter",
    "forward_request",
    "notice_bundle", "notify_coordinator", "relay_held", "reminder", "request_due", "request_overdue",
}  # fmt: skip
ENGLISH_DATE_WORDS = re.compile(
    r"\b(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|January|February|March|April|May|June|July"
    r"|August|September|October|November|December)\b"
)
# Everyday English words that are not Welsh words: none may appear in a letter written wholly in Welsh.
ENGLISH_WORDS = re.compile(r"\b(the|your|you|we|our|will|and|to|of|is|please|dear|yours|sincerely)\b", re.I)


@pytest.fixture
def session() -> Iterator[Session]:
    """A real SQLite database in memory, with the schema the migrations build."""
    engine = make_engine("sqlite://")
    upgrade(engine)
    with make_sessionmaker(engine).begin() as session:
        yield session
    engine.dispose()


def new_item(session: Session, policy_name: str, kind: str = "complaint") -> Case:
    case = Case(
        ref="CMP-2026-0042", kind=kind, policy=policy_name, stage=RECORDED_STAGE, status="recorded",
        mailbox="complaints", subject="Gofal fy mam", complainant_name="Eleri Jones",
        complainant_address="eleri.jones@example.net", received_at=WED_29_APR_2026,
    )  # fmt: skip
    session.add(case)
    session.flush()
    return case


def complaint(session: Session, policy_name: str) -> Case:
    """A complaint at the first stage of its policy, as intake leaves it."""
    case = new_item(session, policy_name)
    policy = POLICIES[policy_name]
    stages.start_stage(session, case, policy, stages.complaint_start(policy), WED_29_APR_2026)
    return case


def at_last_stage(session: Session, policy_name: str) -> Case:
    case = complaint(session, policy_name)
    stages.escalate(session, case, POLICIES[policy_name], WED_29_APR_2026, acknowledged=WED_29_APR_2026)
    return case


def context(case: Case, letter: str, **details: Any) -> dict[str, Any]:
    request = LetterRequest(letter, WED_29_APR_2026, details=details)
    return letter_context(APP, case, POLICIES[case.policy], request)


def render(case: Case, letter: str, language: str, **details: Any) -> Letter:
    return LETTERS.render(
        letter, context(case, letter, **details), policy=case.policy, stage=case.stage, language=language
    )


# Each complainant letter as the code sends it: how the case got there, and the letter's details.
def acknowledged_complaint(session: Session, policy: str) -> tuple[Case, dict[str, Any]]:
    return complaint(session, policy), {}


def acknowledged_escalation(session: Session, policy: str) -> tuple[Case, dict[str, Any]]:
    return at_last_stage(session, policy), {}


def acknowledged_comment(session: Session, policy: str) -> tuple[Case, dict[str, Any]]:
    return new_item(session, policy, kind="comment"), {}


def thanked_compliment(session: Session, policy: str) -> tuple[Case, dict[str, Any]]:
    return new_item(session, policy, kind="compliment"), {}


def extended(session: Session, policy: str) -> tuple[Case, dict[str, Any]]:
    case = complaint(session, policy)
    reason = "Mae angen i ni siarad â dau aelod o staff sydd ar wyliau."
    return case, {"extension": stages.extend(case, POLICIES[policy], 10, reason, agreed=True)}


def first_outcome(session: Session, policy: str) -> tuple[Case, dict[str, Any]]:
    case = complaint(session, policy)
    stages.record_outcome(case, POLICIES[policy], "partly upheld", WED_29_APR_2026)
    return case, outcome_details("partly upheld")


def final_outcome(session: Session, policy: str) -> tuple[Case, dict[str, Any]]:
    case = at_last_stage(session, policy)
    stages.record_outcome(case, POLICIES[policy], "not upheld", WED_29_APR_2026)
    return case, outcome_details("not upheld")


def outcome_details(decision: str) -> dict[str, Any]:
    return {
        "decision": decision,
        "reasons": "Cafodd y feddyginiaeth ei rhoi ar amser bob dydd.",
        "remedy": "Byddwn yn hyfforddi'r staff eto.",
        "actions": "Hyfforddiant erbyn diwedd mis Mehefin.",
    }


def signposted(session: Session, policy: str) -> tuple[Case, dict[str, Any]]:
    return at_last_stage(session, policy), {}


def relayed(session: Session, policy: str) -> tuple[Case, dict[str, Any]]:
    text = "Diolch am eich neges. Byddaf yn eich ffonio ddydd Gwener."
    return complaint(session, policy), {"text": text, "staff_name": "Siân Prys", "staff_address": ""}


def received_request(session: Session, policy: str) -> tuple[Case, dict[str, Any]]:
    clock = subject_access_clock(WED_29_APR_2026.date(), "WLS")
    return new_item(session, policy, "subject_access"), letter_details("subject_access", clock)


def extended_request(session: Session, policy: str) -> tuple[Case, dict[str, Any]]:
    clock = subject_access_clock(WED_29_APR_2026.date(), "WLS")
    details = letter_details("subject_access", clock)
    reason = "Mae'r cais yn cynnwys cofnodion o dri chartref gofal."
    return new_item(session, policy, "subject_access"), {**details, "old_due": clock.due, "reason": reason,
                                                         "due": clock.latest_due}  # fmt: skip


SCENARIOS = {
    "acknowledgement of a new complaint": ("acknowledgement", acknowledged_complaint),
    "acknowledgement of an escalation": ("acknowledgement", acknowledged_escalation),
    "acknowledgement of a comment": ("acknowledgement", acknowledged_comment),
    "thank_you for a compliment": ("thank_you", thanked_compliment),
    "extension": ("extension", extended),
    "outcome with a next stage": ("outcome", first_outcome),
    "outcome at the last stage": ("outcome", final_outcome),
    "signpost": ("signpost", signposted),
    "relay": ("relay", relayed),
    "request_received": ("request_received", received_request),
    "request_extended": ("request_extended", extended_request),
}
WELSH_POLICIES = sorted(
    path.stem
    for path in (ROOT / "rules" / "policies").glob("*.toml")
    if tomllib.loads(path.read_text(encoding="utf-8")).get("nation") == "WLS"
)


def english_phrases(letter: str) -> set[str]:
    """The English template's own words, phrase by phrase: its text with every Jinja and HTML tag taken out,
    cut at each tag, line end and punctuation mark. Phrases of two words or more, and longer single words."""
    folder = TEMPLATES / letter
    sources = [folder / name for name in TEMPLATE_FILES if (folder / name).is_file()]
    sources += [TEMPLATES / name for name in ("_footer.txt", "_signposts.txt", "_signposts.html")]
    text = "\n".join(path.read_text(encoding="utf-8") for path in sources)
    fragments = re.split(r"\{\{.*?\}\}|\{%.*?%\}|<[^>]+>|[.:;,()\[\]\n]", text, flags=re.S)
    phrases = {" ".join(fragment.split()) for fragment in fragments}
    return {p for p in phrases if len(p.split()) >= 2 or (p.isalpha() and len(p) >= 5)}


def words_of(letter: Letter) -> str:
    return " ".join(" ".join((letter.subject, letter.text, letter.html or "")).split())


def test_every_letter_is_either_for_complainants_or_for_staff() -> None:
    shipped = {p.name for p in TEMPLATES.iterdir() if (p / "body.txt").is_file()}
    assert shipped == set(COMPLAINANT_LETTERS) | STAFF_LETTERS


def test_the_letters_policies_send_in_reply_are_complainant_letters() -> None:
    replies = {kind.reply for policy in POLICIES.values() for kind in policy.kinds} - {"none"}
    assert replies <= set(COMPLAINANT_LETTERS)


def test_the_scenarios_cover_every_complainant_letter() -> None:
    assert {letter for letter, _make in SCENARIOS.values()} == set(COMPLAINANT_LETTERS)
    assert WELSH_POLICIES == ["case-management-cymru", "wales-ssc-2014"]


@pytest.mark.parametrize("policy", WELSH_POLICIES)
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_a_complainant_letter_is_written_wholly_in_welsh(
    session: Session, scenario: str, policy: str
) -> None:
    letter, make = SCENARIOS[scenario]
    case, details = make(session, policy)

    welsh = render(case, letter, "cy", **details)
    english = render(case, letter, "en", **details)

    assert LETTERS.folder(letter, case.policy, case.stage, "cy") == f"cy/{letter}"
    assert welsh.text.startswith("Annwyl Eleri Jones,") or letter == "relay"
    assert welsh.subject.startswith("[CMP-2026-0042] ")
    assert welsh.html is not None and '<html lang="cy">' in welsh.html
    phrases = english_phrases(letter)
    assert [p for p in phrases if p.lower() in words_of(english).lower()], "no English phrase found at all"
    assert [p for p in phrases if p.lower() in words_of(welsh).lower()] == []
    assert ENGLISH_WORDS.findall(words_of(welsh)) == []
    assert ENGLISH_DATE_WORDS.findall(words_of(welsh)) == []


def test_the_acknowledgement_gives_the_response_date_in_welsh(session: Session) -> None:
    case = complaint(session, "case-management-cymru")
    # 28 calendar days from receipt on Wed 29 April 2026: Wed 27 May 2026.
    assert case.response_due == date(2026, 5, 27)

    welsh = render(case, "acknowledgement", "cy")

    assert "erbyn Dydd Mercher 27 Mai 2026." in welsh.text
    assert "erbyn <strong>Dydd Mercher 27 Mai 2026</strong>." in (welsh.html or "")
    assert render(case, "acknowledgement", "en").text.count("Wednesday 27 May 2026") == 1


def test_the_acknowledgement_reads_as_a_welsh_public_body_writes(session: Session) -> None:
    case = complaint(session, "wales-ssc-2014")

    text = render(case, "acknowledgement", "cy").text

    assert "Rydym wedi cael eich cwyn. Y cyfeirnod yw CMP-2026-0042." in text
    assert "ar y cam hwn o'n gweithdrefn gwyno: Cam 1 (datrys yn lleol)." in text
    assert "Bydd y swyddog cwynion yn delio â'r mater." in text
    assert "eiriolwr annibynnol" in text
    assert text.endswith(
        "Yn gywir,\n\nGofal Glan Môr\ncwynion@glanmor.example\n\nCadwch CMP-2026-0042 yn llinell pwnc unrhyw "
        "ateb, os gwelwch yn dda, er mwyn iddo gyrraedd y person cywir.\n"
    )


def test_the_extension_gives_the_new_date_in_welsh(session: Session) -> None:
    case, details = extended(session, "wales-ssc-2014")
    new_date = details["extension"].new_date

    welsh = render(case, "extension", "cy", **details)

    assert f"erbyn {welsh_long_date(new_date)}." in welsh.text
    assert welsh_long_date(new_date).startswith("Dydd ")


def test_the_final_outcome_names_the_ombudsman_in_welsh(session: Session) -> None:
    case, details = final_outcome(session, "wales-ssc-2014")

    welsh = render(case, "outcome", "cy", **details)

    assert "Ein penderfyniad: mae eich cwyn heb ei chadarnhau." in welsh.text
    assert "- Ombwdsmon Gwasanaethau Cyhoeddus Cymru\n" in welsh.text
    assert "  Ffôn: 0300 790 0203\n" in welsh.text
    assert "<strong>Ombwdsmon Gwasanaethau Cyhoeddus Cymru</strong>" in (welsh.html or "")
    assert welsh.subject == "[CMP-2026-0042] Ein hymateb i'ch cwyn (Cam 2 (ymchwiliad ffurfiol))"


def test_welsh_long_dates_come_from_babel() -> None:
    assert welsh_long_date(date(2026, 11, 26)) == "Dydd Iau 26 Tachwedd 2026"
    assert welsh_long_date(datetime(2026, 2, 3, 23, 30, tzinfo=LONDON)) == "Dydd Mawrth 3 Chwefror 2026"
    assert welsh_long_date(None) == ""


# --- one letter in both languages ---------------------------------------------------------------------------


def test_the_bilingual_letter_has_the_welsh_first_then_the_english(session: Session) -> None:
    case = complaint(session, "wales-ssc-2014")
    welsh, english = render(case, "acknowledgement", "cy"), render(case, "acknowledgement", "en")

    both = render(case, "acknowledgement", "cy+en")

    assert both.subject == f"{welsh.subject} / {english.subject}"
    assert both.text.startswith(welsh.text.rstrip())
    assert both.text.endswith(english.text)
    assert both.text.index("Annwyl Eleri Jones,") < both.text.index("Dear Eleri Jones,")
    html = both.html or ""
    assert html.startswith('<!DOCTYPE html>\n<html lang="cy">')
    assert (html.count("<!DOCTYPE"), html.count("<body"), html.count("</body>")) == (1, 1, 1)
    assert html.index("<p>Annwyl Eleri Jones,</p>") < html.index('<div lang="en">')
    assert html.index('<div lang="en">') < html.index("<p>Dear Eleri Jones,</p>")


def test_a_bilingual_letter_without_html_in_both_languages_goes_as_text_only(
    session: Session, tmp_path: Path
) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    (templates / "cy" / "thank_you" / "body.html").unlink()
    case = new_item(session, "wales-ssc-2014", kind="compliment")

    both = Letters(templates).render("thank_you", context(case, "thank_you"), language="cy+en")

    assert both.html is None
    assert "Diolch i chi am roi o'ch amser" in both.text and "Thank you for taking the time" in both.text


# --- letters to staff ---------------------------------------------------------------------------------------


def reminder_context(case: Case) -> dict[str, Any]:
    recipient = SimpleNamespace(name="Siân Prys", address="sian.prys@glanmor.example")
    details = {"recipient": recipient, "milestone": "response", "due": case.response_due, "days_left": 2}
    return context(case, "reminder", must=(), **details)


def test_a_staff_letter_asked_for_in_welsh_is_written_in_english(session: Session) -> None:
    case = complaint(session, "wales-ssc-2014")
    english = LETTERS.render("reminder", reminder_context(case), policy=case.policy, stage=case.stage)

    welsh = LETTERS.render("reminder", reminder_context(case), case.policy, case.stage, language="cy")
    both = LETTERS.render("reminder", reminder_context(case), case.policy, case.stage, language="cy+en")

    assert welsh == english
    assert both == english
    # Acknowledgement due Fri 1 May (2 working days: Thu 30 Apr, Fri 1); 10 working days from it, Bank Holiday
    # Mon 4 May skipped: Tue 5 (1), ..., Fri 8 (4), Mon 11 (5), ..., Fri 15 (9), Mon 18 May (10).
    assert "on Monday 18 May 2026." in english.text


# --- what the check finds -----------------------------------------------------------------------------------


def test_every_shipped_complainant_letter_has_a_welsh_template() -> None:
    assert LETTERS.missing_translations() == []


def test_a_complainant_letter_or_override_in_english_only_is_reported(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    (templates / "cy" / "signpost" / "body.html").unlink()
    shutil.copytree(templates / "outcome", templates / "wales-ssc-2014" / "outcome")
    shutil.copytree(templates / "reminder", templates / "reminder-stage2")  # to staff: needs no Welsh

    assert Letters(templates).missing_translations() == [
        "cy/signpost/body.html",
        "cy/wales-ssc-2014/outcome/subject.txt",
        "cy/wales-ssc-2014/outcome/body.txt",
        "cy/wales-ssc-2014/outcome/body.html",
    ]


def test_a_welsh_override_is_chosen_before_the_english_one(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    shutil.copytree(templates / "outcome", templates / "wales-ssc-2014" / "outcome-formal_investigation")
    shutil.copytree(templates / "cy" / "outcome", templates / "cy" / "outcome-formal_investigation")
    letters = Letters(templates)

    assert letters.candidates("outcome", "wales-ssc-2014", "formal_investigation", "cy") == [
        "cy/wales-ssc-2014/outcome-formal_investigation",
        "cy/wales-ssc-2014/outcome",
        "cy/outcome-formal_investigation",
        "cy/outcome",
        "wales-ssc-2014/outcome-formal_investigation",
        "wales-ssc-2014/outcome",
        "outcome-formal_investigation",
        "outcome",
    ]
    assert letters.folder("outcome", "wales-ssc-2014", "formal_investigation", "cy") == (
        "cy/outcome-formal_investigation"
    )
    assert letters.folder("outcome", "wales-ssc-2014", "formal_investigation") == (
        "wales-ssc-2014/outcome-formal_investigation"
    )


@pytest.mark.parametrize("policy_name", WELSH_POLICIES)
def test_every_phrase_a_welsh_policy_puts_in_a_letter_has_its_welsh(policy_name: str) -> None:
    policy: Policy = POLICIES[policy_name]
    words = read_words(TEMPLATES / "cy" / "words.toml")
    places = [text for p in policy.after_final_stage for text in (p.name, p.when, p.post, p.note)]
    phrases = {
        *(stage.label for stage in policy.stages),
        *(stage.respond.label for stage in policy.stages),
        *(policy.role_label(stage.handler) for stage in policy.stages),
        *(kind.name for kind in policy.kinds),
        *OUTCOMES,
        *(p for p in places if p and not p.startswith("1 Ffordd")),  # an address already in Welsh
    }
    assert sorted(phrases - set(words)) == []


# --- mistakes -----------------------------------------------------------------------------------------------


def test_an_unknown_language_names_those_accepted(session: Session) -> None:
    case = complaint(session, "wales-ssc-2014")

    with pytest.raises(LetterError, match=r"unknown letter language 'fr' \(accepted: en, cy, or two joined"):
        render(case, "acknowledgement", "fr")
    with pytest.raises(LetterError, match="'cy\\+cy'"):
        render(case, "acknowledgement", "cy+cy")


def test_a_broken_words_file_names_the_file_and_the_table(tmp_path: Path) -> None:
    (tmp_path / "cy").mkdir()
    words = tmp_path / "cy" / "words.toml"
    words.write_text('[stages]\n"Stage 1" = 1\n', encoding="utf-8")

    with pytest.raises(LetterError, match=r"words\.toml: \[stages\] must be a table of phrases"):
        Letters(tmp_path)
    words.write_text("[stages\n", encoding="utf-8")
    with pytest.raises(LetterError, match=r"words\.toml: "):
        Letters(tmp_path)
