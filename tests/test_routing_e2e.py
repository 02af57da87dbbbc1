"""Routing on real servers: machines get nothing, bounces find their case, alerts reach the right staff."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from mailbot.app import App
from mailbot.db.models import Case, Correspondence, InboundMessage, Outbox
from mailbot.scheduled import jobs
from mailbot.testing import Dovecot, SmtpCapture
from tests.mails import mail

STAFF = """
[staff]
domains = ["riverside.example"]
trusted_authserv_ids = ["mx.riverside.example"]

[[staff.person]]
name = "Priya Shah"
addresses = ["priya.shah@riverside.example"]
roles = ["coordinator"]

[[staff.person]]
name = "Sam Okafor"
addresses = ["sam.okafor@riverside.example"]
roles = ["safeguarding_lead", "lead"]

[[staff.person]]
name = "Alex Morgan"
addresses = ["alex.morgan@riverside.example"]
roles = ["chief_executive"]

[forwarding]
business_dispute = "contracts@riverside.example"
staff_matter = "hr@riverside.example"
"""

# Monday 30 November 2026, 10:00 in London: a working day in every UK nation. A fixed time of receipt: a
# reference carries the year of receipt, so a test that names one must not depend on the day the suite runs.
MONDAY = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def deliver_at(dovecot: Dovecot, raw: bytes, when: datetime) -> None:
    """With its INTERNALDATE, the receipt time the statutory clocks count from (a past date: Dovecot clamps a
    future one to the present)."""
    with dovecot.client() as imap:
        imap.append("INBOX", raw, msg_time=when)


@pytest.fixture
def app(make_app: Callable[..., App]) -> App:
    app = make_app(extra=STAFF)
    jobs.poll_cycle(app)  # first contact
    return app


def sent_to(smtp: SmtpCapture, address: str) -> list[EmailMessage]:
    return [m.message for m in smtp.messages if address in m.rcpt_tos]


def test_an_out_of_office_reply_to_our_acknowledgement_gets_nothing_back(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    dovecot.deliver(mail(sender="jane.doe@example.net"))
    jobs.poll_cycle(app)
    [ack] = sent_to(smtp_server, "jane.doe@example.net")

    dovecot.deliver(mail(
        sender="jane.doe@example.net", subject=f"Automatic reply: {ack['Subject']}",
        in_reply_to=ack["Message-ID"], body="I am away until Monday with no access to email.\n",
        headers={"Auto-Submitted": "auto-replied", "X-MS-Exchange-Inbox-Rules-Loop": "jane.doe@example.net"},
    ))  # fmt: skip
    jobs.poll_cycle(app)

    assert len(sent_to(smtp_server, "jane.doe@example.net")) == 1
    with app.sessions() as session:
        inbound = session.scalars(select(InboundMessage).order_by(InboundMessage.id.desc())).first()
    assert (
        inbound is not None and inbound.kind == "auto_reply" and inbound.outcome == "left alone: auto_reply"
    )


def test_a_bounce_of_our_acknowledgement_is_linked_to_its_case_and_the_coordinator_told(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    dovecot.deliver(mail(sender="typo@example.nett"))
    jobs.poll_cycle(app)
    [ack] = sent_to(smtp_server, "typo@example.nett")
    dovecot.deliver(dsn_for(ack))

    jobs.poll_cycle(app)

    with app.sessions() as session:
        case = session.scalars(select(Case)).one()
        kinds = [c.kind for c in case.correspondence]
    assert "undeliverable" in case.flags and "bounce" in kinds
    subjects = [m["Subject"] for m in sent_to(smtp_server, case.coordinator or "")]
    assert f"[{case.ref}] Our acknowledgement could not be delivered to typo@example.nett" in subjects
    assert len(sent_to(smtp_server, "typo@example.nett")) == 1  # the bounce itself is never answered
    assert sent_to(smtp_server, "mailer-daemon@mx.example.net") == []


def test_a_safeguarding_disclosure_alerts_the_safeguarding_lead_and_is_still_acknowledged(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    body = (
        "I visited Mum yesterday and found bruises on both her arms. She told me one of the night\n"
        "carers grabs her and she is scared of him. Please do something.\n"
    )
    dovecot.deliver(mail(sender="worried.son@example.net", subject="My mother at Willow House", body=body))
    jobs.poll_cycle(app)

    [alert] = sent_to(smtp_server, "sam.okafor@riverside.example")
    assert (
        "SAFEGUARDING" in alert["Subject"]
        and "bruises on both her arms" in alert.get_body(("plain",)).get_content()
    )
    assert alert["Auto-Submitted"] == "auto-generated"
    assert len(sent_to(smtp_server, "worried.son@example.net")) == 1
    with app.sessions() as session:
        assert "safeguarding" in session.scalars(select(Case)).one().flags


def test_an_elected_members_letter_goes_to_the_chief_executive(
    make_app: Callable[..., App], dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    app = make_app(extra=STAFF, policy="help-and-care")
    jobs.poll_cycle(app)
    body = (
        "Dear Sir or Madam,\n\nI am writing on behalf of my constituent, Mrs Edna Price, who has raised\n"
        "concerns with me about the standard of care at your Ash Grove home.\n\nCllr Dafydd Jones\n"
    )
    dovecot.deliver(mail(sender="cllr.jones@council.example.gov.uk", name="Cllr Dafydd Jones", body=body))
    jobs.poll_cycle(app)

    [alert] = sent_to(smtp_server, "alex.morgan@riverside.example")
    assert "Elected member" in alert["Subject"]


def test_a_supplier_invoice_dispute_is_forwarded_and_not_acknowledged_as_a_complaint(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    body = (
        "Hello,\n\nInvoice INV-20931 for the October laundry contract is now 45 days overdue. Under the\n"
        "terms of our contract payment was due within 30 days. Please arrange payment or tell us why it is\n"
        "disputed.\n\n"
        "Accounts team, Brightwash Supplies Ltd\n"
    )
    dovecot.deliver(
        mail(sender="accounts@brightwash.example.com", subject="Overdue invoice INV-20931", body=body)
    )
    jobs.poll_cycle(app)

    assert sent_to(smtp_server, "accounts@brightwash.example.com") == []
    [forward] = sent_to(smtp_server, "contracts@riverside.example")
    assert "INV-20931" in forward.get_body(("plain",)).get_content()
    with app.sessions() as session:
        case = session.scalars(select(Case)).one()
    assert (case.kind, case.status) == ("out_of_scope", "out_of_scope")


def test_a_complaint_forwarded_by_vouched_staff_is_opened_for_its_writer(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    dovecot.deliver(staff_forward(authenticated=True))
    jobs.poll_cycle(app)

    with app.sessions() as session:
        case = session.scalars(select(Case)).one()
    assert case.complainant_address == "bob.smith@example.net"
    [ack] = sent_to(smtp_server, "bob.smith@example.net")
    assert ack["Subject"].startswith(f"[{case.ref}]")
    to_priya = [m["Subject"] for m in sent_to(smtp_server, "priya.shah@riverside.example")]
    assert to_priya == [
        f"[{case.ref}] New complaint from Bob Smith"
    ]  # as coordinator, not an acknowledgement


def test_a_forward_the_server_does_not_vouch_for_cannot_make_us_write_to_a_third_party(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    dovecot.deliver(staff_forward(authenticated=False))
    jobs.poll_cycle(app)

    assert sent_to(smtp_server, "bob.smith@example.net") == []
    with app.sessions() as session:
        case = session.scalars(select(Case)).one()
        inbound = session.scalars(select(Correspondence)).first()
    assert case.complainant_address == "priya.shah@riverside.example"
    assert inbound is not None


def staff_forward(authenticated: bool) -> bytes:
    body = (
        "Hi team, Mr Smith rang and then emailed me directly; please log this as a complaint.\n\nPriya\n\n"
        "---------- Forwarded message ---------\nFrom: Bob Smith <bob.smith@example.net>\n"
        "Date: Mon, 23 Nov 2026 at 08:12\nSubject: My father's care\n"
        "To: Priya Shah <priya.shah@riverside.example>\n\n"
        "I want to make a complaint. My father's carers did not come on Saturday or Sunday and he was left\n"
        "without his medication all weekend.\n"
    )
    results = "dkim=pass header.d=riverside.example; spf=pass smtp.mailfrom=riverside.example; dmarc=pass"
    headers = {"Authentication-Results": f"mx.riverside.example; {results}"} if authenticated else {}
    raw = mail(sender="priya.shah@riverside.example", name="Priya Shah", subject="Fwd: My father's care",
               body=body, headers=headers)  # fmt: skip
    return (
        b"Received: from mail.riverside.example by mx.riverside.example; Mon, 23 Nov 2026 08:20:00 +0000\r\n"
        + raw
    )


def dsn_for(ack: EmailMessage) -> bytes:
    """A delivery status notification (RFC 3464) for our acknowledgement, as Postfix writes one."""
    headers = "".join(f"{k}: {ack[k]}\r\n" for k in ("From", "To", "Subject", "Date", "Message-ID"))
    return (
        "From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\r\n"
        "To: complaints@riverside.example\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <dsn-1@mx.example.net>\r\n"
        "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\n"
        "I'm sorry to have to inform you that your message could not be delivered.\r\n\r\n"
        "<typo@example.nett>: Host or domain name not found.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.net\r\n\r\nFinal-Recipient: rfc822; typo@example.nett\r\n"
        "Action: failed\r\nStatus: 5.1.2\r\nDiagnostic-Code: X-Postfix; Host or domain name not found\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"{headers}"
        "--B--\r\n"
    ).encode()


def test_automatic_mail_to_one_address_is_capped_per_day(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    for i in range(5):
        dovecot.deliver(mail(sender="prolific@example.net", subject=f"Another problem, number {i}"))
    jobs.poll_cycle(app)

    assert len(sent_to(smtp_server, "prolific@example.net")) == 3  # [delivery] default cap
    with app.sessions() as session:
        cases = session.scalars(select(Case).order_by(Case.id)).all()
        assert len(cases) == 5  # every complaint is still recorded
        # [cases] persistent_after = 3 within 30 days, by default: the third item on flags the sender
        assert ["persistent" in c.flags for c in cases] == [False, False, True, True, True]
        suppressed = session.scalars(select(Outbox).where(Outbox.state == "suppressed")).all()
    assert [row.last_error for row in suppressed] == [
        "daily cap of 3 automatic mails to this address reached"
    ] * 2


def test_an_anonymous_complaint_is_recorded_but_acknowledged_only_where_a_reply_can_go(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    body = "I don't want to give my name, but the night staff at Willow House are sleeping on shift.\n"
    dovecot.deliver(mail(sender="throwaway.4471@example.net", name="", subject="Night shift", body=body))
    no_from = mail(sender="x@example.net", name="", subject="Night shift again", body=body)
    dovecot.deliver(no_from.replace(b"From: x@example.net\n", b""))
    jobs.poll_cycle(app)

    assert len(sent_to(smtp_server, "throwaway.4471@example.net")) == 1
    with app.sessions() as session:
        cases = session.scalars(select(Case).order_by(Case.id)).all()
        events = [(e.action, e.detail) for e in cases[1].events]
    assert [c.kind for c in cases] == ["complaint", "complaint"]
    assert all("anonymous" in c.flags for c in cases)
    assert ("acknowledgement not sent", "no usable address") in events


def test_a_reference_quoted_by_a_stranger_is_pointed_out_to_the_coordinator(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    # Both received on a fixed Monday: a reference carries the year of receipt, whenever the suite runs.
    deliver_at(dovecot, mail(sender="jane.doe@example.net"), MONDAY)
    jobs.poll_cycle(app)
    with app.sessions() as session:
        ref = session.scalars(select(Case.ref)).one()

    deliver_at(
        dovecot,
        mail(sender="nosy@example.com", name="Nosy Parker", subject=f"RE: [{ref}] what happened?"),
        MONDAY,
    )
    jobs.poll_cycle(app)

    notice = [
        m for m in sent_to(smtp_server, "priya.shah@riverside.example") if "Nosy Parker" in m["Subject"]
    ]
    body = " ".join(notice[0].get_body(("plain",)).get_content().split())
    assert f"Note: {ref} quoted in the subject by nosy@example.com, who is not a party to that case" in body
    [ack] = sent_to(smtp_server, "nosy@example.com")
    assert ack["Subject"].startswith("[CMP-2026-0002]")  # their own new case, nothing of the other
