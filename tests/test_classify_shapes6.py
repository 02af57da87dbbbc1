"""The front door's sixth round (issue 13): phishing that asks for a mail password or a work login, and
invoice redirection fraud, are out of scope before any notice rule reads them as bulk; a seller's chase of
its own pitch and its offers of a visit, a comparison or a pilot are a pitch; the organisation's records
asked for in plain words lean FOI; taxis and buses are another organisation's business; a worry that asks
what the plan is stays a concern; a colleague's suggestion in other words is a comment. Each shape is shown
from both sides. The rules alone decide (no kind model); every mail is worded unlike the labelled sets."""

from __future__ import annotations

import pytest

from mailbot.classify import Classification, RuleChain
from tests.judging import judged_words, rule_chain


@pytest.fixture(scope="module")
def chain() -> RuleChain:
    return rule_chain()


def judge(
    chain: RuleChain, body: str, sender: str = "lee.moss@example.net", subject: str = "Hello"
) -> Classification:
    return judged_words(chain, body, sender, "Lee Moss", subject)


def test_a_share_that_asks_for_the_mail_password_is_phishing_not_a_notice(chain: RuleChain) -> None:
    body = "Payroll shared 'Overtime rates.xlsx' with you.\n\nSign in with your email password to open it.\n"
    verdict = judge(chain, body, sender="no-reply@files-share.example", subject="Overtime rates.xlsx")
    assert verdict.kind == "out_of_scope" and not verdict.may_auto_reply
    person = (
        "I can't remember my email password so I'm writing from my son's. Dad's carer never came today.\n"
    )
    assert judge(chain, person, subject="No carer").kind == "complaint"


def test_bank_details_changed_by_mail_is_payment_diversion_unless_money_is_owed(chain: RuleChain) -> None:
    fraud = (
        "Dear Customer,\n\nOur new bank details are below; all future payments should be made to this\n"
        "account from today.\n\nSort code: 10-20-30\nAccount: 44556677\n\nAccounts\n"
    )
    verdict = judge(chain, fraud, sender="accounts@laundrylink.example.co.uk", subject="Bank update")
    assert verdict.kind == "out_of_scope"
    dispute = (
        "We gave you our new bank details in March. Our invoice for the Elm Lodge kitchen repair has been\n"
        "paid into the closed account and £960 is still owed. Please pay the right account.\n"
    )
    assert judge(chain, dispute, sender="jo@fixit-kitchens.example.co.uk", subject="Paid wrong").kind != (
        "out_of_scope"
    )


def test_a_sellers_chase_and_its_offer_of_a_visit_are_a_pitch_a_relatives_chase_is_not(
    chain: RuleChain,
) -> None:
    seller = (
        "Just following up on my email about mattress hire. We can match your current supplier and I\n"
        "could pop in on Tuesday with a sample.\nDee Lamb, Account Manager\n"
    )
    assert (
        judge(chain, seller, sender="dee@restwell.example.com", subject="Mattresses").kind == "out_of_scope"
    )
    relative = "Just following up on my email about Dad's bed sores. Nobody has rung me and I want answers.\n"
    assert judge(chain, relative, subject="Dad").kind == "complaint"


def test_the_organisations_records_asked_for_lean_foi_a_relatives_record_does_not(chain: RuleChain) -> None:
    foi = (
        "Could you tell me how many night shifts across your homes were run below the staffing plan in\n"
        "2025? I'm tired of hearing it's all fine.\n"
    )
    assert judge(chain, foi, subject="Night shifts").kind == "foi"
    documents = "Please send me copies of the legionella risk assessments for your three homes.\n"
    assert judge(chain, documents, subject="Water safety").kind == "foi"
    relative = "Please send me a copy of the risk assessment for my mother's bed rails, and an explanation.\n"
    assert judge(chain, relative, subject="Bed rails").kind != "foi"


def test_a_taxi_is_another_organisations_business_the_day_centre_bus_is_ours(chain: RuleChain) -> None:
    taxi = (
        "The taxi I booked for the airport never arrived and the controller hung up on me. Refund please.\n"
    )
    assert judge(chain, taxi, subject="Taxi").kind == "out_of_scope"
    ours = "The day centre bus driver left my brother at the wrong bus stop. I want to know how.\n"
    assert judge(chain, ours, subject="Bus").kind == "complaint"


def test_a_worry_asking_for_the_plan_is_a_concern_a_demand_is_a_complaint(chain: RuleChain) -> None:
    worry = "The lift at Ash Court is broken again and I'm frightened for Mum upstairs. Is there a plan?\n"
    assert judge(chain, worry, subject="Lift").kind == "concern"
    demand = "The lift at Ash Court is broken again and I'm frightened for Mum. I want it fixed this week.\n"
    assert judge(chain, demand, subject="Lift").kind == "complaint"


def test_a_colleagues_suggestion_in_other_words_is_a_comment_their_note_a_staff_reply(
    chain: RuleChain,
) -> None:
    idea = "Could each lounge have a clock with the day and date on it? Worth considering for the winter.\n"
    verdict = judge(chain, idea, sender="kim.hale@riverside.example", subject="Clocks")
    assert verdict.kind == "comment" and "own_address" in verdict.flags and not verdict.may_auto_reply
    note = "I've rung Mr Bell's son back about the laundry and he's happy now.\n"
    assert judge(chain, note, sender="kim.hale@riverside.example", subject="Mr Bell").kind == "staff_reply"
