"""The rule chain in rules/classify.toml on realistic UK care mails, and the errors a bad rule file gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailbot.classify import Classification, ClassifyRulesError, RuleChain, ThreadMatch, classify, load_chain
from mailbot.classify.safeguarding import load_screening
from mailbot.intake.parse import parse_mail

RULES = Path(__file__).resolve().parents[1] / "rules" / "classify.toml"
OWN = frozenset({"complaints@care.example.org", "@care.example.org"})


@pytest.fixture(scope="module")
def chain() -> RuleChain:
    return load_chain(RULES)


def mail_from(
    body: str,
    subject: str = "Feedback",
    sender: str = "Sarah Jones <sarah@example.co.uk>",
    extra_headers: str = "",
):
    raw = (
        f"From: {sender}\nTo: complaints@care.example.org\nSubject: {subject}\n{extra_headers}"
        f"Content-Type: text/plain; charset=utf-8\n\n{body}\n"
    )
    return parse_mail(raw.encode())


SCREENING = load_screening(Path(__file__).resolve().parents[1] / "rules" / "safeguarding.toml")


def judge(chain: RuleChain, body: str, **kwargs) -> Classification:
    """As deployed: the rule chain and the safeguarding screening."""
    thread = kwargs.pop("thread", None)
    return classify(mail_from(body, **kwargs), chain, thread=thread, own_addresses=OWN, screening=SCREENING)


def test_relative_complains_about_missed_visits(chain: RuleChain) -> None:
    verdict = judge(
        chain,
        "The carers did not turn up on Saturday and Sunday. Mum was left without lunch. "
        "This is not good enough.",
        subject="Missed visits",
    )
    assert verdict.kind == "complaint"
    assert verdict.may_auto_reply and not verdict.is_machine
    assert verdict.rules_hit[-1] == "complaint-words"


def test_praise_for_a_carer(chain: RuleChain) -> None:
    verdict = judge(
        chain,
        "I want to praise Bronwen, who looked after Dad with such patience. She went above and beyond.",
        subject="Thank you",
    )
    assert verdict.kind == "compliment"
    assert verdict.flags == ()


def test_thanks_do_not_hide_a_complaint(chain: RuleChain) -> None:
    verdict = judge(chain, "Thank you so much for reading this. I am appalled that nobody came on Friday.")
    assert verdict.kind == "complaint"


def test_councillor_writes_for_a_constituent(chain: RuleChain) -> None:
    verdict = judge(
        chain,
        "I am writing on behalf of my constituent, Mrs Ann Price, who is worried about "
        "the home care her husband receives.",
        sender="Cllr Gareth Morgan <gareth.morgan@council.example.gov.uk>",
    )
    assert "elected_member" in verdict.flags
    assert verdict.kind == "concern"


def test_mp_in_capitals_but_not_in_other_words(chain: RuleChain) -> None:
    assert "elected_member" in judge(chain, "I have copied this to my MP.").flags
    assert "elected_member" not in judge(chain, "The damp in the room, at 10:35 AM, was awful.").flags


def test_safeguarding_disclosure(chain: RuleChain) -> None:
    verdict = judge(
        chain,
        "I noticed bruises on Mum's arms and she says she is scared of the night carer. I am very worried.",
        subject="Please help",
    )
    assert "safeguarding" in verdict.flags
    assert verdict.kind == "concern"
    assert verdict.may_auto_reply


def test_hit_and_miss_is_not_a_safeguarding_matter(chain: RuleChain) -> None:
    verdict = judge(chain, "The timing of visits is hit and miss and I would suggest a fixed rota.")
    assert "safeguarding" not in verdict.flags
    assert verdict.kind == "comment"


def test_welsh_language_mail(chain: RuleChain) -> None:
    body = (
        "Annwyl Syr neu Fadam,\n\nHoffwn wneud cwyn am y gofal mae fy mam yn ei gael. Nid yw'r gofalwyr "
        "wedi dod ar amser ac mae hi wedi bod heb ginio ddwywaith yr wythnos hon.\n\nCofion,\nSiân"
    )
    verdict = judge(chain, body, subject="Cwyn am ofal fy mam")
    assert "lang:cy" in verdict.flags
    assert verdict.kind == "complaint"


def test_english_mail_is_not_welsh(chain: RuleChain) -> None:
    body = "I am writing about my dad. He has been in the home for a year and I am happy with it overall."
    assert "lang:cy" not in judge(chain, body).flags


def test_exchange_out_of_office_without_auto_submitted(chain: RuleChain) -> None:
    verdict = judge(
        chain,
        "I am out of the office until Monday with no access to email.",
        subject="Automatic reply: Your complaint C-2025-0042",
        extra_headers="X-Auto-Response-Suppress: All\nThread-Topic: Your complaint C-2025-0042\n",
    )
    assert verdict.kind == "auto_reply"
    assert verdict.is_machine and not verdict.may_auto_reply


def test_out_of_hours_care_is_not_out_of_office(chain: RuleChain) -> None:
    verdict = judge(chain, "Nobody answered the out of hours number.", subject="Out of office hours service")
    assert verdict.kind == "complaint"


def test_suppress_header_alone_is_honoured_but_not_a_machine(chain: RuleChain) -> None:
    verdict = judge(
        chain, "Dad's carer was rude to him again.", extra_headers="X-Auto-Response-Suppress: All\n"
    )
    assert verdict.kind == "complaint"
    assert verdict.flags == ("suppress_auto_reply",)
    assert not verdict.may_auto_reply


def test_supplier_invoice_dispute(chain: RuleChain) -> None:
    verdict = judge(
        chain,
        "Invoice 4471 for the March laundry service is now 60 days overdue. Under our "
        "contract payment terms are 30 days.",
        sender="Accounts <accounts@linen.example.com>",
        subject="Overdue invoice 4471",
    )
    assert "business_dispute" in verdict.flags


@pytest.mark.parametrize(
    ("headers", "sender", "subject", "kind"),
    [
        ("Auto-Submitted: auto-replied\n", "Jo <jo@example.org>", "Away", "auto_reply"),
        ("Auto-Submitted: auto-generated\n", "Jo <jo@example.org>", "Your ticket", "bulk"),
        ("Auto-Submitted: no\n", "Jo <jo@example.org>", "Missed visit", "complaint"),
        ("Precedence: bulk\n", "News <news@example.org>", "Spring newsletter", "bulk"),
        ("List-Id: <carers.lists.example.org>\n", "Jo <jo@example.org>", "Meeting", "bulk"),
        ("X-Autoreply: yes\n", "Jo <jo@example.org>", "Re: hello", "auto_reply"),
        ("", "MAILER-DAEMON@mx.example.org", "Undelivered Mail Returned to Sender", "bounce"),
        ("", "Jo <jo@example.org>", "Undeliverable: Your complaint C-1", "bounce"),
        ("Return-Path: <>\n", "Jo <jo@example.org>", "Hello", "bounce"),
        # a site counting what waits there is a notification, whoever it claims to be from
        ("", "Kim <kim@example.org>", "You have 5 unread messages", "bulk"),
        ("", "Kim <kim@example.org>", "12 new matches waiting for you!", "bulk"),
        ("", "Jo <jo@example.org>", "2 new messages to the office were never answered", "complaint"),
    ],
)
def test_machines_are_never_answered(
    chain: RuleChain, headers: str, sender: str, subject: str, kind: str
) -> None:
    verdict = judge(chain, "Text.", subject=subject, sender=sender, extra_headers=headers)
    assert verdict.kind == kind
    assert verdict.may_auto_reply == (kind == "complaint")


def test_a_no_reply_address_is_never_answered_but_its_words_are_still_read(chain: RuleChain) -> None:
    # Issue 13: a no-reply address says "send nothing automatic", not "not a person". A person may write
    # from one to stay anonymous; a robot is recognised by what robots write, not by its address.
    person = judge(chain, "Nobody came to Mum on Sunday.", subject="Missed visit",
                   sender="noreply.anon77@protonmail.example.com")  # fmt: skip
    assert person.kind == "complaint"
    assert {"no_reply_address", "anonymous"} <= set(person.flags)
    assert not person.may_auto_reply
    robot = judge(chain, "Your request has been received. This is an automated message, please do not reply.",
                  subject="Your request", sender="Council <no-reply@council.example.gov.uk>")  # fmt: skip
    assert robot.kind == "bulk"
    assert not robot.may_auto_reply


def test_arf_feedback_report_is_bulk_not_a_complaint(chain: RuleChain) -> None:
    raw = (
        b"From: staff@provider.example\nSubject: complaint about message\n"
        b"Content-Type: multipart/report; report-type=feedback-report; boundary=b\n\n"
        b"--b\nContent-Type: text/plain\n\nThis is an abuse report.\n"
        b"--b\nContent-Type: message/feedback-report\n\nFeedback-Type: abuse\n--b--\n"
    )
    verdict = classify(parse_mail(raw), chain)
    assert verdict.kind == "bulk" and not verdict.may_auto_reply


def test_delivery_status_notification_is_a_bounce(chain: RuleChain) -> None:
    raw = (
        b"From: postmaster@mx.example.org\nSubject: Delivery Status Notification (Failure)\n"
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n"
        b"--b\nContent-Type: text/plain\n\nDelivery failed.\n"
        b"--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx\n\nStatus: 5.1.1\n--b--\n"
    )
    assert classify(parse_mail(raw), chain).kind == "bounce"


def test_reply_on_a_case(chain: RuleChain) -> None:
    thread = ThreadMatch(case_ref="C-2025-0042", matched_by="references")
    body = (
        "Thank you, that answers my question.\n\nOn Mon, 3 Mar 2025 at 10:00, Complaints "
        "<complaints@care.example.org> wrote:\n> If you are not satisfied with our response you can ask\n"
        "> for a stage 2 review."
    )
    verdict = judge(chain, body, subject="Re: Your complaint C-2025-0042", thread=thread)
    assert verdict.kind == "reply"
    assert "escalation-words" in verdict.rules_missed


def test_escalation_on_a_case(chain: RuleChain) -> None:
    thread = ThreadMatch(case_ref="C-2025-0042", matched_by="subject")
    verdict = judge(
        chain,
        "I am not satisfied with your response and I want to take this further.",
        subject="Re: Your complaint C-2025-0042",
        thread=thread,
    )
    assert verdict.kind == "escalation"
    assert verdict.may_auto_reply


def test_escalation_words_need_a_case(chain: RuleChain) -> None:
    verdict = judge(chain, "I want to appeal the decision to cut Mum's care package. It is unacceptable.")
    assert verdict.kind == "complaint"
    assert "escalation-words" not in verdict.rules_hit + verdict.rules_missed


def test_staff_reply_from_our_own_addresses(chain: RuleChain) -> None:
    thread = ThreadMatch(case_ref="C-2025-0042", matched_by="references")
    verdict = judge(
        chain,
        "Dear Mrs Jones, I have spoken to the rota team.",
        thread=thread,
        sender="Alun Roberts <alun.roberts@care.example.org>",
    )
    assert verdict.kind == "staff_reply"
    assert "own_address" in verdict.flags
    assert not verdict.may_auto_reply


def test_concern_when_the_writer_says_it_is_not_a_complaint(chain: RuleChain) -> None:
    verdict = judge(chain, "This is not a formal complaint, but I am worried that Dad's carer seems rushed.")
    assert verdict.kind == "concern"


def test_empty_mail_is_out_of_scope(chain: RuleChain) -> None:
    verdict = classify(parse_mail(b"From: someone@example.org\n\n\n"), chain)
    assert verdict.kind == "out_of_scope"
    assert not verdict.may_auto_reply


def test_every_rule_that_ran_is_recorded_in_chain_order(chain: RuleChain) -> None:
    verdict = judge(chain, "I would suggest a newsletter for families.")
    ran = [name for name in chain.rule_names if name in verdict.rules_hit + verdict.rules_missed]
    assert list(verdict.rules_missed) == [name for name in ran if name not in verdict.rules_hit]
    assert verdict.rules_hit == ("comment-words",)
    assert ran[-1] == "comment-words"
    assert "answers-a-case" in verdict.rules_missed


# --- a bad rule file -------------------------------------------------------------------------------------


def write_rules(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "classify.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ('[[rule]]\nname = "x"\ntype = "magic"\n', "rule 'x': unknown type 'magic'; accepted: ["),
        (
            '[[rule]]\nname = "x"\ntype = "phrases"\nphrase = ["a"]\n',
            "rule 'x': unknown key 'phrase' for type 'phrases'; accepted: ",
        ),
        ('[[rule]]\nname = "x"\ntype = "phrases"\n', "rule 'x': missing 'phrases'"),
        (
            '[[rule]]\nname = "x"\ntype = "phrases"\nphrases = "abuse"\n',
            "rule 'x': 'phrases' must be a list of strings",
        ),
        (
            '[[rule]]\nname = "x"\ntype = "pattern"\npatterns = ["(unclosed"]\n',
            "rule 'x': pattern '(unclosed' is not a valid regular expression",
        ),
        (
            '[[rule]]\nname = "x"\ntype = "pattern"\npatterns = ["\\bnewsletter\\b"]\n',
            "rule 'x': pattern '\\x08newsletter\\x08' holds a backspace or form feed",
        ),
        (
            '[[rule]]\nname = "x"\ntype = "has_content"\nkind = "grumble"\n',
            "rule 'x': unknown kind 'grumble'; accepted: [",
        ),
        ('[[rule]]\nname = "x"\ntype = "has_content"\nflags = ["Safe Guarding"]\n', "rule 'x': bad flag(s)"),
        (
            '[[rule]]\nname = "x"\ntype = "phrases"\nphrases = ["a"]\nin = ["footer"]\n',
            "rule 'x': 'in' has ['footer']; accepted",
        ),
        (
            '[[rule]]\nname = "x"\ntype = "has_content"\n[[rule]]\nname = "x"\ntype = "has_content"\n',
            "rule 'x' appears twice",
        ),
        ('[[rule]]\ntype = "has_content"\n', "rule '#1': every rule needs 'name' and 'type'"),
        ('[[rule]\nname = "x"\n', "not valid TOML"),
        ("rules = []\n", "unknown top-level key(s) ['rules']"),
    ],
)
def test_bad_rule_file_names_file_rule_and_what_is_accepted(tmp_path: Path, toml: str, expected: str) -> None:
    path = write_rules(tmp_path, toml)
    with pytest.raises(ClassifyRulesError) as error:
        load_chain(path)
    assert str(error.value).startswith(str(path))
    assert expected in str(error.value)


def test_missing_rule_file(tmp_path: Path) -> None:
    with pytest.raises(ClassifyRulesError, match="cannot be read"):
        load_chain(tmp_path / "nowhere.toml")


def test_organisation_can_add_phrases_without_code(tmp_path: Path) -> None:
    path = write_rules(
        tmp_path, '[[rule]]\nname = "praise-cy"\ntype = "phrases"\nphrases = ["gwych"]\nkind = "compliment"\n'
    )
    assert classify(mail_from("Gofal gwych gan bawb."), load_chain(path)).kind == "compliment"
