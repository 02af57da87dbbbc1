"""The front door's fourth round (issue 13): the shapes of a voice rather than single phrases. A seller's
voice (a call asked for, the trade spoken of, prices, a sales title) is out of scope even when it writes as
a worried relative; another organisation's own work (a surgery's prescriptions, bins, a parcel) is out of
scope unless a word of our care is there; praise that waves a small problem away is a compliment, a worry
in angry words that only asks to know is a concern, a quiet question is a concern; a colleague's own
suggestion is read for its kind. Each pair also shows the other side of the line, where a complaint must
stay a complaint. The rules alone decide here (no kind model); every mail is worded unlike the labelled
sets."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailbot.classify import Classification, ClassifyRulesError, RuleChain, load_chain
from tests.judging import judged_words, rule_chain


@pytest.fixture(scope="module")
def chain() -> RuleChain:
    return rule_chain()


def judge(
    chain: RuleChain, body: str, sender: str = "sam.reid@example.net", subject: str = "Hello"
) -> Classification:
    return judged_words(chain, body, sender, "Sam Reid", subject)


def test_a_seller_writing_as_a_worried_son_is_out_of_scope_and_not_answered(chain: RuleChain) -> None:
    body = (
        "When my dad went into a home I lay awake worrying whether he'd drink enough. So I designed\n"
        "HydraCup, a cup that tells staff how much each resident has drunk. Care homes using it have\n"
        "halved their hospital admissions for dehydration. Could I send you a short video,\n"
        "or would a quick chat suit?\n"
        "Marcus, Founder\n"
    )
    verdict = judge(chain, body, sender="marcus@hydracup.example.com", subject="Is your dad drinking enough?")
    assert verdict.kind == "out_of_scope" and not verdict.may_auto_reply


def test_a_complaint_about_fees_that_asks_for_a_call_stays_a_complaint(chain: RuleChain) -> None:
    body = (
        "Dad's weekly fees went up from £1,150 to £1,320 in October and nobody explained why. I expect an\n"
        "explanation and would like a quick call with the finance team this week.\n"
    )
    assert judge(chain, body, subject="Fee increase").kind == "complaint"


def test_a_providers_dispute_in_the_trades_words_is_not_taken_for_a_pitch(chain: RuleChain) -> None:
    body = (
        "We are one of the care providers on your framework contract. Our invoices for September are\n"
        "unpaid and our rates were cut without notice. Could we book a call with your commissioning lead?\n"
    )
    assert judge(chain, body, subject="Framework payments").kind != "out_of_scope"


def test_a_charitys_ask_for_prizes_is_out_of_scope(chain: RuleChain) -> None:
    body = (
        "Our scout group is raising money for a minibus and we are asking local businesses to donate raffle\n"
        "prizes. Would your organisation be able to help? Thank you for reading.\n"
    )
    assert judge(chain, body, subject="Raffle prizes").kind == "out_of_scope"


def test_mail_about_a_surgerys_prescriptions_is_out_of_scope(chain: RuleChain) -> None:
    body = (
        "I put my repeat prescription in a week ago and the chemist says the surgery never sent it. The\n"
        "receptionist hung up on me. I need my inhalers.\n"
    )
    assert judge(chain, body, subject="prescription").kind == "out_of_scope"


def test_our_nurses_and_the_surgery_in_one_mail_stay_ours(chain: RuleChain) -> None:
    body = (
        "Your nurses didn't pass on the new prescription from the surgery for three days, so my aunt went\n"
        "without her antibiotics. I want to know why.\n"
    )
    assert judge(chain, body, subject="Antibiotics").kind == "complaint"


def test_a_pharmacist_writing_about_a_home_by_name_is_not_out_of_scope(chain: RuleChain) -> None:
    body = (
        "Just flagging that the prescriptions for Larch House are being ordered a day late each month.\n"
        "Could someone check the ordering date?\n"
    )
    assert judge(chain, body, subject="Ordering").kind != "out_of_scope"


def test_praise_that_waves_a_small_problem_away_is_a_compliment(chain: RuleChain) -> None:
    body = (
        "The physio from your reablement team has been marvellous with my husband. She came an hour late on\n"
        "the first day, which we understood with the roadworks, and he is now walking to the gate.\n"
    )
    assert judge(chain, body, subject="Physio").kind == "compliment"


def test_thanks_then_a_loss_to_be_made_good_stays_a_complaint(chain: RuleChain) -> None:
    body = (
        "Thanks to the carers, who are lovely. But my wife's wedding ring went missing after her bath on\n"
        "Friday and I expect it to be found or replaced.\n"
    )
    assert judge(chain, body, subject="Ring").kind == "complaint"


def test_a_worry_in_angry_words_that_only_asks_to_know_is_a_concern(chain: RuleChain) -> None:
    body = "I'm livid nobody rang me. Grandma says she fell in the night.\n"
    body += "Is she all right? Has the doctor seen her?\n"
    assert judge(chain, body, subject="Grandma").kind == "concern"


def test_anger_with_a_demand_stays_a_complaint(chain: RuleChain) -> None:
    body = "I'm livid nobody rang me after Grandma's fall. Is she all right?\n"
    body += "I want an apology and an explanation.\n"
    assert judge(chain, body, subject="Grandma").kind == "complaint"


def test_a_quiet_question_about_care_is_a_concern(chain: RuleChain) -> None:
    body = "Will my uncle's physio carry on when he moves to the ground floor? Could you let me know?\n"
    assert judge(chain, body, subject="Physio after the move").kind == "concern"


def test_praise_stated_in_so_many_words_is_a_compliment_unless_a_complaint_is_there(chain: RuleChain) -> None:
    praise = "I would like to praise the night nurse who noticed my father's chest infection before anyone.\n"
    assert judge(chain, praise, subject="Night nurse").kind == "compliment"
    both = praise + "However the day staff ignored it for two days, and I am making a complaint about that.\n"
    assert judge(chain, both, subject="Night nurse").kind == "complaint"


def test_a_colleagues_own_suggestion_is_a_comment_and_nothing_is_sent(chain: RuleChain) -> None:
    body = "A suggestion from the kitchen team: could residents choose their Sunday pudding the day before?\n"
    body += "Kath\n"
    verdict = judge(chain, body, sender="kath.moss@riverside.example", subject="Sunday puddings")
    assert verdict.kind == "comment"
    assert "own_address" in verdict.flags and not verdict.may_auto_reply


def test_a_colleagues_reply_above_an_outside_writers_mail_is_read_for_its_writers_words(
    chain: RuleChain,
) -> None:
    body = (
        "Passing this one to you.\nPat\n\n"
        "On Sat, 28 Nov 2026 at 18:03, Ola Bright <ola.bright@example.com> wrote:\n"
        "> The agency carer never came on Thursday or Friday and Mum had no tea. I want this put right.\n"
    )
    verdict = judge(chain, body, sender="pat.yates@riverside.example", subject="Re: Thursday and Friday")
    assert verdict.kind == "complaint"
    assert "own_address" in verdict.flags and not verdict.may_auto_reply


def test_a_marks_of_a_voice_group_that_is_not_a_list_names_the_rule_and_the_group(tmp_path: Path) -> None:
    path = tmp_path / "classify.toml"
    path.write_text('[[rule]]\nname = "pitch"\ntype = "marks_of_a_voice"\nkind = "out_of_scope"\n'
                    '[rule.groups]\nprices = "from"\n')  # fmt: skip
    with pytest.raises(ClassifyRulesError) as error:
        load_chain(path)
    assert str(error.value).startswith(str(path))
    assert "rule 'pitch'" in str(error.value) and "group 'prices' must be a list of strings" in str(
        error.value
    )


@pytest.mark.parametrize(
    "body",
    [
        "The surgery gets prescription change requests from your services three different ways. One shared\n"
        "inbox for all of them would save our receptionists a lot of chasing. Just an idea.\n"
        "Priya Shah, Practice Manager\n",
        "Our practice manager asked me to pass on that the repeat prescription forms from your teams are\n"
        "often missing the date of birth. A reminder at your next team meeting might help.\n",
    ],
)
def test_a_surgery_writing_about_our_services_in_the_plural_is_ours(chain: RuleChain, body: str) -> None:
    """Another organisation's words (a surgery, its practice manager, repeat prescriptions) with the writer
    speaking of our homes, services or teams in the plural: feedback meant for us, never dropped as out of
    scope (which opens no case and sends nothing)."""
    assert (
        judge(chain, body, sender="pm@healthcentre.example.org", subject="A suggestion").kind
        != "out_of_scope"
    )


@pytest.mark.parametrize(
    "body",
    [
        "The agency told me there weren't any vacancies for evening calls, so my dad has had no tea\n"
        "visit for three weeks. This is unacceptable.\n",
        "Please let me know a good time to call me back about Mum's missed visits. I am very unhappy\n"
        "with how this has been handled.\n",
        "I have been volunteering at Oak Lodge for two years and I want to complain about how the night\n"
        "staff speak to residents.\n",
        "My son is on an apprenticeship with your company and his supervisor shouted at him in front of\n"
        "residents. I want this investigated.\n",
    ],
)
def test_a_grievance_using_a_sellers_or_job_seekers_phrase_stays_a_persons_mail(
    chain: RuleChain, body: str
) -> None:
    """Out of scope opens no case and sends nothing: one word of a grievance keeps a mail that happens to use
    a pitch's or a job seeker's phrase ("any vacancies", "a good time to call", "volunteering") a person's."""
    assert judge(chain, body, subject="Dad's care").kind != "out_of_scope"


def test_our_own_complaints_address_in_a_phishing_mail_is_no_grievance(chain: RuleChain) -> None:
    body = (
        "Your mailbox complaints@riverside.example is full and will stop receiving mail tonight.\n"
        "Validate your account below to keep it open.\n"
    )
    verdict = judge(chain, body, sender="it-desk@mailcare.example.net", subject="Mailbox full")
    assert verdict.kind == "out_of_scope"
