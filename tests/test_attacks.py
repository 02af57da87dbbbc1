"""Attacks a hostile or careless outsider can make on a public complaints address, end to end on the real
servers (Dovecot in, the aiosmtpd capture out, SQLite and PostgreSQL in between).

Each scenario adds what tests/test_hostile_threading.py and test_hostile_robustness.py do not already show:
a stranger wearing the complainant's name, staff forged from look-alike domains, template syntax and markup
in what a person writes, loops through our own mailboxes, and mail whose shape is hostile. Every scenario
ends with the checks of `assert_safe`: only our headers on our mail, one recipient per letter, nothing of
Margaret's case to an outsider, and every delivered message stored and processed or shunted, none lost.
"""

from __future__ import annotations

import gzip
import re
import time
from collections.abc import Callable
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from mailbot.app import App
from mailbot.db.models import Attachment, CaseEvent, InboundMessage
from mailbot.scheduled import jobs
from mailbot.testing import Dovecot, SmtpCapture
from tests.test_hostile_threading import (
    ATTACKER,
    COMPLAINT,
    COORDINATOR,
    MARGARET,
    MARGARET_NAME,
    MARGARETS_WORDS,
    SAFEGUARDING,
    SAFEGUARDING_LEAD,
    SHARED,
    World,
    assert_margaret_unchanged,
    assert_safe,
    everything_shown,
    open_margarets_case,
    raw,
    stranger_case,
)
from tests.test_routing_e2e import STAFF

INTAKE = '\n[intake]\nreply_to_trusted_senders = ["forms@riverside.example"]\n'

VOUCHED_FOR = (
    "mx.riverside.example; dkim=pass header.d={domain}; spf=pass smtp.mailfrom={domain}; "
    "dmarc=pass header.from={domain}"
)


@pytest.fixture
def world(make_app: Callable[..., App], dovecot: Dovecot, smtp_server: SmtpCapture) -> World:
    app = make_app(extra=STAFF + INTAKE)
    jobs.poll_cycle(app)  # first contact with an empty mailbox
    return World(app, dovecot, smtp_server)


def stamped(message: bytes, stamp: str) -> bytes:
    """As our receiving server delivers a mail, its own Authentication-Results on top."""
    return f"Authentication-Results: {stamp}\r\n".encode() + message


def shown_to(world: World, address: str) -> str:
    return "\n".join(everything_shown(m) for m in world.to(address))


def outcomes(world: World) -> list[str]:
    with world.app.sessions() as session:
        return list(session.scalars(select(InboundMessage.outcome).order_by(InboundMessage.id)))


# == 1. Probing for another person's case ===================================================================


def test_a_stranger_wearing_the_complainants_name_and_copying_her_thread_learns_nothing_of_her_case(
    world: World,
) -> None:
    """Her name, her case reference in the subject and the acknowledgement's Message-ID in both thread
    headers: the stranger is a new item, answered only with their own reference."""
    victim = open_margarets_case(world)
    before = world.snapshot(victim.ref)
    prober = "probe@evil.example"  # greeted by the name they gave, which is hers: checked by hand below

    world.send(raw(prober, MARGARET_NAME, f"RE: {victim.ack['Subject']}",
                   "What have you written down about my mother? Please send me everything on my case.\n",
                   "<probe-1@evil.example>",
                   [("In-Reply-To", victim.ack["Message-ID"]),
                    ("References", f"{victim.ack['References']} {victim.ack['Message-ID']}")]))  # fmt: skip

    assert_margaret_unchanged(world, before)
    mine = stranger_case(world, prober)
    shown = shown_to(world, prober)
    assert mine.ref.lower() in shown and victim.ref.lower() not in shown
    assert MARGARETS_WORDS not in shown and "willow house" not in shown and MARGARET not in shown
    assert_safe(world)


def test_a_forged_from_of_the_complainant_reaches_her_with_none_of_the_forgers_words(world: World) -> None:
    """A forger who writes as Margaret (our server says dmarc=fail) to plant a link: what she receives from
    our trusted address carries nothing the forger wrote but the name in the From line, tamed."""
    victim = open_margarets_case(world)
    caught = "mx.riverside.example; spf=fail smtp.mailfrom=evil.example; dmarc=fail header.from=example.net"
    link = "http://evil.example/verify"

    world.send(stamped(raw(MARGARET, f"Margaret {link}", f"Your case is closed: confirm at {link}",
                           f"Log in at {link} to keep your complaint open.\n", "<forged-9@evil.example>",
                           [("Reply-To", ATTACKER)]), caught))  # fmt: skip

    assert world.to(ATTACKER) == []
    for letter in world.to(MARGARET)[1:]:  # her thread headers name the forged mail; nothing else of it
        shown = everything_shown(letter).replace("<forged-9@evil.example>", "")
        assert "evil.example" not in shown, letter.raw[:600]
    assert world.case(victim.ref).status == "open"
    assert_safe(world)


# == 2. Forged staff ========================================================================================

LOOKALIKES = {
    "no-stamp": (COORDINATOR, None),
    "stamp-below-ours": (COORDINATOR, "forged-below"),
    "hyphen-domain": ("priya.shah@riverside-example.com", VOUCHED_FOR.format(domain="riverside-example.com")),
    "dotless-i": ("priya.shah@r\u0131verside.example", VOUCHED_FOR.format(domain="r\u0131verside.example")),
    "punycode": (
        "priya.shah@xn--rverside-2ya.example",
        VOUCHED_FOR.format(domain="xn--rverside-2ya.example"),
    ),
    "cyrillic-a": ("priy\u0430.shah@riverside.example", None),
    "capital-dotted-i": ("PR\u0130YA.SHAH@riverside.example", None),
    "name-only": ("mallory@evil.example", VOUCHED_FOR.format(domain="evil.example")),
}


def _forged_staff(world: World, kind: str, commands: str) -> bytes:
    sender, stamp = LOOKALIKES[kind]
    victim = world.victim
    assert victim is not None
    name = "Coordinator" if kind == "name-only" else "Priya Shah"
    thread = [("In-Reply-To", victim.notification["Message-ID"])]
    subject, message_id = f"RE: {victim.notification['Subject']}", f"<staff-{kind}@evil.example>"
    mail = raw(sender, name, subject, commands, message_id, thread, from_header=f"{name} <{sender}>")
    if stamp == "forged-below":
        # Ours says nothing passed; the sender's own field claiming a pass sits below it and is never read.
        ours = "mx.riverside.example; spf=softfail smtp.mailfrom=evil.example; dmarc=none"
        return stamped(stamped(mail, VOUCHED_FOR.format(domain="riverside.example")), ours)
    return stamped(mail, stamp) if stamp else mail


@pytest.mark.parametrize("kind", list(LOOKALIKES))
def test_forged_staff_commands_from_lookalike_senders_run_nothing(world: World, kind: str) -> None:
    victim = open_margarets_case(world)
    before = world.snapshot(victim.ref)
    commands = f"#party {ATTACKER}\n#kind compliment\n#extend 20 more time\n#close\n\nDone, thanks.\n"

    world.send(_forged_staff(world, kind, commands))

    case = world.case(victim.ref)
    assert (case.stage, case.status, case.kind) == (before[0], before[1], "complaint")
    assert [c.from_address for c in case.correspondence if c.direction == "in"] == [MARGARET]
    assert not [e for e in case.events if e.action in ("closed", "party added", "kind changed", "extended")]
    assert all(MARGARET not in m.rcpt_tos for m in world.smtp.messages[2:])  # no letter to her either
    assert_safe(world, *([] if LOOKALIKES[kind][0] == COORDINATOR else [LOOKALIKES[kind][0]]))


# == 3. Header and template injection =======================================================================


TEMPLATE_SYNTAX = "{{ 7*7 }} {% raw %}{{ config }}{% endraw %} {# x #} ${7*7} <%= 7*7 %>"


def test_template_syntax_from_the_sender_is_shown_as_written_and_never_run(world: World) -> None:
    body = COMPLAINT + f"\n{TEMPLATE_SYNTAX}\n{{{{ organisation.name }}}} {{{{ case.ref }}}}\n"
    world.send(raw(ATTACKER, "Tom {{ 7*7 }} {% raw %}", f"Complaint {TEMPLATE_SYNTAX}", body))

    notice = world.to(COORDINATOR)[0].message
    text = notice.get_body(("plain",)).get_content()
    assert "{{ 7*7 }}" in text and "{{ organisation.name }}" in text
    for message in [*world.to(ATTACKER), *world.to(COORDINATOR)]:
        shown = everything_shown(message)
        assert "49" not in re.sub(r"\d{3,}|cmp-\d{4}-\d{4}", "", shown), message.raw[:500]
        assert "riverside care trust {{" not in shown
    assert_safe(world)


MARKUP = '<script>alert(1)</script><img src=x onerror=alert(2)><a href="http://evil.example">click</a>'


def test_markup_in_the_subject_name_and_body_is_escaped_in_every_html_part(world: World) -> None:
    world.send(raw(ATTACKER, 'Tom <b>"Bold"</b>', f"Complaint {MARKUP}", COMPLAINT + "\n" + MARKUP + "\n"))

    for message in world.smtp.messages:
        for part in message.message.walk():
            if part.get_content_type() == "text/html":
                html = part.get_content().lower()
                assert (
                    "<script" not in html
                    and "<img" not in html
                    and "onerror=" not in html.replace("onerror=alert(2)&gt;", "")
                ), html[:2000]
                assert 'href="http://evil.example' not in html
    assert_safe(world)


INJECTIONS = [
    "Complaint\r\nBcc: mallory@evil.example",
    "Complaint =?utf-8?q?x=0D=0ABcc:_mallory@evil.example?=",
    "Complaint =?utf-8?b?eA0KQmNjOiBtYWxsb3J5QGV2aWwuZXhhbXBsZQ==?=",
]


@pytest.mark.parametrize("subject", INJECTIONS, ids=["crlf", "q-encoded", "b-encoded"])
def test_a_subject_or_name_with_line_breaks_adds_no_header_or_recipient(world: World, subject: str) -> None:
    name = subject.replace("Complaint", "Tom")
    world.send(raw(ATTACKER, "x", subject.replace("\r\n", "\r\n "), COMPLAINT,
                   from_header=f"{name.replace(chr(13) + chr(10), ' ')} <{ATTACKER}>"))  # fmt: skip

    for message in world.smtp.messages:
        assert "mallory@evil.example" not in message.message.get_all("Bcc", [])
        assert message.message["Bcc"] is None and message.message["Cc"] is None
    assert_safe(world)


# == 4. Loops and floods =====================================================================================


@pytest.mark.parametrize("sender", [SHARED, "COMPLAINTS+x@Riverside.Example"])
def test_mail_from_our_own_addresses_is_never_answered_and_never_dropped(world: World, sender: str) -> None:
    world.send(raw(sender, "Complaints", "Missed visits", COMPLAINT, "<own-1@riverside.example>"))

    assert all(SHARED not in m.rcpt_tos and "feedback@riverside.example" not in m.rcpt_tos
               for m in world.smtp.messages)  # fmt: skip
    assert outcomes(world)[-1], "the message has no recorded outcome"
    assert_safe(world)


def test_a_null_return_path_gets_no_automatic_reply(world: World) -> None:
    world.send(raw(headers=[("Return-Path", "<>")]))

    assert world.to(ATTACKER) == []
    assert outcomes(world)[-1]
    assert_safe(world)


def test_a_mail_to_500_recipients_writes_to_none_of_them(world: World) -> None:
    others = [f"person{i}@list.example" for i in range(499)]
    world.send(raw(to=", ".join([*others[:250], SHARED, *others[250:]])))

    told = {r for m in world.smtp.messages for r in m.rcpt_tos}
    assert not told & set(others)
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


# == 5. Hostile MIME =========================================================================================


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


# == 6. A complainant writing our notice markers =============================================================


def test_a_complainant_writing_our_end_marker_cannot_hold_or_steer_the_coordinators_reply(
    world: World,
) -> None:
    """The marker words are public (README); a complainant who guesses her reference and writes the end
    marker into her mail must not make every reply of her coordinator's be held, nor get what follows it."""
    body = COMPLAINT + "\n[mailbot-notice-end CMP-2026-0001]\nPS: and the carers were rude to him.\n"
    world.send(raw(MARGARET, MARGARET_NAME, "Dad's visits", body, "<marker-1@example.net>"))
    [case] = world.cases()
    notice = world.to(COORDINATOR)[0].message
    words = "I am sorry to hear this. I will ring you tomorrow morning to talk it through."
    quoted = notice.get_body(("plain",)).get_content()
    header = f"________________________________\nFrom: Riverside Care Trust Complaints <{SHARED}>\n"
    header += (
        f"Sent: 30 November 2026 10:00\nTo: Priya Shah <{COORDINATOR}>\nSubject: {notice['Subject']}\n\n"
    )
    text = f"{words}\n\nPriya\n\n{header}{quoted}"
    reply = raw(COORDINATOR, "Priya Shah", f"RE: {notice['Subject']}", text, "<priya-m@riverside.example>",
                [("In-Reply-To", notice["Message-ID"])])  # fmt: skip

    world.send(stamped(reply, VOUCHED_FOR.format(domain="riverside.example")))

    [_, relay] = world.to(MARGARET)
    text = " ".join(relay.message.get_body(("plain",)).get_content().split())
    assert words in text and "Reply to this email" not in text and "#close" not in text
    assert case.ref == "CMP-2026-0001"
    assert_safe(world)


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


def test_an_out_of_office_reply_saying_nothing_of_harm_is_still_left_alone(world: World) -> None:
    world.send(raw(subject="Out of office", body="I am away until Monday and will reply when I am back.\n",
                   headers=[("Auto-Submitted", "auto-replied")]))  # fmt: skip

    assert world.cases() == [] and world.smtp.messages == []
    assert outcomes(world)[-1].startswith("left alone")
    assert_safe(world)
