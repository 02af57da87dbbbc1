"""Hostile and broken mail, end to end on real servers (Dovecot in, an SMTP capture server out, SQLite and
PostgreSQL in between): no message can stop intake, floods are bundled for staff, a coordinator's reply never
carries our internal notification to the complainant, and big mail costs bounded work.

Every scenario ends by checking that each message in the mailbox is stored and processed or shunted — never
lost, never left blocking the next — and, where mail is sent, exactly who received it.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate

import pytest
from sqlalchemy import select

from mailbot.app import App
from mailbot.db.models import Attachment, Case, CaseEvent, Correspondence, InboundMessage, InboundRaw
from mailbot.scheduled import jobs
from mailbot.testing import Dovecot, SmtpCapture
from tests.conftest import Clock
from tests.test_routing_e2e import STAFF

SHARED = "complaints@riverside.example"
COORDINATOR = "priya.shah@riverside.example"
SAFEGUARDING_LEAD = "sam.okafor@riverside.example"
PROCESSED, SHUNTED = b"$MailbotProcessed", b"$MailbotShunted"
DISCLOSURE = (
    "I am writing because I am worried about my dad. When I visited on Sunday he had bruises on both arms "
    "and he told me one of the night carers hit him when he would not go to bed. He is frightened.\n"
)
# A complaint that discloses nothing: tests/mails.COMPLAINT ("left without her tea or her medication") is a
# neglect disclosure since the screening by category, and its alert would be one more letter in every
# scenario here, which are about intake, not safeguarding.
COMPLAINT = """Dear Sir or Madam,

I want to make a formal complaint about your office. I have rung four times this month about changing my
mother's visit times and each time I was promised a call back that never came. Your invoice also charges
for a week we had cancelled in writing. This is not acceptable and I am very unhappy with the service.

Please tell me what you will do about it.

Jane Doe
"""
_ids = iter(range(1, 1_000_000))


@pytest.fixture
def app(make_app: Callable[..., App]) -> App:
    app = make_app(extra=STAFF)
    jobs.poll_cycle(app)  # first contact
    return app


# --- building hostile mail byte for byte ----------------------------------------------------------------


def raw_mail(
    *headers: tuple[str, str], body: str = COMPLAINT, sender: str = "Jane Doe <jane.doe@example.net>"
) -> bytes:
    """A mail exactly as written: header values not folded, encoded or checked, as an attacker's are not."""
    fields = dict(headers)
    fields.setdefault("From", sender)
    fields.setdefault("To", SHARED)
    fields.setdefault("Subject", "Missed care visits")
    fields.setdefault("Date", formatdate())
    fields.setdefault("Message-ID", f"<hostile-{next(_ids)}@example.net>")
    fields.setdefault("Content-Type", "text/plain; charset=utf-8")
    head = "".join(f"{name}: {value}\r\n" for name, value in fields.items() if value is not None)
    return (head + "\r\n" + body.replace("\n", "\r\n")).encode("utf-8")


def with_attachment(text: str, filename: str, payload: bytes, content_type: str = "application/pdf") -> bytes:
    message = EmailMessage()
    message["From"] = "Jane Doe <jane.doe@example.net>"
    message["To"] = SHARED
    message["Subject"] = "Missed care visits: the care plan attached"
    message["Message-ID"] = f"<hostile-{next(_ids)}@example.net>"
    message.set_content(text)
    maintype, _, subtype = content_type.partition("/")
    message.add_attachment(payload, maintype, subtype, filename=filename)
    return message.as_bytes()


# --- what a person would check ------------------------------------------------------------------------------


def inbound(app: App) -> list[InboundMessage]:
    with app.sessions() as session:
        return list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))


def cases(app: App) -> list[Case]:
    with app.sessions() as session:
        return list(session.scalars(select(Case).order_by(Case.id)))


def events(app: App, action: str) -> list[CaseEvent]:
    with app.sessions() as session:
        return list(session.scalars(select(CaseEvent).where(CaseEvent.action == action)))


def sent_to(smtp: SmtpCapture, address: str) -> list[EmailMessage]:
    return [m.message for m in smtp.messages if address in m.rcpt_tos]


def envelopes(smtp: SmtpCapture) -> list[tuple[str, ...]]:
    return [m.rcpt_tos for m in smtp.messages]


def plain(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def every_message_accounted_for(app: App, dovecot: Dovecot, shunted: int = 0) -> None:
    """Each message in the mailbox is stored and processed or shunted, flagged so, and none is waiting."""
    rows = inbound(app)
    in_mailbox = dovecot.messages()
    assert len(rows) == len(in_mailbox), "a message in the mailbox was never stored"
    assert [r.state for r in rows].count("shunted") == shunted
    assert {r.state for r in rows} <= {"processed", "shunted"}, "a message is still waiting"
    assert all(r.outcome for r in rows if r.state == "processed")
    assert all(r.error for r in rows if r.state == "shunted")
    states = {r.uid: r.state for r in rows}
    for uid, flags, _raw in in_mailbox:
        assert (PROCESSED if states[uid] == "processed" else SHUNTED) in flags


def deliver_all(dovecot: Dovecot, mails: Iterable[bytes]) -> None:
    for raw in mails:
        dovecot.deliver(raw)


def is_postgresql(app: App) -> bool:
    return app.engine.dialect.name == "postgresql"


# === 5. One message cannot stop intake ======================================================================


def test_a_message_id_longer_than_its_column_neither_stops_intake_nor_hides_a_later_disclosure(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    long_id = f"<{'x' * 1200}@example.net>"
    deliver_all(dovecot, [
        raw_mail(("Message-ID", long_id)),
        raw_mail(("Message-ID", "<dad-1@example.org>"), ("Subject", "My dad"), body=DISCLOSURE,
                 sender="Tom Price <tom.price@example.org>"),
    ])  # fmt: skip

    report = jobs.poll_cycle(app)

    assert report.errors == [] and report.processing.shunted == 0
    first, second = inbound(app)
    assert first.message_id is None and "Message-ID dropped" in (first.outcome or "")
    assert second.message_id == "dad-1@example.org"
    assert "safeguarding" in cases(app)[1].flags
    # The first complaint (left without her tea or medication) is a disclosure of its own since the
    # safeguarding screening by category; what matters here is that the later one was fetched and alerted.
    alerts = [a["Subject"] for a in sent_to(smtp_server, SAFEGUARDING_LEAD)]
    assert [s for s in alerts if s.startswith(f"[{cases(app)[1].ref}] SAFEGUARDING")]
    assert len(sent_to(smtp_server, "jane.doe@example.net")) == 1
    every_message_accounted_for(app, dovecot)
    assert jobs.poll_cycle(app).intake[0].fetched == 0  # the next poll does not stumble on it again


def test_a_411_character_display_name_opens_the_case_with_the_name_cut(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    name = "Jane " + "Doe-" * 100 + "Smithy"
    dovecot.deliver(raw_mail(sender=f'"{name}" <jane.doe@example.net>'))

    jobs.poll_cycle(app)

    [case] = cases(app)
    assert case.kind == "complaint" and case.complainant_address == "jane.doe@example.net"
    assert case.complainant_name.startswith("Jane Doe-Doe-") and len(case.complainant_name) <= 200
    assert [e.detail for e in events(app, "cut at intake")] == ["From name cut from 411 to 200 characters"]
    assert envelopes(smtp_server) == [("jane.doe@example.net",), (COORDINATOR,)]
    every_message_accounted_for(app, dovecot)


def test_nul_characters_in_the_name_subject_and_body_are_removed_not_refused(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    body = base64.b64encode(("Her carers missed\x00 three visits.\n" + COMPLAINT).encode()).decode()
    dovecot.deliver(raw_mail(
        ("Subject", "=?utf-8?q?Missed=00_visits?="), ("Content-Transfer-Encoding", "base64"),
        sender="=?utf-8?q?Jane=00_Doe?= <jane.doe@example.net>", body=body,
    ))  # fmt: skip

    jobs.poll_cycle(app)

    [case] = cases(app)
    assert "\x00" not in case.complainant_name + case.subject
    with app.sessions() as session:
        [letter] = session.scalars(select(Correspondence).where(Correspondence.direction == "in")).all()
    assert "Her carers missed three visits" in letter.new_text
    assert envelopes(smtp_server) == [("jane.doe@example.net",), (COORDINATOR,)]
    every_message_accounted_for(app, dovecot)


def test_an_address_longer_than_any_mailbox_is_dropped_and_the_complaint_still_recorded(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    dovecot.deliver(raw_mail(sender=f"Jane Doe <{'j' * 300}@example.net>"))

    jobs.poll_cycle(app)

    [case] = cases(app)
    assert case.complainant_address == "" and case.complainant_name == "Jane Doe"
    assert envelopes(smtp_server) == [(COORDINATOR,)]  # nobody to acknowledge; the coordinator still told
    assert "From address dropped" in inbound(app)[0].outcome
    every_message_accounted_for(app, dovecot)


def test_five_thousand_references_are_cut_to_the_newest_hundred(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    references = " ".join(f"<guess-{n}@riverside.example>" for n in range(5000))
    dovecot.deliver(raw_mail(("References", references), ("In-Reply-To", "<guess-4999@riverside.example>")))

    jobs.poll_cycle(app)

    with app.sessions() as session:
        [letter] = session.scalars(select(Correspondence).where(Correspondence.direction == "in")).all()
    assert len(letter.references) == 100 and letter.references[-1] == "guess-4999@riverside.example"
    assert len(cases(app)) == 1
    assert envelopes(smtp_server) == [("jane.doe@example.net",), (COORDINATOR,)]
    every_message_accounted_for(app, dovecot)


def test_an_attachment_with_a_content_type_too_long_for_its_column_is_kept(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    raw = with_attachment(COMPLAINT, "plan.pdf", b"%PDF-1.4 care plan", "application/" + "x" * 300)
    dovecot.deliver(raw)

    jobs.poll_cycle(app)

    with app.sessions() as session:
        [attachment] = session.scalars(select(Attachment)).all()
    assert (attachment.filename, attachment.content_type) == ("plan.pdf", "application/octet-stream")
    assert attachment.size == len(b"%PDF-1.4 care plan")
    every_message_accounted_for(app, dovecot)


def test_a_date_with_no_time_in_utc_is_ignored_rather_than_shunting_the_complaint(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    dovecot.deliver(raw_mail(("Date", "Fri, 31 Dec 9999 23:59:59 -2359")))

    jobs.poll_cycle(app)

    assert len(cases(app)) == 1
    assert envelopes(smtp_server) == [("jane.doe@example.net",), (COORDINATOR,)]
    every_message_accounted_for(app, dovecot)


def test_a_thousand_cc_addresses_are_cut_to_a_hundred_and_none_of_them_is_written_to(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    cc = ", ".join(f"neighbour{n}@example.org" for n in range(1000))
    dovecot.deliver(raw_mail(("Cc", cc)))

    jobs.poll_cycle(app)

    with app.sessions() as session:
        [letter] = session.scalars(select(Correspondence).where(Correspondence.direction == "in")).all()
    assert len(letter.to_addresses) == 1 + 100
    assert "Cc: only the first 100 of 1000 addresses kept" in inbound(app)[0].outcome
    assert envelopes(smtp_server) == [("jane.doe@example.net",), (COORDINATOR,)]
    every_message_accounted_for(app, dovecot)


def refuse_at_intake(app: App, message_id: str) -> None:
    """A database that refuses to store one message, as PostgreSQL refused a Message-ID over its column."""
    refused = f"NEW.state = 'fetched' AND NEW.message_id = '{message_id}'"
    if is_postgresql(app):
        ddl = [
            f"""CREATE FUNCTION refuse_marked() RETURNS trigger AS $$ BEGIN IF {refused} THEN
                RAISE EXCEPTION 'value too long for type character varying(998)' USING ERRCODE = '22001';
                END IF; RETURN NEW; END $$ LANGUAGE plpgsql""",
            """CREATE TRIGGER refuse_marked BEFORE INSERT ON inbound_message
               FOR EACH ROW EXECUTE FUNCTION refuse_marked()""",
        ]
    else:
        ddl = [
            f"""CREATE TRIGGER refuse_marked BEFORE INSERT ON inbound_message WHEN {refused}
                BEGIN SELECT RAISE(ABORT, 'value refused by the database'); END"""
        ]
    with app.engine.begin() as connection:
        for statement in ddl:
            connection.exec_driver_sql(statement)


def test_a_message_the_database_refuses_at_intake_is_stored_shunted_and_the_next_is_fetched(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    refuse_at_intake(app, "refuse-me@example.net")
    deliver_all(dovecot, [
        raw_mail(("Message-ID", "<refuse-me@example.net>")),
        raw_mail(("Subject", "My dad"), body=DISCLOSURE, sender="Tom Price <tom.price@example.org>"),
    ])  # fmt: skip

    report = jobs.poll_cycle(app)

    assert report.errors == []
    refused, disclosure = inbound(app)
    assert refused.state == "shunted" and refused.message_id is None
    assert "refused by the database" in (refused.error or "") or "value too long" in (refused.error or "")
    with app.sessions() as session:
        stored = session.get(InboundRaw, refused.id)
    assert stored is not None and b"Message-ID: <refuse-me@example.net>" in stored.raw
    assert disclosure.state == "processed" and "safeguarding" in cases(app)[0].flags
    assert envelopes(smtp_server) == [(SAFEGUARDING_LEAD,), ("tom.price@example.org",), (COORDINATOR,)]
    every_message_accounted_for(app, dovecot, shunted=1)
    assert jobs.poll_cycle(app).intake[0].fetched == 0


def test_a_database_error_while_processing_one_message_shunts_it_alone(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    test = "position('POISON' in NEW.new_text) > 0" if is_postgresql(app) else "instr(NEW.new_text, 'POISON')"
    ddl = (
        [f"""CREATE FUNCTION refuse_text() RETURNS trigger AS $$ BEGIN IF {test} THEN
             RAISE EXCEPTION 'refused by the database' USING ERRCODE = '22001'; END IF; RETURN NEW;
             END $$ LANGUAGE plpgsql""",
         "CREATE TRIGGER refuse_text BEFORE INSERT ON correspondence FOR EACH ROW "
         "EXECUTE FUNCTION refuse_text()"]
        if is_postgresql(app)
        else [f"""CREATE TRIGGER refuse_text BEFORE INSERT ON correspondence WHEN {test}
                  BEGIN SELECT RAISE(ABORT, 'refused'); END"""]
    )  # fmt: skip
    with app.engine.begin() as connection:
        for statement in ddl:
            connection.exec_driver_sql(statement)
    deliver_all(dovecot, [
        raw_mail(body="POISON " + COMPLAINT),
        raw_mail(sender="Tom Price <tom.price@example.org>"),
    ])  # fmt: skip

    report = jobs.poll_cycle(app)

    assert report.processing.shunted == 1 and report.processing.processed == 1
    shunted, _ = inbound(app)
    assert shunted.state == "shunted" and "refused" in (shunted.error or "")
    assert [c.complainant_address for c in cases(app)] == ["tom.price@example.org"]
    assert envelopes(smtp_server) == [("tom.price@example.org",), (COORDINATOR,)]
    every_message_accounted_for(app, dovecot, shunted=1)


# === 10. Big mail costs bounded work =======================================================================


def big_body(megabytes: int) -> str:
    # The safeguarding backstop reads "missed the visit again and nobody rang" as possible neglect (0.76
    # on these stretches; README, Safeguarding: the false-alarm cost), so the lead is alerted too.
    words = "the carers missed the visit again and nobody rang to tell us "
    return "Dear Sir or Madam, I want to complain. " + words * (megabytes * 1024 * 1024 // len(words))


def test_a_10_mb_single_line_body_is_classified_recorded_and_notified_as_an_excerpt(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = (
        "Jane Doe <jane.doe@example.net>",
        SHARED,
        "Complaint",
    )
    message.set_content(big_body(10) + "\n", cte="quoted-printable")
    dovecot.deliver(message.as_bytes())

    jobs.poll_cycle(app)

    [case] = cases(app)
    assert case.kind == "complaint"
    with app.sessions() as session:
        [letter] = session.scalars(select(Correspondence).where(Correspondence.direction == "in")).all()
    assert 50_000 < len(letter.new_text) <= 100_000  # quote stripping read a bounded prefix
    [notification] = [m for m in smtp_server.messages if m.rcpt_tos == (COORDINATOR,)]
    assert len(notification.raw) < 64 * 1024  # not the whole text twice (it was 21.8 MB)
    assert "The rest of the message is not shown here" in plain(notification.message)
    assert envelopes(smtp_server) == [(SAFEGUARDING_LEAD,), ("jane.doe@example.net",), (COORDINATOR,)]
    [alert] = [m for m in smtp_server.messages if m.rcpt_tos == (SAFEGUARDING_LEAD,)]
    assert len(alert.raw) < 64 * 1024  # the lead's alert is an excerpt too
    every_message_accounted_for(app, dovecot)


def test_a_5_mb_html_only_complaint_is_read_from_a_bounded_prefix(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    html = "<html><body>" + "".join(f"<p>{big_body(1)[:2000]}</p>\n" for _ in range(2500)) + "</body></html>"
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = (
        "Jane Doe <jane.doe@example.net>",
        SHARED,
        "Complaint",
    )
    message.set_content(html, subtype="html")
    dovecot.deliver(message.as_bytes())

    jobs.poll_cycle(app)

    assert [c.kind for c in cases(app)] == ["complaint"]
    assert envelopes(smtp_server) == [(SAFEGUARDING_LEAD,), ("jane.doe@example.net",), (COORDINATOR,)]
    every_message_accounted_for(app, dovecot)


def test_a_5_mb_attachment_is_fetched_in_pieces_stored_whole_and_listed_not_sent_to_staff(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    payload = bytes(range(256)) * (5 * 4096)  # 5 MB: bigger than one FETCH piece
    uid = dovecot.deliver(with_attachment(COMPLAINT, "care plan.pdf", payload))

    jobs.poll_cycle(app)

    [(_, _, in_mailbox)] = [m for m in dovecot.messages() if m[0] == uid]
    with app.sessions() as session:
        [row] = session.scalars(select(InboundMessage)).all()
        stored = session.get(InboundRaw, row.id)
        [attachment] = session.scalars(select(Attachment)).all()
    assert stored is not None and stored.raw == in_mailbox  # byte for byte, though read in pieces
    assert (attachment.filename, attachment.size) == ("care plan.pdf", len(payload))
    [notification] = sent_to(smtp_server, COORDINATOR)
    assert "care plan.pdf (application/pdf, 5.0 MB)" in plain(notification)
    assert len(notification.as_bytes()) < 64 * 1024
    every_message_accounted_for(app, dovecot)


def test_big_and_small_mail_in_one_poll_are_all_processed_in_order(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    senders = [f"relative{n}@example.net" for n in range(4)]
    deliver_all(dovecot, [
        raw_mail(sender=f"Relative 0 <{senders[0]}>"),
        with_attachment(COMPLAINT, "photos.zip", os.urandom(3 * 1024 * 1024)).replace(
            b"jane.doe@example.net", senders[1].encode(), 1),
        raw_mail(sender=f"Relative 2 <{senders[2]}>"),
        with_attachment(COMPLAINT, "scan.pdf", os.urandom(3 * 1024 * 1024)).replace(
            b"jane.doe@example.net", senders[3].encode(), 1),
    ])  # fmt: skip

    jobs.poll_cycle(app)

    assert [c.complainant_address for c in cases(app)] == senders
    assert [e for e in envelopes(smtp_server) if e != (COORDINATOR,)] == [(s,) for s in senders]
    every_message_accounted_for(app, dovecot)


# === 7. The relay never carries our internal notice ========================================================

COMPLAINANT = "jane.doe@example.net"
WORDS = "Dear Mrs Doe, I am so sorry. I have spoken to the rota team and the visits are restored from today."
INTERNAL = ("Respond by", "#extend", "mailbot-notice", "Internal notice", "Oddi wrth", "Anfonwyd",
            "From: Jane Doe", "have missed three visits", "Reply to this email")  # fmt: skip
TRUSTED = {
    "Received": "from mail.riverside.example by mx.riverside.example; Mon, 23 Nov 2026 10:00:00 +0000",
    "Authentication-Results": "mx.riverside.example; dkim=pass header.d=riverside.example; "
    "spf=pass smtp.mailfrom=riverside.example; dmarc=pass",
}


def notified(app: App, dovecot: Dovecot, smtp: SmtpCapture) -> EmailMessage:
    dovecot.deliver(raw_mail(("Message-ID", "<jane-1@example.net>")))
    jobs.poll_cycle(app)
    [notification] = sent_to(smtp, COORDINATOR)
    return notification


def coordinator_reply(
    notification: EmailMessage, text: str | None = None, html: str | None = None, subject: str | None = None
) -> bytes:
    """A reply from the coordinator, vouched for by our receiving server, as their mail client sends it."""
    message = EmailMessage()
    for name, value in TRUSTED.items():
        message[name] = value
    message["From"], message["To"] = f"Priya Shah <{COORDINATOR}>", SHARED
    message["Subject"] = subject or f"Ateb: {notification['Subject']}"
    message["In-Reply-To"] = message["References"] = notification["Message-ID"]
    message["Message-ID"] = f"<reply-{next(_ids)}@riverside.example>"
    if text is not None:
        message.set_content(text)
    if html is not None:
        (message.add_alternative if text is not None else message.set_content)(html, subtype="html")
    return message.as_bytes()


def html_of(notification: EmailMessage) -> str:
    html = notification.get_body(("html",)).get_content()
    return html.split("<body", 1)[1].split(">", 1)[1].rsplit("</body>", 1)[0]


def outlook_header(notification: EmailMessage, labels: tuple[str, str, str, str]) -> str:
    sender, sent, to, subject = labels
    return (f"________________________________\n{sender}: Riverside Care Trust Complaints <{SHARED}>\n"
            f"{sent}: 23 Tachwedd 2026 10:00\n{to}: Priya Shah <{COORDINATOR}>\n"
            f"{subject}: {notification['Subject']}\n\n")  # fmt: skip


WELSH_OUTLOOK = ("Oddi wrth", "Anfonwyd", "At", "Pwnc")
RUSSIAN_OUTLOOK = ("От", "Отправлено", "Кому", "Тема")


def relayed_only_the_words(smtp: SmtpCapture, before: int, words: str = WORDS) -> None:
    letters = sent_to(smtp, COMPLAINANT)[before:]
    assert len(letters) == 1, f"expected one relay, got {len(letters)}"
    [relay] = letters
    assert [m.rcpt_tos for m in smtp.messages if m.message is relay] == [(COMPLAINANT,)]
    body = " ".join(plain(relay).split())
    html = relay.get_body(("html",)).get_content()
    assert " ".join(words.split()) in body
    for text in INTERNAL:
        assert text not in body and text not in html, f"{text!r} reached the complainant"


def held(app: App, smtp: SmtpCapture, before: int) -> str:
    assert len(sent_to(smtp, COMPLAINANT)) == before, "something reached the complainant"
    told = sent_to(smtp, COORDINATOR)[-1]
    assert "Not sent: your reply was held" in told["Subject"]
    assert len(events(app, "relay held")) == 1
    return plain(told)


@pytest.mark.parametrize("labels", [WELSH_OUTLOOK, RUSSIAN_OUTLOOK], ids=["welsh", "russian"])
def test_a_plain_outlook_reply_in_any_language_relays_only_the_coordinators_words(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture, labels: tuple[str, str, str, str]
) -> None:
    notification = notified(app, dovecot, smtp_server)
    before = len(sent_to(smtp_server, COMPLAINANT))
    text = f"{WORDS}\n\nPriya\n\n{outlook_header(notification, labels)}{plain(notification)}"
    dovecot.deliver(coordinator_reply(notification, text))

    jobs.poll_cycle(app)

    relayed_only_the_words(smtp_server, before)
    every_message_accounted_for(app, dovecot)


def test_an_html_only_welsh_outlook_reply_relays_only_the_coordinators_words(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    notification = notified(app, dovecot, smtp_server)
    before = len(sent_to(smtp_server, COMPLAINANT))
    header = outlook_header(notification, WELSH_OUTLOOK).replace("<", "&lt;").replace(">", "&gt;")
    html = (f'<html><body><div>{WORDS}</div><div>Priya</div><hr><div id="divRplyFwdMsg">'
            f'{header.replace(chr(10), "<br>")}</div>{html_of(notification)}</body></html>')  # fmt: skip
    dovecot.deliver(coordinator_reply(notification, html=html))

    jobs.poll_cycle(app)

    relayed_only_the_words(smtp_server, before)
    every_message_accounted_for(app, dovecot)


@pytest.mark.parametrize("client", ["gmail", "apple", "thunderbird"])
def test_html_replies_quoting_in_a_blockquote_relay_only_the_coordinators_words(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture, client: str
) -> None:
    notification = notified(app, dovecot, smtp_server)
    before = len(sent_to(smtp_server, COMPLAINANT))
    said = f"Ar 23 Tach 2026, am 10:00, Riverside Care Trust Complaints &lt;{SHARED}&gt; ysgrifennodd:"
    quote = {
        "gmail": f'<div class="gmail_quote"><div class="gmail_attr">{said}</div>'
        '<blockquote class="gmail_quote">',
        "apple": f'<div><br><blockquote type="cite"><div>{said}</div>',
        "thunderbird": f'<div class="moz-cite-prefix">{said}</div><blockquote type="cite">',
    }[client]
    html = f"<html><body><div>{WORDS}</div>{quote}{html_of(notification)}</blockquote></div></body></html>"
    dovecot.deliver(coordinator_reply(notification, html=html))

    jobs.poll_cycle(app)

    relayed_only_the_words(smtp_server, before)
    every_message_accounted_for(app, dovecot)


def test_a_plain_reply_with_quote_prefixes_relays_only_the_coordinators_words(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    notification = notified(app, dovecot, smtp_server)
    before = len(sent_to(smtp_server, COMPLAINANT))
    quoted = "\n".join(f"> {line}" for line in plain(notification).splitlines())
    said = f"Ar 23 Tach 2026, am 10:00, Riverside Care Trust Complaints <{SHARED}> ysgrifennodd:"
    text = f"{WORDS}\n\n{said}\n{quoted}\n"
    dovecot.deliver(coordinator_reply(notification, text))

    jobs.poll_cycle(app)

    relayed_only_the_words(smtp_server, before)
    every_message_accounted_for(app, dovecot)


def test_a_reply_written_below_the_quoted_notice_relays_the_words_below_it(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    notification = notified(app, dovecot, smtp_server)
    before = len(sent_to(smtp_server, COMPLAINANT))
    text = (
        f"{outlook_header(notification, WELSH_OUTLOOK)}{plain(notification)}\n\n{WORDS}\n\n-- \nPriya Shah\n"
    )
    dovecot.deliver(coordinator_reply(notification, text))

    jobs.poll_cycle(app)

    relayed_only_the_words(smtp_server, before)
    every_message_accounted_for(app, dovecot)


def test_words_on_both_sides_of_the_quoted_notice_hold_the_relay_and_tell_the_coordinator(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    notification = notified(app, dovecot, smtp_server)
    before = len(sent_to(smtp_server, COMPLAINANT))
    quote = f"{outlook_header(notification, WELSH_OUTLOOK)}{plain(notification)}"
    text = f"{WORDS}\n\n{quote}\n\nP.S. call her today\n"
    dovecot.deliver(coordinator_reply(notification, text))

    jobs.poll_cycle(app)

    assert "words both above and below" in held(app, smtp_server, before)
    every_message_accounted_for(app, dovecot)


def test_a_reply_that_kept_the_notice_but_lost_its_markers_is_held(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    notification = notified(app, dovecot, smtp_server)
    before = len(sent_to(smtp_server, COMPLAINANT))
    unmarked = "\n".join(line for line in plain(notification).splitlines() if "mailbot-notice" not in line)
    dovecot.deliver(coordinator_reply(notification, f"{WORDS}\n\n{unmarked}"))

    jobs.poll_cycle(app)

    assert "seems to quote our internal notice" in held(app, smtp_server, before)
    with app.sessions() as session:
        case = session.scalars(select(Case)).one()
    assert case.status == "open"
    every_message_accounted_for(app, dovecot)


def test_commands_in_a_welsh_outlook_reply_run_and_their_letter_carries_no_internal_text(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    notification = notified(app, dovecot, smtp_server)
    before = len(sent_to(smtp_server, COMPLAINANT))
    reason = "We are waiting for the rota records from the agency."
    text = f"#extend 5 {reason}\n\n{outlook_header(notification, WELSH_OUTLOOK)}{plain(notification)}"
    dovecot.deliver(coordinator_reply(notification, text))

    jobs.poll_cycle(app)

    [extension] = sent_to(smtp_server, COMPLAINANT)[before:]
    assert reason in " ".join(plain(extension).split())
    for internal in INTERNAL:
        assert internal not in plain(extension)
    assert "Done" in sent_to(smtp_server, COORDINATOR)[-1]["Subject"]
    every_message_accounted_for(app, dovecot)


# === 6. Floods are bundled for staff, never dropped ========================================================

TEN_PAST = datetime(2026, 11, 23, 10, 10, tzinfo=UTC)


def flood(dovecot: Dovecot, count: int, sender: Callable[[int], str], body: str = DISCLOSURE) -> None:
    deliver_all(dovecot, (raw_mail(("Subject", f"Worried about dad ({n})"), body=body, sender=sender(n))
                          for n in range(count)))  # fmt: skip


def refs_in(message: EmailMessage) -> set[str]:
    return set(re.findall(r"CMP-\d{4}-\d{4}", plain(message)))


def test_a_hundred_copies_of_one_disclosure_make_one_alert_and_one_hourly_list_of_the_repeats(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture, clock: Clock
) -> None:
    clock.now = TEN_PAST
    flood(dovecot, 100, lambda n: "Tom Price <tom.price@example.org>")

    report = jobs.poll_cycle(app)

    assert report.processing.processed == 100 and len(cases(app)) == 100
    every_message_accounted_for(app, dovecot)
    alerts, notices = sent_to(smtp_server, SAFEGUARDING_LEAD), sent_to(smtp_server, COORDINATOR)
    assert (len(alerts), len(notices)) == (1, 3)  # the disclosure at once; the first three new cases
    assert len(sent_to(smtp_server, "tom.price@example.org")) == 3  # the daily cap on acknowledgements

    clock.now = datetime(2026, 11, 23, 11, 0, 30, tzinfo=UTC)  # the hour is out
    jobs.flush(app)

    [alert_list] = sent_to(smtp_server, SAFEGUARDING_LEAD)[1:]
    [notice_list] = sent_to(smtp_server, COORDINATOR)[3:]
    assert alert_list["Subject"] == "SAFEGUARDING: 99 more repeats of a possible safeguarding disclosure " \
        "about tom.price@example.org, 10:00 to 11:00"  # fmt: skip
    assert "repeats, word for word" in plain(alert_list)
    everyone = {c.ref for c in cases(app)}
    assert set().union(*(refs_in(m) for m in alerts)) | refs_in(alert_list) == everyone  # none dropped
    assert set().union(*(refs_in(m) for m in notices)) | refs_in(notice_list) == everyone
    assert [m.rcpt_tos for m in smtp_server.messages if m.message is alert_list] == [(SAFEGUARDING_LEAD,)]
    assert len(events(app, "alert_safeguarding bundled")) == 99


def test_every_different_disclosure_from_one_address_alerts_the_lead_at_once_however_many(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture, clock: Clock
) -> None:
    clock.now = TEN_PAST
    carers = ["Dean", "Sasha", "Mo", "Kerry", "Lewis", "Anya", "Pat", "Rhys"]
    tom = "Tom Price <tom.price@example.org>"
    deliver_all(dovecot, (raw_mail(("Subject", "Worried about dad"), sender=tom,
                                   body=DISCLOSURE.replace("one of the night carers", f"the carer {name}"))
                          for name in carers))  # fmt: skip

    jobs.poll_cycle(app)

    alerts = sent_to(smtp_server, SAFEGUARDING_LEAD)
    assert len(alerts) == len(carers)  # never held for their number
    assert {name for name in carers if any(f"carer {name}" in plain(m) for m in alerts)} == set(carers)
    assert events(app, "alert_safeguarding bundled") == []
    assert len(sent_to(smtp_server, COORDINATOR)) == 3  # other staff notices are still bundled
    every_message_accounted_for(app, dovecot)


def test_a_held_repeat_of_a_disclosure_is_due_within_the_hour_and_not_before_its_end(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture, clock: Clock
) -> None:
    clock.now = datetime(2026, 11, 23, 10, 59, tzinfo=UTC)
    flood(dovecot, 4, lambda n: "Tom Price <tom.price@example.org>")
    jobs.poll_cycle(app)
    assert len(sent_to(smtp_server, SAFEGUARDING_LEAD)) == 1

    clock.now = datetime(2026, 11, 23, 10, 59, 50, tzinfo=UTC)
    jobs.flush(app)
    assert len(sent_to(smtp_server, SAFEGUARDING_LEAD)) == 1  # its hour is not out yet

    clock.now = datetime(2026, 11, 23, 11, 0, 1, tzinfo=UTC)  # a minute after they were held: sent
    jobs.flush(app)
    [listed] = sent_to(smtp_server, SAFEGUARDING_LEAD)[1:]
    assert refs_in(listed) == {case.ref for case in cases(app)[1:]}
    every_message_accounted_for(app, dovecot)


def test_plus_addresses_of_one_mailbox_are_one_sender_and_other_senders_are_not_held(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture, clock: Clock
) -> None:
    clock.now = TEN_PAST
    flood(dovecot, 5, lambda n: f"Tom <Tom.Price+{n}@example.org>", body=COMPLAINT)
    flood(dovecot, 4, lambda n: f"Relative {n} <relative{n}@example.net>", body=COMPLAINT)

    jobs.poll_cycle(app)

    assert len(sent_to(smtp_server, COORDINATOR)) == 3 + 4  # Tom's first three, and each relative's
    clock.now = datetime(2026, 11, 23, 11, 1, tzinfo=UTC)
    jobs.flush(app)
    [listed] = sent_to(smtp_server, COORDINATOR)[7:]
    assert "2 more new cases about tom.price@example.org" in listed["Subject"]
    every_message_accounted_for(app, dovecot)


def test_the_next_hour_starts_afresh_after_a_list(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture, clock: Clock
) -> None:
    clock.now = TEN_PAST
    flood(dovecot, 4, lambda n: "Tom Price <tom.price@example.org>", body=COMPLAINT)
    jobs.poll_cycle(app)
    clock.now = datetime(2026, 11, 23, 11, 5, tzinfo=UTC)
    flood(dovecot, 2, lambda n: "Tom Price <tom.price@example.org>", body=COMPLAINT)

    jobs.poll_cycle(app)

    subjects = [m["Subject"] for m in sent_to(smtp_server, COORDINATOR)]
    assert len(subjects) == 3 + 1 + 2  # three, the 10:00 list, then two on their own at 11:05
    assert "1 more new cases about tom.price@example.org, 10:00 to 11:00" in subjects[3]
    every_message_accounted_for(app, dovecot)


def test_a_reply_to_an_hourly_list_relays_nothing_and_tells_the_coordinator(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture, clock: Clock
) -> None:
    clock.now = TEN_PAST
    flood(dovecot, 4, lambda n: "Tom Price <tom.price@example.org>", body=COMPLAINT)
    jobs.poll_cycle(app)
    clock.now = datetime(2026, 11, 23, 11, 1, tzinfo=UTC)
    jobs.flush(app)
    listed = sent_to(smtp_server, COORDINATOR)[-1]
    before = len(sent_to(smtp_server, "tom.price@example.org"))
    quoted = plain(listed)
    dovecot.deliver(
        coordinator_reply(listed, f"{WORDS}\n\nOn Mon, Riverside Care Trust Complaints wrote:\n\n{quoted}")
    )

    jobs.poll_cycle(app)

    assert len(sent_to(smtp_server, "tom.price@example.org")) == before
    assert "Not sent: your reply was held" in sent_to(smtp_server, COORDINATOR)[-1]["Subject"]
    every_message_accounted_for(app, dovecot)
