"""Every preset drives a complaint end to end on real servers: received, acknowledged, responded to,
escalated through each stage, and signposted to the ombudsman after the last. Dates were worked by hand."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from mailbot.app import App
from mailbot.cases import actions
from mailbot.db.models import Case
from mailbot.scheduled import jobs
from mailbot.testing import Dovecot, SmtpCapture
from tests.mails import mail

LONDON = ZoneInfo("Europe/London")
RECEIVED = datetime(2026, 11, 3, 10, 0, tzinfo=LONDON)  # Tue 3 Nov 2026
FIRST_OUTCOME = datetime(2026, 11, 16, 9, 0, tzinfo=LONDON)
ESCALATED = datetime(2026, 11, 17, 10, 0, tzinfo=LONDON)  # Tue 17 Nov 2026
SECOND_OUTCOME = datetime(2026, 11, 19, 9, 0, tzinfo=LONDON)
ESCALATED_AGAIN = datetime(2026, 11, 20, 10, 0, tzinfo=LONDON)  # Fri 20 Nov 2026
FINAL_OUTCOME = datetime(2026, 11, 20, 15, 0, tzinfo=LONDON)

# Working days after Tue 3 Nov 2026 (no bank holiday in November but Scotland's St Andrew's Day, Mon 30 Nov):
# 1 Wed 4, 2 Thu 5, 3 Fri 6, 5 Tue 10, 10 Tue 17. After Tue 17 Nov: 2 Thu 19, 3 Fri 20, 5 Tue 24,
# 15 Tue 8 Dec, 20 Tue 15 Dec (Scotland: Wed 16 Dec), 25 Tue 22 Dec. After Fri 20 Nov: 3 Wed 25 Nov.
# Each policy's acknowledgement is sent at once, so "from acknowledgement" counts from the day of receipt.
EXPECTED: dict[str, list[tuple[str, date | None, date | None]]] = {
    # stage, acknowledge due, respond due
    "lgsco-hos-code": [  # 5 WD; 10 WD from ack | 5 WD; 20 WD from ack
        ("stage1", date(2026, 11, 10), date(2026, 11, 17)),
        ("stage2", date(2026, 11, 24), date(2026, 12, 15)),
    ],
    "care-provider-landlord": [  # 5 WD; 10 WD from receipt | 5 WD; 20 WD from ack
        ("stage1", date(2026, 11, 10), date(2026, 11, 17)),
        ("stage2", date(2026, 11, 24), date(2026, 12, 15)),
    ],
    "case-management-cymru": [  # 7 and 28 calendar days | 7 and 14 calendar days
        ("formal", date(2026, 11, 10), date(2026, 12, 1)),
        ("ri_review", date(2026, 11, 24), date(2026, 12, 1)),
    ],
    "cheshire-west-adult-social-care": [  # 3 WD; 6 months beginning 3 Nov end Sun 2 May 2027 -> Fri 30 Apr
        ("local_resolution", date(2026, 11, 6), date(2027, 4, 30)),
    ],
    "england-asc-2009": [("local_resolution", date(2026, 11, 6), date(2027, 4, 30))],
    "help-and-care": [  # 3 WD; 28 calendar days | 3 WD; 15 WD | appeal: 3 WD, response by agreement
        ("stage1", date(2026, 11, 6), date(2026, 12, 1)),
        ("stage2", date(2026, 11, 20), date(2026, 12, 8)),
        ("appeal", date(2026, 11, 25), None),
    ],
    "nipso-model": [  # no ack; 5 WD | 3 WD; 20 WD
        ("early_resolution", None, date(2026, 11, 10)),
        ("investigation", date(2026, 11, 20), date(2026, 12, 15)),
    ],
    "spso-model": [
        ("frontline", None, date(2026, 11, 10)),
        ("investigation", date(2026, 11, 20), date(2026, 12, 16)),  # St Andrew's Day
    ],
    "wales-ssc-2014": [  # 2 WD; 10 WD from ack | 2 WD; 25 WD
        ("local_resolution", date(2026, 11, 5), date(2026, 11, 17)),
        ("formal_investigation", date(2026, 11, 19), date(2026, 12, 22)),
    ],
    "wivey-cares": [("network_review", None, date(2026, 11, 13))],  # ten (calendar) days
}
OUTCOME_TIMES = [FIRST_OUTCOME, SECOND_OUTCOME, FINAL_OUTCOME]
ESCALATION_TIMES = [ESCALATED, ESCALATED_AGAIN]
COMPLAINANT = "jane.doe@example.net"
ESCALATION = "I am not satisfied with your response and I would like to take this further, please.\n"


def deliver_at(dovecot: Dovecot, raw: bytes, when: datetime) -> None:
    with dovecot.client() as imap:
        imap.append("INBOX", raw, msg_time=when)


def the_case(app: App) -> Case:
    with app.sessions() as session:
        return session.scalars(select(Case)).one()


def letters_to_complainant(smtp: SmtpCapture) -> list[EmailMessage]:
    return [m.message for m in smtp.messages if COMPLAINANT in m.rcpt_tos]


def text_of(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def respond(app: App, clock, when: datetime) -> None:  # type: ignore[no-untyped-def]
    clock.now = when
    with app.sessions.begin() as session:
        case = session.scalars(select(Case)).one()
        actions.record_case_outcome(
            session, app, case, "not upheld", when, "cli:test", reasons="We found ..."
        )
    jobs.poll_cycle(app)


@pytest.mark.parametrize("policy", sorted(EXPECTED))
def test_a_complaint_runs_through_every_stage_of_the_policy(
    policy: str, make_app: Callable[..., App], dovecot: Dovecot, smtp_server: SmtpCapture, clock
) -> None:  # type: ignore[no-untyped-def]
    app = make_app(policy=policy)
    stages = EXPECTED[policy]
    clock.now = RECEIVED
    jobs.poll_cycle(app)  # first contact
    deliver_at(dovecot, mail(sender=COMPLAINANT, message_id="<complaint@example.net>"), RECEIVED)
    jobs.poll_cycle(app)

    for index, (stage, acknowledge_due, respond_due) in enumerate(stages):
        case = the_case(app)
        assert (case.stage, case.acknowledge_due, case.response_due) == (stage, acknowledge_due, respond_due)
        acknowledgement = letters_to_complainant(smtp_server)[-1]
        assert acknowledgement["Subject"].startswith(f"[{case.ref}] We have received your complaint")
        if respond_due:
            assert f"{respond_due:%A} {respond_due.day} {respond_due:%B %Y}" in text_of(acknowledgement)
        offers = app.policies[policy].stage(stage).acknowledge
        tell = offers.must_tell if offers else ()
        words = " ".join(text_of(acknowledgement).split())
        assert ("independent advocate" in words) == ("offer_advocate" in tell)
        assert ("another language" in words) == ("offer_formats_languages" in tell)

        respond(app, clock, OUTCOME_TIMES[index])
        outcome = letters_to_complainant(smtp_server)[-1]
        label = app.policies[policy].stage(stage).label
        assert outcome["Subject"] == f"[{case.ref}] Our response to your complaint ({label})"
        assert "your complaint is not upheld" in text_of(outcome)
        if index + 1 == len(stages):
            break
        assert "simply reply to this email and say so" in text_of(outcome)
        clock.now = ESCALATION_TIMES[index]
        deliver_at(
            dovecot,
            mail(
                sender=COMPLAINANT,
                subject="Re: our response",
                body=ESCALATION,
                in_reply_to=outcome["Message-ID"],
            ),
            clock.now,
        )
        jobs.poll_cycle(app)

    case = the_case(app)
    assert case.status == "closed" and case.outcome == "not upheld"
    final = letters_to_complainant(smtp_server)[-1]
    for signpost in app.policies[policy].after_final_stage:
        assert signpost.name in text_of(final)
    sent_before = len(smtp_server.messages)
    clock.now = datetime(2026, 11, 23, 9, 0, tzinfo=LONDON)
    again = mail(sender=COMPLAINANT, subject="Re: final", body=ESCALATION, in_reply_to=final["Message-ID"])
    deliver_at(dovecot, again, clock.now)
    jobs.poll_cycle(app)
    [signposted] = [m.message for m in smtp_server.messages[sent_before:]]
    assert signposted["Subject"] == f"[{case.ref}] Taking your complaint further"
    assert all(s.name in text_of(signposted) for s in app.policies[policy].after_final_stage)
