"""The front door's third round (issue 13): mass mail known by its marks without list headers, a person behind
a form or a no-reply address still a person, a colleague's forward read for its writer's words, and mail for
another organisation, sales and phishing out of scope. Each case here is in words unlike the labelled sets."""

from __future__ import annotations

import pytest

from mailbot.classify import Classification, RuleChain
from tests.judging import judged, rule_chain
from tests.mails import mail


@pytest.fixture(scope="module")
def chain() -> RuleChain:
    return rule_chain()


def judge(chain: RuleChain, raw: bytes) -> Classification:
    return judged(chain, raw)


def html_mail(sender: str, subject: str, html: str) -> bytes:
    head = f"From: {sender}\r\nTo: complaints@riverside.example\r\nSubject: {subject}\r\n"
    return f"{head}Content-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n".encode()


def test_a_newsletter_with_a_tracking_link_and_a_why_you_got_this_footer_is_bulk(chain: RuleChain) -> None:
    raw = mail(
        sender="hello@careawards.example.com", name="Care Awards", subject="Tickets now on sale",
        body="Join us at the awards dinner in March.\nBook: https://click.careawards.example.com/ls/click?upn=k2\n"
        "You're getting this because you entered last year.\n",
    )  # fmt: skip
    verdict = judge(chain, raw)
    assert verdict.kind == "bulk" and not verdict.may_auto_reply


def test_a_newsletter_in_a_fixed_width_table_with_an_opt_out_is_bulk(chain: RuleChain) -> None:
    html = (
        '<table width="600" align="center"><tr><td><h1>Winter menu ideas</h1><p>Soups residents love.</p>'
        '<p style="font-size:9px">To opt out of these emails, <a href="https://example.com/x">click here</a>.'
        "</p></td></tr></table>"
    )
    assert judge(chain, html_mail("Menus Monthly <menus@kitchen.example.com>", "Menus", html)).kind == "bulk"


def test_a_systems_report_of_rows_from_a_robot_address_is_bulk(chain: RuleChain) -> None:
    body = "Site: Oak House\nAlarms: 3\nFaults: 0\nBattery: OK\nGenerated: 30/11/2026 06:00\n"
    raw = mail(sender="noreply@firepanel.example.com", name="Fire Panel", subject="Weekly test", body=body)
    assert judge(chain, raw).kind == "bulk"


def test_rows_alone_from_an_ordinary_address_open_a_case_but_nobody_is_written_to(chain: RuleChain) -> None:
    # Borderline: only one mark. A person is never lost for it; nothing automatic goes out.
    body = "Unit: Laundry\nWashers running: 4\nDryers running: 3\nTemperature: 60C\nCycle count: 118\n"
    verdict = judge(chain, mail(sender="laundry.unit@example.com", name="", subject="Daily", body=body))
    assert verdict.kind in ("complaint", "concern", "comment")
    assert "bulk_marks" in verdict.flags and not verdict.may_auto_reply


def test_a_person_filling_in_a_web_form_that_sends_from_no_reply_is_still_a_person(chain: RuleChain) -> None:
    body = (
        "Name: Tom Lyle\nPhone: 07700 900777\nService: Home care\nPreferred contact: phone\n\nMessage:\n"
        "My father's carers have been late every day this week and I want it sorted.\n"
    )
    raw = mail(sender="no-reply@forms.example.com", name="Website", subject="Form: Contact us", body=body)
    verdict = judge(chain, raw)
    assert verdict.kind == "complaint"
    assert "no_reply_address" in verdict.flags


def test_a_person_who_writes_about_unsubscribing_is_answered_as_a_person(chain: RuleChain) -> None:
    body = (
        "Please take me off the families' mailing list, I have pressed unsubscribe twice. Not good enough.\n"
    )
    verdict = judge(chain, mail(sender="bev.hale@example.net", name="Bev Hale", subject="emails", body=body))
    assert verdict.kind == "complaint" and verdict.may_auto_reply


def test_a_person_who_asks_us_not_to_reply_by_email_is_not_a_robot(chain: RuleChain) -> None:
    body = "Please do not reply to this email, I share the account. Ring me about Mum's missed visits.\n"
    verdict = judge(chain, mail(sender="ann.cole@example.com", name="Ann Cole", subject="Mum", body=body))
    assert verdict.kind not in ("bulk", "auto_reply", "bounce", "spam")


def test_a_colleagues_forward_of_an_outside_complaint_is_a_complaint_not_a_staff_reply(
    chain: RuleChain,
) -> None:
    body = (
        "Can the complaints team take this one?\nJo\n\n---------- Forwarded message ---------\n"
        "From: Mark Vine <mark.vine@example.org>\nDate: Sun, 29 Nov 2026 at 10:02\nSubject: Dad\n"
        "To: <jo.bell@riverside.example>\n\n"
        "Dad was left without lunch on Saturday. I want this looked into.\n"
    )
    verdict = judge(
        chain, mail(sender="jo.bell@riverside.example", name="Jo Bell", subject="Fwd: Dad", body=body)
    )
    assert verdict.kind == "complaint"
    assert "own_address" in verdict.flags  # nothing automatic to our own address; the coordinator is told


def test_a_colleagues_own_note_is_still_a_staff_reply(chain: RuleChain) -> None:
    body = "I've rung Mrs Vine back and she is happy for us to close this.\nJo\n"
    raw = mail(sender="jo.bell@riverside.example", name="Jo Bell", subject="Mrs Vine", body=body)
    assert judge(chain, raw).kind == "staff_reply"


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("Refund please", "My bus pass was charged twice at the ticket office, PCN 4471. I want a refund."),
        ("Complaint", "The vet charged me for a check my cat never had. I want it taken off."),
        ("Bins", "Our green bin has been missed again. This is a complaint."),
    ],
)
def test_a_complaint_meant_for_another_organisation_is_out_of_scope(
    chain: RuleChain, subject: str, body: str
) -> None:
    assert judge(chain, mail(subject=subject, body=body)).kind == "out_of_scope"


def test_a_complaint_about_our_carers_that_names_a_hospital_or_a_gp_stays_ours(chain: RuleChain) -> None:
    body = "The carers didn't get Mum ready for her GP appointment at the surgery and she missed it.\n"
    assert judge(chain, mail(subject="Missed appointment", body=body)).kind != "out_of_scope"


def test_phishing_signed_as_the_mail_administrator_is_out_of_scope_not_a_bounce(chain: RuleChain) -> None:
    body = "Your mailbox has exceeded its storage quota. Verify your account now: https://x.example/v\n"
    raw = mail(sender="admin@quota-check.example", name="Mail Administrator", subject="Quota", body=body)
    assert judge(chain, raw).kind == "out_of_scope"


@pytest.mark.parametrize(
    "body",
    [
        "We've helped 40 care groups cut agency spend. Would you be open to a call next week?",
        "Dear Hiring Manager, I have three deputy managers looking for roles; our fee is 12% of salary.",
    ],
)
def test_a_sales_or_recruitment_pitch_is_out_of_scope(chain: RuleChain, body: str) -> None:
    raw = mail(sender="sam@vendor.example.com", name="Sam Rudd", subject="Quick question", body=body)
    assert judge(chain, raw).kind == "out_of_scope"


def test_a_person_on_a_no_reply_relay_who_uses_footer_words_is_still_a_person(chain: RuleChain) -> None:
    # A no-reply address and "opt out" are two marks, but she writes as "I" and nothing structural says mass
    # mail: a person.
    body = (
        "I want to opt out of Mum's photo being used on your website. I'm writing from an anonymous address, "
        "please do not reply to it; I will ring on Monday.\n"
    )
    raw = mail(sender="noreply.relay5521@anonmail.example", name="", subject="Mum's photo", body=body)
    verdict = judge(chain, raw)
    assert verdict.kind not in ("bulk", "auto_reply", "bounce", "spam")
    assert "no_reply_address" in verdict.flags


def test_a_wheelchair_brake_is_ours_not_a_garages(chain: RuleChain) -> None:
    body = "The brake on my wife's wheelchair has been broken for a month. I've asked three times.\n"
    assert judge(chain, mail(subject="Wheelchair", body=body)).kind == "complaint"


def test_a_complaint_about_hours_cut_by_a_percentage_is_not_a_sales_pitch(chain: RuleChain) -> None:
    body = "You took 30% off Mum's hours without asking us. We were promised a 10% discount on fees too.\n"
    assert judge(chain, mail(subject="Hours cut", body=body)).kind != "out_of_scope"


def test_an_angry_person_saying_why_they_are_writing_is_not_a_robot(chain: RuleChain) -> None:
    body = "You're getting this email because nobody answers the phone. Dad's carer didn't come again.\n"
    assert judge(chain, mail(subject="again", body=body)).kind == "complaint"
