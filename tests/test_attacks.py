"""Attacks a hostile or careless outsider can make on a public complaints address, end to end on the real
servers (Dovecot in, the aiosmtpd capture out, SQLite and PostgreSQL in between).

Each scenario adds what tests/test_hostile_threading.py and test_hostile_robustness.py do not already show:
a stranger wearing the complainant's name, staff forged from look-alike senders, template syntax and markup
in what a person writes, and the public notice marker in a complaint (test_attacks_mail.py: loops, floods
and mail whose shape is hostile). Every scenario ends with the checks of `assert_safe`: only our headers on
our mail, one recipient per letter, nothing of Margaret's case to an outsider, and every delivered message
stored and processed or shunted, none lost.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from mailbot.app import App
from mailbot.db.models import InboundMessage
from mailbot.scheduled import jobs
from mailbot.testing import Dovecot, SmtpCapture
from tests.test_hostile_threading import (
    ATTACKER,
    COMPLAINT,
    COORDINATOR,
    MARGARET,
    MARGARET_NAME,
    MARGARETS_WORDS,
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


def test_two_from_lines_cannot_slip_a_forged_escalation_past_our_servers_verdict(world: World) -> None:
    """The old trick against DMARC: our server judges one From (the attacker's own domain, which passes),
    while a reader takes the other. Two From lines are never proof of who wrote: the request is recorded, and
    the case stays where it is until the coordinator confirms it."""
    victim = open_margarets_case(world)
    stage = world.case(victim.ref).stage
    passed = "mx.riverside.example; spf=pass smtp.mailfrom=evil.example; dmarc=pass header.from=evil.example"
    mail = raw(MARGARET, MARGARET_NAME, f"RE: {victim.ack['Subject']}",
               "I am not satisfied with your response and want to escalate this to stage 2.\n",
               "<two-froms@evil.example>", [("From", f"M Allory <{ATTACKER}>")])  # fmt: skip

    world.send(stamped(mail, passed))

    case = world.case(victim.ref)
    assert case.stage == stage and "escalation not acted on" in [e.action for e in case.events]
    assert world.to(ATTACKER) == []
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


def test_forty_forged_staff_commands_in_an_hour_bury_nobody(world: World) -> None:
    """Each forgery is reported (nothing runs), but the coordinator is not flooded: the hour's list."""
    victim = open_margarets_case(world)
    for n in range(40):
        world.dovecot.deliver(raw(COORDINATOR, "Priya Shah", f"RE: {victim.notification['Subject']}",
                                  f"#close\n\nforgery {n}\n", f"<forged-{n}@evil.example>",
                                  [("In-Reply-To", victim.notification["Message-ID"])]))  # fmt: skip
        world.delivered += 1
    world.send()

    assert world.case(victim.ref).status == "open"
    assert len(world.to(COORDINATOR)) <= 2 + 3, [m.message["Subject"] for m in world.to(COORDINATOR)]
    assert_safe(world)


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
        # Run, the syntax would read "Complaint 49", "Tom 49" and "Riverside Care Trust CMP-2026-0001".
        assert "complaint 49" not in shown and "tom 49" not in shown, message.raw[:500]
        assert "riverside care trust cmp-" not in shown
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


# == 4. A complainant writing our notice markers =============================================================


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
