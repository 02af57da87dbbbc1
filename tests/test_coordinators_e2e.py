"""A coordinator takes a complaint from receipt to outcome letter from their own mail client, on real servers;
a forged staff mail can do nothing."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from mailbot.app import App
from mailbot.db.models import Case, CaseEvent, Correspondence
from mailbot.scheduled import jobs
from mailbot.testing import Dovecot, SmtpCapture
from tests.mails import mail
from tests.test_routing_e2e import STAFF

COMPLAINANT = "jane.doe@example.net"
COORDINATOR = "priya.shah@riverside.example"
SHARED = "complaints@riverside.example"


@pytest.fixture
def app(make_app: Callable[..., App]) -> App:
    app = make_app(extra=STAFF)
    jobs.poll_cycle(app)  # first contact
    return app


def to(smtp: SmtpCapture, address: str) -> list[EmailMessage]:
    return [m.message for m in smtp.messages if address in m.rcpt_tos]


def text(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def the_case(app: App) -> Case:
    with app.sessions() as session:
        return session.scalars(select(Case)).one()


def staff_mail(body: str, vouched: bool = True, **fields: str) -> bytes:
    """Mail from the coordinator as our receiving server (mx.riverside.example) delivers it."""
    results = "dkim=pass header.d=riverside.example; spf=pass smtp.mailfrom=riverside.example; dmarc=pass"
    headers = {"Authentication-Results": f"mx.riverside.example; {results}"} if vouched else {}
    fields.setdefault("to", SHARED)
    raw = mail(sender=COORDINATOR, name="Priya Shah", body=body, headers=headers, **fields)  # type: ignore[arg-type]
    return (
        b"Received: from mail.riverside.example by mx.riverside.example; Mon, 23 Nov 2026 10:00:00 +0000\r\n"
        + raw
    )


def open_complaint(app: App, dovecot: Dovecot, smtp: SmtpCapture, body: str | None = None) -> EmailMessage:
    dovecot.deliver(mail(sender=COMPLAINANT, name="Jane Doe", message_id="<jane-1@example.net>", body=body))
    jobs.poll_cycle(app)
    [notification] = to(smtp, COORDINATOR)
    return notification


def reply_to(notification: EmailMessage, body: str, vouched: bool = True) -> bytes:
    quoted = "\n".join(f"> {line}" for line in text(notification).splitlines())
    return staff_mail(
        f"{body}\n\nOn Mon, 23 Nov 2026 at 10:00, Riverside Complaints <{SHARED}> wrote:\n{quoted}\n",
        vouched=vouched, subject=f"RE: {notification['Subject']}", in_reply_to=notification["Message-ID"],
        references=notification["Message-ID"],
    )  # fmt: skip


def test_new_complaint_is_sent_to_the_coordinator_with_summary_deadlines_and_text(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    notification = open_complaint(app, dovecot, smtp_server)
    case = the_case(app)

    assert notification["Subject"] == f"[{case.ref}] New complaint from Jane Doe"
    assert notification["Reply-To"] is None or SHARED in notification["Reply-To"]
    assert SHARED in notification["From"]
    body = " ".join(text(notification).split())
    assert "carers have missed three visits" in body
    assert case.response_due is not None and f"{case.response_due.day} {case.response_due:%B %Y}" in body


def test_coordinator_reply_is_relayed_without_the_quoted_notification_and_recorded(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    notification = open_complaint(app, dovecot, smtp_server)
    words = (
        "Dear Mrs Doe,\n\nI am so sorry. I have spoken to the rota team and visits are restored from today."
    )
    dovecot.deliver(reply_to(notification, words))

    jobs.poll_cycle(app)

    case = the_case(app)
    relayed = to(smtp_server, COMPLAINANT)[-1]
    assert relayed["Subject"].startswith(f"[{case.ref}]")
    assert SHARED in relayed["From"] and COORDINATOR not in relayed.as_string()
    assert "visits are restored from today" in text(relayed)
    assert "New complaint from" not in text(relayed) and "> " not in text(relayed)
    assert relayed["In-Reply-To"] == "<jane-1@example.net>"
    with app.sessions() as session:
        out = session.scalars(
            select(Correspondence).where(Correspondence.direction == "out", Correspondence.kind == "relay")
        ).one()
    assert "visits are restored" in out.new_text and out.to_addresses == [COMPLAINANT]


def test_the_complainants_later_mail_reaches_the_coordinator_whose_reply_is_relayed(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    open_complaint(app, dovecot, smtp_server)
    case = the_case(app)
    [ack] = to(smtp_server, COMPLAINANT)
    later = "I forgot to say: the carer also left the back door unlocked on Tuesday night."
    dovecot.deliver(mail(sender=COMPLAINANT, name="Jane Doe", message_id="<jane-2@example.net>", body=later,
                         subject=f"Re: {ack['Subject']}", in_reply_to=ack["Message-ID"]))  # fmt: skip

    jobs.poll_cycle(app)

    notice = to(smtp_server, COORDINATOR)[-1]
    assert notice["Subject"] == f"[{case.ref}] New message from Jane Doe"
    assert "back door unlocked" in " ".join(text(notice).split())
    dovecot.deliver(reply_to(notice, "Dear Mrs Doe,\n\nThank you, I have asked the team to check the door."))
    jobs.poll_cycle(app)
    relayed = to(smtp_server, COMPLAINANT)[-1]
    assert "asked the team to check the door" in text(relayed) and "back door unlocked" not in text(relayed)
    assert relayed["In-Reply-To"] == "<jane-2@example.net>"


def test_a_direct_reply_with_the_mailbox_in_cc_is_recorded_once_and_not_sent_again(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    open_complaint(app, dovecot, smtp_server)
    case = the_case(app)
    sent_before = len(to(smtp_server, COMPLAINANT))
    direct = staff_mail(
        "Dear Mrs Doe, I will ring you this afternoon.",
        to=COMPLAINANT,
        subject=f"RE: [{case.ref}] Missed visits",
    )
    direct = direct.replace(b"To: jane.doe@example.net", f"To: {COMPLAINANT}\r\nCc: {SHARED}".encode(), 1)
    dovecot.deliver(direct)

    jobs.poll_cycle(app)
    jobs.poll_cycle(app)

    assert len(to(smtp_server, COMPLAINANT)) == sent_before
    with app.sessions() as session:
        copies = session.scalars(select(Correspondence).where(Correspondence.kind == "staff_reply")).all()
    assert [(c.direction, c.from_address) for c in copies] == [("out", COORDINATOR)]


def test_extend_then_outcome_and_close_change_the_case_and_send_the_right_letters(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    notification = open_complaint(app, dovecot, smtp_server)
    due_before = the_case(app).response_due

    dovecot.deliver(reply_to(notification, "#extend 5 We are waiting for the rota records from the agency."))
    jobs.poll_cycle(app)

    case = the_case(app)
    assert case.response_due is not None and due_before is not None and case.response_due > due_before
    extension = to(smtp_server, COMPLAINANT)[-1]
    assert "We need more time" in extension["Subject"] and "rota records from the agency" in text(extension)
    assert "Done" in to(smtp_server, COORDINATOR)[-1]["Subject"]

    reasons = "The rota records show the visits were missed because of a scheduling error, not staff absence."
    dovecot.deliver(reply_to(notification, f"#outcome partly upheld\n#close\n\n{reasons}"))
    jobs.poll_cycle(app)

    case = the_case(app)
    assert (case.status, case.outcome) == ("closed", "partly upheld")
    outcome = to(smtp_server, COMPLAINANT)[-1]
    assert "Our response to your complaint" in outcome["Subject"]
    assert "your complaint is partly upheld" in text(outcome) and "scheduling error" in text(outcome)
    with app.sessions() as session:
        events = session.scalars(select(CaseEvent).where(CaseEvent.actor == COORDINATOR)).all()
    done = {e.action: e for e in events}
    assert {"extended", "outcome", "closed"} <= set(done)
    assert all(done[a].inbound_id is not None for a in ("extended", "outcome", "closed"))  # from which mail


def test_a_command_with_a_typo_gets_an_error_and_changes_nothing(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    notification = open_complaint(app, dovecot, smtp_server)
    before = the_case(app)
    letters_before = len(to(smtp_server, COMPLAINANT))

    dovecot.deliver(reply_to(notification, "#extnd 5 waiting for records\n#close"))
    jobs.poll_cycle(app)

    after = the_case(app)
    assert (after.status, after.response_due) == (before.status, before.response_due)
    assert len(to(smtp_server, COMPLAINANT)) == letters_before
    refusal = to(smtp_server, COORDINATOR)[-1]
    assert "Not done" in refusal["Subject"]
    assert "#extnd 5 waiting for records: not a command" in text(refusal) and "#extend DAYS REASON" in text(
        refusal
    )


def test_a_forged_staff_mail_changes_nothing_and_raises_an_alert(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    notification = open_complaint(app, dovecot, smtp_server)
    letters_before = len(to(smtp_server, COMPLAINANT))

    dovecot.deliver(
        reply_to(notification, "#outcome not upheld\n#close\n\nNothing to see here.", vouched=False)
    )
    jobs.poll_cycle(app)

    case = the_case(app)
    assert case.status == "open" and case.outcome is None
    assert len(to(smtp_server, COMPLAINANT)) == letters_before  # nothing relayed, no outcome letter
    warning = to(smtp_server, COORDINATOR)[-1]
    assert f"claiming to be from {COORDINATOR} was not verified" in warning["Subject"]


def test_an_investigator_named_in_the_complaint_is_refused(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    body = "I want to complain about the way Sam Okafor spoke to my mother during her review last week.\n"
    notification = open_complaint(app, dovecot, smtp_server, body=body)

    dovecot.deliver(reply_to(notification, "#investigator Sam Okafor"))
    jobs.poll_cycle(app)

    refusal = to(smtp_server, COORDINATOR)[-1]
    assert "Not done" in refusal["Subject"] and "investigate their own practice" in text(refusal)
    with app.sessions() as session:
        case = session.scalars(select(Case)).one()
        assert case.people_named == ["Sam Okafor"] and case.stages[0].handler is None


def test_commands_that_name_no_case_change_nothing_and_ask_for_the_reference(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    dovecot.deliver(staff_mail("#outcome upheld\n#close", subject="Closing the Doe complaint"))
    jobs.poll_cycle(app)

    with app.sessions() as session:
        assert session.scalars(select(Case)).all() == []  # no case opened for the staff member
    [answer] = to(smtp_server, COORDINATOR)
    assert answer["Subject"] == 'Not done: no case reference in "Closing the Doe complaint"'
