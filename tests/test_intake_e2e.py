"""End to end on real servers: Dovecot in, aiosmtpd out, SQLite and PostgreSQL in between."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select

from mailbot.app import App
from mailbot.db.models import Case, Correspondence, InboundMessage, InboundRaw, Outbox
from mailbot.scheduled import jobs
from mailbot.testing import Dovecot, SmtpCapture
from tests.mails import mail

PROCESSED = b"$MailbotProcessed"
SHUNTED = b"$MailbotShunted"


def count(app: App, model: type, *where: object) -> int:
    with app.sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def first_contact(app: App) -> None:
    """The first poll against an empty mailbox: it only records where intake starts."""
    report = jobs.poll_cycle(app)
    assert report.intake[0].baseline == 0


def test_200_complaints_become_200_cases_and_exactly_200_acknowledgements(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    first_contact(app)
    senders = [f"relative{i:03d}@example.net" for i in range(200)]
    for i, sender in enumerate(senders):
        dovecot.deliver(mail(sender=sender, name=f"Relative {i}", subject=f"Complaint about visit {i}"))

    report = jobs.poll_cycle(app)

    assert report.errors == []
    assert count(app, Case) == 200
    acknowledged_to = Counter(rcpt for m in smtp_server.messages for rcpt in m.rcpt_tos)
    assert acknowledged_to == Counter(senders)  # each complainant exactly one acknowledgement
    mailbox = dovecot.messages()
    assert len(mailbox) == 200  # nothing deleted
    assert all(PROCESSED in flags for _, flags, _ in mailbox)
    assert all(b"\\Seen" not in flags for _, flags, _ in mailbox)  # staff still see them as unread
    assert count(app, Case, Case.acknowledged_at.is_not(None)) == 200


def test_second_poll_changes_nothing(app: App, dovecot: Dovecot, smtp_server: SmtpCapture) -> None:
    first_contact(app)
    for i in range(3):
        dovecot.deliver(mail(sender=f"p{i}@example.net"))
    jobs.poll_cycle(app)
    sent_before = len(smtp_server.messages)

    report = jobs.poll_cycle(app)

    assert report.intake[0].fetched == 0
    assert len(smtp_server.messages) == sent_before == 3
    assert count(app, Case) == 3
    assert count(app, InboundMessage) == 3


def test_acknowledgement_headers_and_threading(app: App, dovecot: Dovecot, smtp_server: SmtpCapture) -> None:
    first_contact(app)
    dovecot.deliver(mail(message_id="<visit-complaint-1@example.net>", subject="Missed visits"))
    jobs.poll_cycle(app)

    [ack] = smtp_server.messages
    message = ack.message
    with app.sessions() as session:
        case = session.scalars(select(Case)).one()
    assert message["Subject"].startswith(f"[{case.ref}]")
    assert message["In-Reply-To"] == "<visit-complaint-1@example.net>"
    assert "<visit-complaint-1@example.net>" in message["References"]
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["X-Auto-Response-Suppress"] == "All"
    assert message["Message-ID"].endswith("@riverside.example>")
    assert message.get_body(("plain",)) is not None and message.get_body(("html",)) is not None
    assert case.ref in message.get_body(("plain",)).get_content()
    assert case.ref.startswith(f"CMP-{case.received_at.year}-")


def test_copy_of_the_acknowledgement_is_filed_in_sent(app: App, dovecot: Dovecot) -> None:
    first_contact(app)
    dovecot.deliver(mail())
    jobs.poll_cycle(app)

    sent = dovecot.messages(folder="Sent")
    assert len(sent) == 1
    assert b"Auto-Submitted: auto-replied" in sent[0][2]


def test_reply_with_reference_in_subject_threads_into_its_case(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    first_contact(app)
    dovecot.deliver(mail(sender="jane.doe@example.net", message_id="<first@example.net>"))
    jobs.poll_cycle(app)
    with app.sessions() as session:
        ref = session.scalars(select(Case.ref)).one()

    dovecot.deliver(
        mail(
            sender="jane.doe@example.net",
            subject=f"RE: [{ref}] We have received your complaint",
            body="Thank you. She was missed again last night.\n",
        )
    )
    jobs.poll_cycle(app)

    assert count(app, Case) == 1
    assert len(smtp_server.messages) == 1  # no second acknowledgement
    with app.sessions() as session:
        inbound = session.scalars(select(Correspondence).where(Correspondence.direction == "in")).all()
    assert [c.kind for c in inbound] == ["complaint", "reply"]
    assert "missed again last night" in inbound[1].new_text


def test_reply_threads_by_references_when_the_subject_lost_the_reference(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    first_contact(app)
    dovecot.deliver(mail(message_id="<first@example.net>"))
    jobs.poll_cycle(app)
    ack_id = smtp_server.messages[0].message["Message-ID"]

    dovecot.deliver(
        mail(
            subject="About my mum",
            in_reply_to=ack_id,
            references=f"<first@example.net> {ack_id}",
            body="One more thing: the carer was rude to her.\n",
        )
    )
    jobs.poll_cycle(app)

    assert count(app, Case) == 1
    assert count(app, Correspondence, Correspondence.kind == "reply") == 1
    assert len(smtp_server.messages) == 1


def test_reference_quoted_by_a_stranger_does_not_open_their_case(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    first_contact(app)
    dovecot.deliver(mail(sender="jane.doe@example.net"))
    jobs.poll_cycle(app)
    with app.sessions() as session:
        ref = session.scalars(select(Case.ref)).one()

    dovecot.deliver(
        mail(sender="someone.else@example.com", name="Someone Else", subject=f"RE: [{ref}] update")
    )
    jobs.poll_cycle(app)

    assert count(app, Case) == 2
    with app.sessions() as session:
        first = session.scalars(select(Case).where(Case.ref == ref)).one()
        assert [c.from_address for c in first.correspondence if c.direction == "in"] == [
            "jane.doe@example.net"
        ]


def test_a_broken_message_is_shunted_and_the_others_go_on(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    first_contact(app)
    dovecot.deliver(mail(sender="before@example.net"))
    dovecot.deliver(UNDECODABLE)
    dovecot.deliver(NOT_A_MAIL)
    dovecot.deliver(mail(sender="after@example.net"))

    report = jobs.poll_cycle(app)

    assert report.processing.shunted == 1
    assert report.processing.processed == 3
    with app.sessions() as session:
        shunted = session.scalars(select(InboundMessage).where(InboundMessage.state == "shunted")).one()
        stored = session.get(InboundRaw, shunted.id)
    assert "UnparseableMail" in (shunted.error or "") and "Traceback" in (shunted.error or "")
    recipients = sorted(r for m in smtp_server.messages for r in m.rcpt_tos)
    assert recipients == ["after@example.net", "before@example.net", "odd.charset@example.net"]
    in_mailbox = dovecot.messages()
    assert len(in_mailbox) == 4
    [(_, flags, raw)] = [m for m in in_mailbox if m[0] == shunted.uid]
    assert (
        stored is not None and stored.raw == raw
    )  # kept byte for byte as the server holds it (Dovecot itself rewrites NULs)
    assert SHUNTED in flags


def test_first_run_against_a_full_mailbox_sends_nothing(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    for i in range(5):
        dovecot.deliver(mail(sender=f"old{i}@example.net"))

    report = jobs.poll_cycle(app)

    assert report.intake[0].baseline == 5
    assert smtp_server.messages == []
    assert count(app, Case) == 0
    dovecot.deliver(mail(sender="new@example.net"))
    jobs.poll_cycle(app)
    assert [m.rcpt_tos for m in smtp_server.messages] == [("new@example.net",)]


def test_same_message_in_two_mailboxes_makes_one_case(
    make_app, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import mailbox_table

    app = make_app(
        mailboxes=mailbox_table("complaints", dovecot.port) + mailbox_table("feedback", dovecot.port)
    )
    jobs.poll_cycle(app)
    raw = mail(
        message_id="<cc-both@example.net>", to="complaints@riverside.example, feedback@riverside.example"
    )
    dovecot.deliver(raw, user="complaints")
    dovecot.deliver(raw, user="feedback")

    jobs.poll_cycle(app)

    assert count(app, Case) == 1
    assert len(smtp_server.messages) == 1
    assert count(app, InboundMessage, InboundMessage.state == "processed") == 2


def test_temporary_smtp_failure_is_retried_and_sent_once(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture, clock
) -> None:  # type: ignore[no-untyped-def]
    first_contact(app)
    smtp_server.fail_next(1, 451)
    dovecot.deliver(mail())

    report = jobs.poll_cycle(app)
    assert report.delivery.retrying == 1 and smtp_server.messages == []
    assert count(app, Case, Case.acknowledged_at.is_(None)) == 1

    jobs.poll_cycle(app)  # not due yet
    assert smtp_server.messages == []
    clock.now += timedelta(minutes=2)
    jobs.poll_cycle(app)
    assert len(smtp_server.messages) == 1
    assert count(app, Case, Case.acknowledged_at.is_not(None)) == 1


def test_permanent_smtp_failure_is_recorded_not_retried(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture, clock
) -> None:  # type: ignore[no-untyped-def]
    first_contact(app)
    smtp_server.reject_recipient("gone@example.net", 550)
    dovecot.deliver(mail(sender="gone@example.net"))

    jobs.poll_cycle(app)
    clock.now += timedelta(hours=1)
    jobs.poll_cycle(app)

    with app.sessions() as session:
        row = session.scalars(select(Outbox)).one()
    assert row.state == "failed" and row.attempts == 1
    assert row.last_error is not None and row.last_error.startswith("550")


def test_a_send_interrupted_by_a_crash_is_held_not_sent_twice(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture, clock
) -> None:  # type: ignore[no-untyped-def]
    first_contact(app)
    smtp_server.fail_next(1, 451)  # keep the acknowledgement in the outbox
    dovecot.deliver(mail())
    jobs.poll_cycle(app)
    with app.sessions.begin() as session:  # as a crash between SMTP and the commit would leave it
        row = session.scalars(select(Outbox)).one()
        row.state, row.claimed_at = "sending", clock.now

    clock.now += timedelta(hours=1)
    report = jobs.poll_cycle(app)

    assert report.delivery.held == 1
    assert smtp_server.messages == []
    assert count(app, Outbox, Outbox.state == "held") == 1


UNDECODABLE = (
    b"From: Odd Charset <odd.charset@example.net>\r\nTo: complaints@riverside.example\r\n"
    b"Subject: =?x-unknown?q?Complaint?=\r\nMessage-ID: <undecodable@example.net>\r\n"
    b"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=x-no-such-charset\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    b"//79/P/+/f7/\xff\xfe not base64 at all \x00\r\n"
)
NOT_A_MAIL = b"\x00\x01\x02\x03 this is not an email message \xff\xfe\x00" * 20


def test_a_changed_uidvalidity_starts_again_from_the_newest_message_and_answers_nothing_old(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    from mailbot.db.models import MailboxState

    first_contact(app)
    dovecot.deliver(mail(sender="before@example.net"))
    jobs.poll_cycle(app)
    # As after the server rebuilt its index: the stored UIDs now name other mail.
    with app.sessions.begin() as session:
        session.scalars(select(MailboxState)).one().uidvalidity += 1
    dovecot.deliver(mail(sender="unseen@example.net"))

    report = jobs.poll_cycle(app)

    assert report.intake[0].baseline == 2  # both messages left alone, for `mailbot import --since`
    assert [m.rcpt_tos for m in smtp_server.messages] == [("before@example.net",)]
    dovecot.deliver(mail(sender="after@example.net"))
    jobs.poll_cycle(app)
    assert [m.rcpt_tos for m in smtp_server.messages][-1] == ("after@example.net",)
