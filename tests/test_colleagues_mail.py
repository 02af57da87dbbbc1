"""A new mail from our own domain is read for what it says (issue 13): a member of staff raising a concern of
their own, a councillor writing from the council's domain. Only a colleague's note that says no such thing is
a staff reply, and mail on a case from our own address is one as before. Nothing automatic is ever sent to
our own addresses, whatever the kind."""

from __future__ import annotations

import pytest

from mailbot.classify import Classification, RuleChain
from mailbot.classify.result import ThreadMatch
from tests.judging import judged, rule_chain
from tests.mails import mail


@pytest.fixture(scope="module")
def chain() -> RuleChain:
    return rule_chain()


def judge(chain: RuleChain, raw: bytes, thread: ThreadMatch | None = None) -> Classification:
    return judged(chain, raw, thread)


def colleague(subject: str, body: str, sender: str = "dee.marsh@riverside.example") -> bytes:
    return mail(sender=sender, name="Dee Marsh", subject=subject, body=body)


def test_a_councillor_at_the_councils_domain_complaining_for_a_resident_is_a_complaint(
    chain: RuleChain,
) -> None:
    body = (
        "Dear complaints team,\n\nI am writing as ward councillor on behalf of my constituent "
        "Mrs Ada Prior of "
        "Fenwick Road. Her carers have missed four visits this month and nobody rang her. I want this "
        "treated as a formal complaint and a written response.\n\nCllr Tom Hale\n"
    )
    raw = colleague("Complaint on behalf of a constituent", body, sender="cllr.tom.hale@riverside.example")
    verdict = judge(chain, raw)
    assert verdict.kind == "complaint"
    # Its flags are read too (before, the own-address rule ended the chain before the councillor's words).
    assert {"own_address", "elected_member"} <= set(verdict.flags)
    assert not verdict.may_auto_reply


def test_a_member_of_staff_raising_a_formal_complaint_from_work_is_a_complaint(chain: RuleChain) -> None:
    body = (
        "I work at Beech Lodge and I wish to make a formal complaint. Residents on the first floor have gone "
        "without their evening drinks three nights running and my reports to the manager were ignored.\n"
    )
    verdict = judge(chain, colleague("Formal complaint", body))
    assert verdict.kind == "complaint"
    assert "own_address" in verdict.flags and not verdict.may_auto_reply


def test_a_colleagues_own_note_on_no_case_is_still_a_staff_reply(chain: RuleChain) -> None:
    # (A note that names "the complaints inbox" reads as a complaint, and opens a complaint case as a
    # staff reply on no case always did: routing/new_case.py. Nothing is sent to a colleague either way.)
    for body in (
        "Can someone cover the shared inbox on Friday afternoon? I'm at the training day.\nDee\n",
        "I've rung Mr Oduya back and updated the log. Nothing else needed from us.\nDee\n",
    ):
        verdict = judge(chain, colleague("Inbox", body))
        assert verdict.kind == "staff_reply", body
        # Later rules did not decide, so they neither add flags nor appear as hits.
        assert verdict.rules_hit[-1] == "own-address"


def test_a_colleagues_mail_read_as_sales_or_junk_stays_a_staff_reply_never_out_of_scope(
    chain: RuleChain,
) -> None:
    # Out of scope opens no case: a colleague's mail is never put there by the words it happens to use.
    body = "Our team offers training places next month, book a demo slot via the intranet. Limited offer.\n"
    assert judge(chain, colleague("Training places", body)).kind == "staff_reply"


def test_mail_from_our_own_address_on_a_case_is_a_staff_reply_whatever_it_says(chain: RuleChain) -> None:
    thread = ThreadMatch(case_ref="CMP-2026-0042", matched_by="references")
    body = "I have spoken to Mrs Prior. I want to complain to the rota team about this on her behalf.\n"
    verdict = judge(chain, colleague("Re: [CMP-2026-0042] Missed visits", body), thread=thread)
    assert verdict.kind == "staff_reply" and "own_address" in verdict.flags


def test_a_copy_from_one_of_our_own_mailboxes_is_never_read_as_feedback(chain: RuleChain) -> None:
    # Our own addresses named in full send our own mail (a report, a copy, a loop), whatever it says.
    body = "Compliments logged this month: 9. Families praised the night staff at two homes.\nFeedback team\n"
    raw = colleague("Copy: compliments received", body, sender="complaints@riverside.example")
    verdict = judge(chain, raw)
    assert verdict.kind == "staff_reply" and "own_address" in verdict.flags
