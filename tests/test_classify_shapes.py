"""The front door's fifth round (issue 13): more shapes of a voice. A seller borrows the reader's worry, tells
a founder's story, counts its customers and prices by the month; a greeting can name another organisation;
praise in idiom with contentment in idiom is a compliment; a heads-up so that carers can check, and a quick
question, are concerns; an offer or an idea is a comment; helpdesk, calendar and monitoring mail is
notification mail. Each shape is shown from both sides: the complaint or concern beside it stays one. The
rules alone decide here (no kind model); every mail is worded unlike the labelled sets."""

from __future__ import annotations

import pytest

from mailbot.classify import Classification, RuleChain
from tests.judging import judged_words, rule_chain


@pytest.fixture(scope="module")
def chain() -> RuleChain:
    return rule_chain()


def judge(
    chain: RuleChain, body: str, sender: str = "pat.hill@example.net", subject: str = "Hello"
) -> Classification:
    return judged_words(chain, body, sender, "Pat Hill", subject)


def test_a_seller_who_borrows_a_worry_and_tells_a_founders_story_is_out_of_scope(chain: RuleChain) -> None:
    body = (
        "I'm sure you share the worry of residents going hungry at night. When my mum was in care she\n"
        "often missed supper, and that's why I started NightBites. We now supply snack trolleys in over\n"
        "90 care homes. Could I bring one over for your night team to try?\n"
        "Lena Park, Founder\n"
    )
    verdict = judge(chain, body, sender="lena@nightbites.example.com", subject="Hungry at night?")
    assert verdict.kind == "out_of_scope" and not verdict.may_auto_reply


def test_a_vendor_counting_councils_and_pricing_by_the_month_is_out_of_scope(chain: RuleChain) -> None:
    body = (
        "Councils tell us that complaint deadlines are their biggest headache. CaseFlow tracks every\n"
        "complaint for £99 a month, with a free 30-day trial. Could you point me to the right person?\n"
    )
    assert judge(chain, body, sender="sam@caseflow.example.com", subject="Deadlines").kind == "out_of_scope"


def test_a_relative_who_knows_staff_are_hard_to_find_still_complains(chain: RuleChain) -> None:
    body = (
        "I know how hard it is to find staff, and Mum's fees are £1,050 a week. For that she should not\n"
        "be left in her chair from lunch until 7pm. This is unacceptable and I want a meeting.\n"
    )
    assert judge(chain, body, subject="Left in her chair").kind == "complaint"


def test_a_greeting_to_another_organisation_makes_the_mail_theirs(chain: RuleChain) -> None:
    body = "Dear Hillview Medical Centre reception,\n\nMy dad's repeat tablets were not ready again today.\n"
    assert judge(chain, body, subject="Tablets").kind == "out_of_scope"
    ours = "Dear Sir, my dad was sent to hospital on Monday and nobody rang me. I want an explanation.\n"
    assert judge(chain, ours, subject="Not told").kind == "complaint"
    supported = "Dear Housing Support Team,\n\nNobody came to help my brother with his shopping again.\n"
    assert judge(chain, supported, subject="Shopping").kind == "complaint"


def test_praise_in_idiom_with_contentment_is_a_compliment_not_a_disclaimer(chain: RuleChain) -> None:
    body = "The gardener deserves a medal, the borders look wonderful. No complaints from me!\n"
    assert judge(chain, body, subject="Garden").kind == "compliment"
    worry = "I'm not complaining about the new chef, but Dad is worried he isn't eating. Can someone help?"
    assert judge(chain, worry, subject="Food").kind == "concern"


def test_thanks_passed_on_and_the_difference_made_are_a_compliment(chain: RuleChain) -> None:
    body = "Please thank Megan for the manicure she gave Gran. The difference it has made to her mood!\n"
    assert judge(chain, body, subject="Megan").kind == "compliment"


def test_an_answer_not_accepted_after_thanks_is_a_complaint(chain: RuleChain) -> None:
    body = "Thank you for your reply. I am not satisfied with it and want this taken to stage two.\n"
    assert judge(chain, body, subject="Your reply").kind == "complaint"


def test_a_heads_up_so_the_carers_can_check_is_a_concern(chain: RuleChain) -> None:
    body = (
        "I'm Mrs Dale's optician. Her new glasses were collected but she says she hasn't seen them. I\n"
        "wanted you to know so the carers can check her room.\n"
    )
    assert judge(chain, body, subject="Mrs Dale's glasses").kind == "concern"


def test_a_quick_question_whether_something_still_runs_is_a_concern(chain: RuleChain) -> None:
    assert judge(chain, "Is the Friday singing group still running? Nobody seems to know.").kind == "concern"
    again = "Is the Friday singing group still running? It was cancelled again and I want to know why.\n"
    assert judge(chain, again).kind == "complaint"


def test_an_offer_of_help_is_a_comment_unless_it_comes_with_a_complaint(chain: RuleChain) -> None:
    offer = "Our allotment society would like to donate vegetables to the kitchen if that would be welcome."
    assert judge(chain, offer, subject="Vegetables").kind == "comment"
    refused = (
        "I offered to help with Dad's shaving if that would be welcome, and was refused. I want to know\n"
        "why, as he is now unshaven for days and I am very unhappy.\n"
    )
    assert judge(chain, refused, subject="Shaving").kind == "complaint"


@pytest.mark.parametrize(
    ("sender", "subject", "body"),
    [
        (
            "support@helpdesk-vendor.example.com",
            "[Ticket 8812] Printer offline",
            "## Please type your reply above this line ##\n\nTicket 8812: status Pending\nAgent: Dee\n",
        ),
        (
            "cal@meetings.example.com",
            "Reminder: Team huddle, Thu 10:00",
            "Team huddle\nThursday 10:00\n\nYou are receiving this reminder because you are a guest on it.\n",
        ),
        (
            "nagios@monitor.riverside.example",
            "** PROBLEM alert - backup server **",
            "Host: backup01\nSeverity: Critical\nProblem started at 02:00\n",
        ),
    ],
)
def test_notifications_without_list_headers_are_not_answered(
    chain: RuleChain, sender: str, subject: str, body: str
) -> None:
    verdict = judge(chain, body, sender=sender, subject=subject)
    assert verdict.kind == "bulk" and not verdict.may_auto_reply


@pytest.mark.parametrize(
    ("sender", "subject", "body"),
    [
        (
            "alerts@tenders.example.gov.uk",
            "New opportunity: supported living lot 2",
            "Title: Supported living lot 2\nClosing date: 20/01/2027\n\nLog in to view the full notice.\n",
        ),
        (
            "news@sector-body.example.org",
            "Winter bulletin",
            "WINTER BULLETIN\n\nFlu jabs for staff are free until March.\n\n"
            "If you no longer wish to receive this bulletin, reply with REMOVE.\n",
        ),
    ],
)
def test_a_systems_notice_with_nobody_in_it_is_not_answered(
    chain: RuleChain, sender: str, subject: str, body: str
) -> None:
    verdict = judge(chain, body, sender=sender, subject=subject)
    assert verdict.kind == "bulk" and not verdict.may_auto_reply


def test_a_person_with_rows_and_a_portal_is_still_a_person(chain: RuleChain) -> None:
    """Rows and an account's words, but the writer or their relative is in the mail: a case opens."""
    rows = "Monday: no carer\nTuesday: carer late\n\nLog in to the family portal: my dad's notes stop.\n"
    assert judge(chain, rows, subject="Rota").kind == "complaint"
    bare = "Log in to the family portal: nothing since 12 November. Visits: none recorded. Fix it.\n"
    assert judge(chain, bare, subject="Portal").kind != "bulk"  # one kind of mark: still a person's


def test_a_wish_offered_to_be_weighed_up_is_a_comment(chain: RuleChain) -> None:
    body = "A bird feeder by the lounge would be wonderful for the residents. Thanks for considering it.\n"
    assert judge(chain, body, subject="Bird feeder").kind == "comment"


def test_one_systems_mark_with_nobody_in_it_is_borderline_not_answered(chain: RuleChain) -> None:
    """A notice with only one mark opens a case like anyone's mail, but nothing automatic is sent."""
    notice = "Heating control will be unavailable on Monday from 9 to 11 while the boiler is serviced.\n"
    verdict = judge(chain, notice, sender="bms@building-systems.example.com", subject="Planned work")
    assert not verdict.may_auto_reply and "bulk_marks" in verdict.flags
    person = "The lift will be unavailable again and my mother can't get downstairs. I want it fixed.\n"
    assert judge(chain, person, subject="Lift").may_auto_reply


def test_a_session_priced_by_the_hour_and_bookings_taken_is_a_pitch(chain: RuleChain) -> None:
    body = (
        "I run music sessions for people living with dementia and I'm taking bookings for spring.\n"
        "Sessions are £80 for an hour. Would you like me to send some dates?\n"
    )
    assert judge(chain, body, sender="ed@songs-for-all.example.com", subject="Music").kind == "out_of_scope"
