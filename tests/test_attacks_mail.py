"""Attacks by the shape of mail rather than its words, end to end on the real servers (Dovecot in, the
aiosmtpd capture out, SQLite and PostgreSQL): loops through our own addresses, floods and resends, hostile
MIME and attachment names, characters that reorder text, and a person's mail carrying a machine's header.
Each is processed or shunted with a reason, never blocks the next message and is never lost (`assert_safe`).
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Callable
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from mailbot.app import App
from mailbot.db.models import Attachment, CaseEvent, InboundMessage
from mailbot.scheduled import jobs
from mailbot.testing import Dovecot, SmtpCapture
from tests.test_attacks import INTAKE, outcomes
from tests.test_hostile_threading import (
    ATTACKER,
    COMPLAINT,
    COORDINATOR,
    MARGARET,
    MARGARET_NAME,
    SAFEGUARDING,
    SAFEGUARDING_LEAD,
    SHARED,
    World,
    assert_safe,
    everything_shown,
    raw,
    stranger_case,
)
from tests.test_routing_e2e import STAFF


@pytest.fixture
def world(make_app: Callable[..., App], dovecot: Dovecot, smtp_server: SmtpCapture) -> World:
    app = make_app(extra=STAFF + INTAKE)
    jobs.poll_cycle(app)  # first contact with an empty mailbox
    return World(app, dovecot, smtp_server)


# == 1. Loops and floods =====================================================================================


@pytest.mark.parametrize("sender", [SHARED, "COMPLAINTS+x@Riverside.Example"])
def test_mail_from_our_own_addresses_is_never_answered_and_never_dropped(world: World, sender: str) -> None:
    world.send(raw(sender, "Complaints", "Missed visits", COMPLAINT, "<own-1@riverside.example>"))

    assert [m.rcpt_tos for m in world.smtp.messages] == [(COORDINATOR,)]  # told; we never write to ourselves
    [case] = world.cases()
    assert "own_address" in case.flags and outcomes(world)[-1].startswith(f"opened {case.ref}")
    assert_safe(world)


def test_a_null_return_path_gets_no_automatic_reply(world: World) -> None:
    world.send(raw(headers=[("Return-Path", "<>")]))

    assert world.to(ATTACKER) == []
    assert outcomes(world)[-1]
    assert_safe(world)


def test_the_same_complaint_resent_with_a_new_message_id_opens_one_case_and_one_acknowledgement(
    world: World,
) -> None:
    world.send(raw(message_id="<resend-1@evil.example>"))
    world.send(raw(message_id="<resend-2@evil.example>"))

    assert len([c for c in world.cases() if c.complainant_address == ATTACKER]) == 1
    assert len(world.to(ATTACKER)) == 1
    assert "threaded by repeat" in outcomes(world)[-1]
    assert_safe(world)


def test_a_first_complaint_asking_for_stage_two_sent_twice_stays_at_stage_one(world: World) -> None:
    """Sent twice, a complaint that says it wants the next stage is one complaint, not an escalation."""
    words = COMPLAINT + "\nI have complained before by phone. I want to escalate this to stage 2.\n"
    world.send(raw(body=words, message_id="<twice-1@evil.example>"))
    world.send(raw(body=words, message_id="<twice-2@evil.example>"))

    [case] = world.cases()
    assert case.stage == world.case(case.ref).stages[0].stage and len(world.to(ATTACKER)) == 1
    assert_safe(world)


def test_300_mails_from_one_sender_in_an_hour_open_their_first_case_and_hold_the_daily_cap(
    world: World,
) -> None:
    started = time.monotonic()
    for n in range(300):
        world.dovecot.deliver(raw(subject=f"Complaint number {n}", message_id=f"<flood-{n}@evil.example>",
                                  body=COMPLAINT + f"\nThis is mail {n}.\n"))  # fmt: skip
        world.delivered += 1
    world.send()
    took = time.monotonic() - started

    assert len(world.to(ATTACKER)) <= 3  # max_automatic_per_address_per_day
    assert world.cases()[0].complainant_address == ATTACKER
    assert len(world.to(COORDINATOR)) <= 10, len(world.to(COORDINATOR))
    assert took < 600
    assert_safe(world)


# == 2. Hostile MIME =========================================================================================


def multipart(parts: list[bytes], sender: str = ATTACKER, subject: str = "Complaint: missed visits") -> bytes:
    boundary = "b0undary-xyz"
    head = (f"From: Tom <{sender}>\r\nTo: {SHARED}\r\nSubject: {subject}\r\n"
            f"Date: Mon, 30 Nov 2026 09:00:00 +0000\r\n"
            f"Message-ID: <mime-{time.monotonic_ns()}@evil.example>\r\nMIME-Version: 1.0\r\n"
            f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n')  # fmt: skip
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + p + b"\r\n" for p in parts)
    return head.encode() + body + b"--" + boundary.encode() + b"--\r\n"


def text_part(text: str, charset: str = "utf-8") -> bytes:
    return f"Content-Type: text/plain; charset={charset}\r\n\r\n{text}".encode()


def nested(depth: int) -> bytes:
    inner = raw(body=COMPLAINT)
    for n in range(depth):
        head = f"From: Tom <{ATTACKER}>\r\nTo: {SHARED}\r\nSubject: Fwd {n}\r\nMIME-Version: 1.0\r\n"
        inner = (head + "Content-Type: message/rfc822\r\n\r\n").encode() + inner
    return inner


def test_hostile_shapes_are_each_processed_or_shunted_and_the_complaint_after_them_opens_a_case(
    world: World,
) -> None:
    hostile = [
        multipart([text_part(COMPLAINT)] + [text_part(f"part {n}") for n in range(5000)]),
        nested(200),
        raw(headers=[("X-Junk", "a" * 1_000_000)], message_id="<longhead@evil.example>"),
        raw(subject="S" * 1_000_000, message_id="<longsubject@evil.example>"),
        multipart([text_part("Ich m\xf6chte mich beschweren", "x-bogus-charset-99")]).replace(
            "möchte".encode(), b"m\xf6chte"
        ),
        multipart([text_part(COMPLAINT, "utf-7")]),
        raw(body="Complaint\x00 with NUL\x00bytes " * 50),
    ]
    for message in hostile:
        world.dovecot.deliver(message)
        world.delivered += 1
    world.send(raw(MARGARET, MARGARET_NAME, "Mum's visits", COMPLAINT, "<after-all@example.net>"))

    assert [c.complainant_address for c in world.cases() if c.complainant_address == MARGARET] == [MARGARET]
    with world.app.sessions() as session:
        rows = list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))
    assert all(r.outcome or r.error for r in rows)
    assert_safe(world)


def attachment_mail(filename: str, payload: bytes, content_type: str = "application/octet-stream") -> bytes:
    message = EmailMessage()
    message["From"], message["To"] = f"Tom <{ATTACKER}>", SHARED
    message["Subject"], message["Message-ID"] = "Complaint: the care plan attached", "<attach-1@evil.example>"
    message.set_content(COMPLAINT)
    maintype, _, subtype = content_type.partition("/")
    message.add_attachment(payload, maintype, subtype, filename=filename)
    return message.as_bytes()


@pytest.mark.parametrize(
    "filename",
    [
        "../../../../etc/passwd",
        "..\\..\\windows\\win.ini",
        "/etc/shadow",
        "a" * 10_000 + ".pdf",
        "invoice\u202efdp.exe",
        "care\x00plan.pdf",
    ],
    ids=["dotdot", "backslash", "absolute", "10k", "rtl", "nul"],
)
def test_a_hostile_attachment_name_is_stored_inside_the_store_and_listed_tamed(
    world: World, filename: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    world.send(attachment_mail(filename, b"root:x:0:0:root:/root:/bin/bash\n"))

    store = world.app.config.storage_dir.resolve()
    for path in store.rglob("*"):
        assert path.resolve().is_relative_to(store)
    with world.app.sessions() as session:
        [attachment] = session.scalars(select(Attachment))
        assert len(attachment.filename) <= 255 and "/" not in attachment.filename
    notice = world.to(COORDINATOR)[0].message.get_body(("plain",)).get_content()
    assert "\u202e" not in notice and "\x00" not in notice
    assert_safe(world)


def test_a_gzip_bomb_attachment_costs_bounded_work(world: World) -> None:
    bomb = gzip.compress(b"\0" * 200_000_000, compresslevel=9)
    started = time.monotonic()
    world.send(attachment_mail("notes.txt.gz", bomb, "application/gzip"))

    assert time.monotonic() - started < 60
    assert stranger_case(world).kind
    assert_safe(world)


def test_characters_that_reorder_text_never_reach_what_the_coordinator_reads(world: World) -> None:
    """ "Tom\u202e reganaM" reads as "Tom Manager"; in the subject, the name and the quoted text alike."""
    name, subject = "Tom\u202e reganaM \u200bSmith\u2066", "Complaint\u202e about visits"
    world.send(raw(ATTACKER, name, subject, COMPLAINT + "\nSigned: \u2067Tom\u2069 \u202dx\u202c\n"))

    for message in world.smtp.messages:
        shown = everything_shown(message)
        for ch in ("\u202e", "\u200b", "\u2066"):
            assert ch not in shown or ch == "\u200b", (ch, message.raw[:500])
    with world.app.sessions() as session:
        events = list(session.scalars(select(CaseEvent.action)))
    assert events
    assert_safe(world)


# == 3. Mail that looks automatic ===========================================================================


MACHINE_MARKS = {
    "auto-generated": [("Auto-Submitted", "auto-generated")],
    "precedence-bulk": [("Precedence", "bulk")],
    "list-headers": [
        ("List-Id", "<residents.riverside.example>"),
        ("List-Unsubscribe", "<mailto:x@y.example>"),
    ],
}


@pytest.mark.parametrize("marks", list(MACHINE_MARKS))
def test_a_disclosure_carrying_one_header_of_machine_mail_still_alerts_the_lead(
    world: World, marks: str
) -> None:
    """A residents' list, a web form or a careless client can put a header of mass mail on what a person
    wrote. Nobody is written to automatically, but the disclosure opens a case and reaches the lead."""
    world.send(raw(headers=MACHINE_MARKS[marks], body=SAFEGUARDING))

    [case] = world.cases()
    assert case.complainant_address == ATTACKER and "safeguarding" in case.flags
    assert world.to(ATTACKER) == []
    assert len(world.to(SAFEGUARDING_LEAD)) == 1 and len(world.to(COORDINATOR)) == 1
    assert_safe(world)


def test_a_complaint_with_one_header_of_mass_mail_is_put_before_a_person(world: World) -> None:
    """Precedence: bulk alone is one mark of mass mail, not proof: the complaint opens its case, nobody is
    written to automatically, and the coordinator is told why."""
    world.send(raw(headers=[("Precedence", "bulk")]))

    [case] = world.cases()
    assert case.complainant_address == ATTACKER and "bulk_marks" in case.flags
    assert world.to(ATTACKER) == []
    assert len(world.to(COORDINATOR)) == 1
    assert_safe(world)


def test_an_out_of_office_reply_saying_nothing_of_harm_is_still_left_alone(world: World) -> None:
    world.send(raw(subject="Out of office", body="I am away until Monday and will reply when I am back.\n",
                   headers=[("Auto-Submitted", "auto-replied")]))  # fmt: skip

    assert world.cases() == [] and world.smtp.messages == []
    assert outcomes(world)[-1].startswith("left alone")
    assert_safe(world)
