"""Safeguarding end to end on real servers: a disclosure buried in a billing complaint reaches the lead with
its category and words; so does one written only in an attached PDF; a new disclosure on an open case alerts
again, a reply quoting the old one does not; the digest counts alerts by category."""

from __future__ import annotations

import email
from collections.abc import Callable
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from mailbot.app import App
from mailbot.config.digest import DigestSettings
from mailbot.db.models import Case, CaseEvent, Outbox
from mailbot.scheduled import jobs
from mailbot.scheduled.digest.figures import gather
from mailbot.scheduled.digest.week import digest_week
from mailbot.testing import Dovecot, SmtpCapture
from tests.mails import mail
from tests.test_routing_e2e import STAFF
from tests.test_safeguarding_attachments import pdf_with_pages

LEAD = "sam.okafor@riverside.example"
BILLING = """Dear Accounts,

Your invoice for October charges for 31 visits but the care diary shows 27. Please send a corrected
invoice. While I am writing: Dad says the new evening carer has been very rough with him when getting
him ready for bed, and he has started to flinch when she comes in. The parking permit also ran out.

Regards,
Tom Hughes
"""


@pytest.fixture
def app(make_app: Callable[..., App]) -> App:
    app = make_app(extra=STAFF)
    jobs.poll_cycle(app)  # first contact
    return app


def sent_to(smtp: SmtpCapture, address: str) -> list[EmailMessage]:
    return [m.message for m in smtp.messages if address in m.rcpt_tos]


def text_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def test_a_disclosure_buried_in_a_billing_complaint_alerts_the_lead(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    dovecot.deliver(
        mail(sender="tom.hughes@example.net", name="Tom Hughes", subject="October invoice", body=BILLING)
    )
    jobs.poll_cycle(app)
    [alert] = sent_to(smtp_server, LEAD)
    body = text_of(alert)
    assert "Physical abuse" in alert["Subject"]
    assert 'Physical abuse: "rough with" in the text' in body
    assert "flinch" in body  # the second indicator is quoted too
    assert alert["Auto-Submitted"] == "auto-generated" and alert["To"].endswith(f"<{LEAD}>")
    assert len(sent_to(smtp_server, "tom.hughes@example.net")) == 1  # still acknowledged, once
    with app.sessions() as session:
        case = session.scalars(select(Case)).one()
        assert "safeguarding" in case.flags
        events = session.scalars(select(CaseEvent).where(CaseEvent.action == "safeguarding alert")).all()
        assert [e.detail.partition(":")[0] for e in events] == ["physical"]


def test_a_new_disclosure_on_an_open_case_alerts_again_and_a_quoted_one_does_not(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    late = (
        "The carers keep arriving forty minutes late and the office never rings back. Please sort it out.\n"
    )
    dovecot.deliver(mail(sender="ann@example.net", name="Ann Bell", subject="Late visits", body=late))
    jobs.poll_cycle(app)
    assert sent_to(smtp_server, LEAD) == []  # late visits alone are no disclosure
    [ack] = sent_to(smtp_server, "ann@example.net")
    ref = ack["Subject"].split("[")[-1].split("]")[0]

    disclosure = "money keeps going missing from Mum's purse since the new carer started."
    reply = f"Thank you.\n\nSomething else: {disclosure}\n"
    dovecot.deliver(mail(sender="ann@example.net", name="Ann Bell", subject=f"RE: [{ref}] Late visits",
                         body=reply, in_reply_to=ack["Message-ID"]))  # fmt: skip
    jobs.poll_cycle(app)
    [alert] = sent_to(smtp_server, LEAD)
    assert "new disclosure on an open case" in alert["Subject"] and "Financial or material abuse" in text_of(
        alert
    )

    quoting = f"Any news?\n\n> Something else: {disclosure}\n"
    dovecot.deliver(mail(sender="ann@example.net", name="Ann Bell", subject=f"RE: [{ref}] Late visits",
                         body=quoting, in_reply_to=ack["Message-ID"]))  # fmt: skip
    jobs.poll_cycle(app)
    assert len(sent_to(smtp_server, LEAD)) == 1  # the quoted disclosure was alerted already


def test_a_welsh_disclosure_alerts_the_lead(app: App, dovecot: Dovecot, smtp_server: SmtpCapture) -> None:
    body = "Mae cleisiau ar freichiau Mam a does neb yn gallu esbonio sut.\nMae ganddi ofn un o'r gofalwyr.\n"
    dovecot.deliver(
        mail(sender="megan@example.net", name="Megan Pritchard", subject="Pryder am Mam", body=body)
    )
    jobs.poll_cycle(app)
    [alert] = sent_to(smtp_server, LEAD)
    assert "Physical abuse" in text_of(alert)


def test_the_digest_counts_alerts_by_category(app: App, dovecot: Dovecot, smtp_server: SmtpCapture) -> None:
    dovecot.deliver(mail(sender="tom.hughes@example.net", subject="October invoice", body=BILLING))
    dovecot.deliver(mail(sender="neighbour@example.net", subject="Mrs Price at number 4",
                         body="She won't let anyone in and the flat is piled with rubbish.\n"))  # fmt: skip
    jobs.poll_cycle(app)
    settings = DigestSettings()
    today = app.clock().astimezone(ZoneInfo(app.config.timezone)).date()
    this_week = digest_week(today + timedelta(days=1), settings, ZoneInfo(app.config.timezone))
    figures = gather(app, this_week, settings)
    assert figures.safeguarding_alerts.get("Physical abuse") == 1
    assert figures.safeguarding_alerts.get("Self-neglect") == 1
    with app.sessions() as session:
        assert session.scalars(select(Outbox).where(Outbox.purpose == "alert_safeguarding")).all()


def test_a_disclosure_only_in_an_attached_pdf_alerts_the_lead(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    covering = "Dear Accounts,\n\nPlease see my attached letter about the October invoice.\n\nRuth Evans\n"
    raw = mail(sender="ruth.evans@example.net", name="Ruth Evans", subject="October invoice", body=covering)
    message = email.message_from_bytes(raw, policy=policy.default)
    letter = pdf_with_pages(
        "Re: invoice 4471. The October invoice charges for 31 visits.",
        "Also, since the new carer started, Mum's bank card has gone missing and £400 was withdrawn.",
    )
    message.add_attachment(letter, maintype="application", subtype="pdf", filename="letter to accounts.pdf")
    dovecot.deliver(message.as_bytes())
    jobs.poll_cycle(app)
    [alert] = sent_to(smtp_server, LEAD)
    body = text_of(alert)
    assert "Financial or material abuse" in alert["Subject"]
    assert "in the attachment letter to accounts.pdf" in body
    assert "bank card" in body  # the words that raised it, as the writer put them
    assert len(sent_to(smtp_server, "ruth.evans@example.net")) == 1  # still acknowledged, once
