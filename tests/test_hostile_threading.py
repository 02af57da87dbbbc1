"""Outsiders cannot read, steer or silence a case: hostile mail end to end on real servers (Dovecot in, an
aiosmtpd capture out, SQLite and PostgreSQL), issue 10 classes 1 to 4.

Every scenario checks, besides its own point, what a data protection officer would: the exact header names
and envelope recipients of what we sent, that nothing of Margaret's case (its reference, her name, her words)
reached anyone but Margaret and staff, and that every message delivered was stored and processed or shunted.
The mail is built byte by byte, as an attacker would send it; the Python running the bot (3.11.7 here) is
one without the CVE-2024-6923 fix, so the header-injection scenarios show the sanitiser, not the standard
library, keeping our headers ours.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr
from pathlib import Path

import pytest
from sqlalchemy import select

from mailbot.app import App, build_app
from mailbot.config.settings import load_config
from mailbot.db.models import Case, CaseEvent, InboundMessage, Outbox
from mailbot.scheduled import jobs
from mailbot.testing import Dovecot, SmtpCapture
from mailbot.testing.smtp import CapturedMessage
from tests.conftest import ENVIRON, Clock, write_config
from tests.test_routing_e2e import STAFF

MARGARET, MARGARET_NAME = "margaret.jones@example.net", "Margaret Jones"
MARGARETS_WORDS = "missed my mother's lunchtime visit on eleven days"
MARGARETS_ID = "<a81f-2026@example.net>"
ATTACKER = "mallory@evil.example"
TARGET = "target@third.example"
COORDINATOR, SAFEGUARDING_LEAD = "priya.shah@riverside.example", "sam.okafor@riverside.example"
SHARED = "complaints@riverside.example"
TOLD = f"; coordinator {COORDINATOR} told"  # of every message on a case
FORMS = "forms@riverside.example"
INTAKE = f'\n[intake]\nreply_to_trusted_senders = ["{FORMS}"]\n'
VOUCHED = (
    "mx.riverside.example; dkim=pass header.d=riverside.example; spf=pass smtp.mailfrom=riverside.example; "
    "dmarc=pass header.from=riverside.example"
)
COMPLAINT = (
    "Dear Sir or Madam,\n\nI want to make a formal complaint about the care my father receives at home. His\n"
    "carers have missed visits twice this month and nobody rang to tell us. This is not acceptable.\n"
)
SAFEGUARDING = (
    "I visited Mum yesterday and found bruises on both her arms. She told me one of the night\n"
    "carers grabs her and she is scared of him. Please do something.\n"
)

# The header names of our mail, in the order compose writes them.
HEAD = ["From", "To", "Subject", "Date", "Message-ID"]
THREAD = ["In-Reply-To", "References"]
AUTO = ["Auto-Submitted", "X-Auto-Response-Suppress"]
MULTIPART = ["MIME-Version", "Content-Type"]
PLAIN = ["Content-Type", "Content-Transfer-Encoding", "MIME-Version"]  # set_content's order
ANSWER = [*HEAD, *THREAD, *AUTO, *MULTIPART]  # an acknowledgement that answers a mail
UNTHREADED_ANSWER = [*HEAD, *AUTO, *MULTIPART]  # one whose mail had no Message-ID we could keep
SHAPES = {
    tuple(HEAD + thread + auto + body)
    for thread in ([], THREAD, ["References"])
    for auto in ([], AUTO)
    for body in (MULTIPART, PLAIN)
}


# --- mail as an attacker writes it ------------------------------------------------------------------------


def raw(
    sender: str = ATTACKER,
    name: str = "M Allory",
    subject: str = "Complaint about my father's care",
    body: str = COMPLAINT,
    message_id: str | None = "<mallory-1@evil.example>",
    headers: Iterable[tuple[str, str]] = (),
    from_header: str | None = None,
    to: str = SHARED,
) -> bytes:
    """Bytes on the wire, header values exactly as given (no library to tidy them up)."""
    lines = [
        f"From: {from_header or formataddr((name, sender))}",
        f"To: {to}",
        f"Subject: {subject}",
        "Date: Mon, 30 Nov 2026 09:00:00 +0000",
        *([f"Message-ID: {message_id}"] if message_id else []),
        *(f"{key}: {value}" for key, value in headers),
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n" + body.replace("\n", "\r\n")).encode()


def vouched(message: bytes) -> bytes:
    """As our receiving server delivers a mail it authenticated."""
    return f"Authentication-Results: {VOUCHED}\r\n".encode() + message


# --- the world: a bot, its mailbox, what it sent --------------------------------------------------------


@dataclass
class Victim:
    ref: str
    ack: EmailMessage
    notification: EmailMessage


@dataclass
class World:
    app: App
    dovecot: Dovecot
    smtp: SmtpCapture
    delivered: int = 0
    victim: Victim | None = None
    outsiders: set[str] = field(default_factory=set)

    def send(self, *messages: bytes) -> None:
        for message in messages:
            self.dovecot.deliver(message)
            self.delivered += 1
        jobs.poll_cycle(self.app)

    def to(self, address: str) -> list[CapturedMessage]:
        return [m for m in self.smtp.messages if address in m.rcpt_tos]

    def one_to(self, address: str) -> CapturedMessage:
        [message] = self.to(address)
        return message

    def case(self, ref: str) -> Case:
        with self.app.sessions() as session:
            case = session.scalars(select(Case).where(Case.ref == ref)).one()
            _ = case.correspondence, case.events, case.stages
            return case

    def cases(self) -> list[Case]:
        with self.app.sessions() as session:
            return list(session.scalars(select(Case).order_by(Case.id)))

    def last_inbound(self) -> InboundMessage:
        with self.app.sessions() as session:
            return session.scalars(select(InboundMessage).order_by(InboundMessage.id.desc())).first()

    def snapshot(self, ref: str) -> tuple[object, ...]:
        """What changing a case would change: its stage, status, flags, correspondence and audit trail."""
        case = self.case(ref)
        return (case.stage, case.status, tuple(case.flags), len(case.correspondence), len(case.events))


@pytest.fixture
def world(make_app: Callable[..., App], dovecot: Dovecot, smtp_server: SmtpCapture) -> World:
    app = make_app(extra=STAFF + INTAKE)
    jobs.poll_cycle(app)  # first contact with an empty mailbox
    return World(app, dovecot, smtp_server)


def open_margarets_case(world: World) -> Victim:
    body = (
        "Dear Sir or Madam,\n\nI want to make a formal complaint. The carers at Willow House have\n"
        f"{MARGARETS_WORDS} since October. Nobody rang to tell us. This is not acceptable.\n"
    )
    world.send(raw(MARGARET, MARGARET_NAME, "Mum's visits", body, MARGARETS_ID))
    ref = world.cases()[0].ref
    world.victim = Victim(
        ref, world.one_to(MARGARET).message, world.to(COORDINATOR)[-1].message
    )  # fmt: skip
    return world.victim


# --- what every scenario checks ------------------------------------------------------------------------


def header_names(message: CapturedMessage) -> list[str]:
    head = message.raw.split(b"\r\n\r\n", 1)[0]
    return [line.split(b":", 1)[0].decode() for line in head.split(b"\r\n") if line[:1] not in (b" ", b"\t")]


def everything_shown(message: CapturedMessage) -> str:
    """What the recipient can see: the bytes as sent, and the decoded headers and text parts."""
    parsed = message.message
    shown = [message.raw.decode("ascii", "replace"), *(str(v) for _, v in parsed.items())]
    shown += [part.get_content() for part in parsed.walk() if part.get_content_maintype() == "text"]
    return "\n".join(shown).lower()


def assert_nothing_of_margaret_reached(world: World, outsiders: Iterable[str]) -> None:
    victim = world.victim
    for message in world.smtp.messages:
        if not set(message.rcpt_tos) & {o.lower() for o in outsiders}:
            continue
        shown = everything_shown(message)
        assert victim is None or victim.ref.lower() not in shown, message.raw[:400]
        assert "margaret jones" not in shown and "margaret.jones" not in shown, message.raw[:400]
        assert "lunchtime visit" not in shown, message.raw[:400]


def assert_safe(world: World, *outsiders: str) -> None:
    """Our mail has our headers only, no line a strict server refuses, and one recipient; nothing of Margaret
    reached an outsider; every message delivered is stored and processed or shunted, none left behind."""
    for message in world.smtp.messages:
        assert tuple(header_names(message)) in SHAPES, header_names(message)
        assert len(message.rcpt_tos) == 1 and message.mail_from == SHARED
        assert all(len(line) <= 998 for line in message.raw.split(b"\r\n"))
    assert_nothing_of_margaret_reached(world, {ATTACKER, TARGET, *outsiders, *world.outsiders})
    with world.app.sessions() as session:
        states = list(session.scalars(select(InboundMessage.state)))
        # Nothing is left to send except the hour's bundle of staff notices about one flooding sender, which
        # goes when the hour is out (issue 10, class 6), and only ever to staff.
        waiting = session.execute(
            select(Outbox.purpose, Outbox.recipient).where(Outbox.state.in_(("pending", "sending")))
        )
        staff = {COORDINATOR, SAFEGUARDING_LEAD}
        assert all(purpose.startswith("bundle:") and recipient in staff for purpose, recipient in waiting)
    assert len(states) == world.delivered and set(states) <= {"processed", "shunted"}
    flags = [f for _, f, _ in world.dovecot.messages()]
    assert len(flags) == world.delivered
    assert all({b"$MailbotProcessed", b"$MailbotShunted"} & set(f) for f in flags)


def assert_margaret_unchanged(world: World, before: tuple[object, ...]) -> None:
    assert world.victim is not None and world.snapshot(world.victim.ref) == before


def note_to_coordinator(world: World, ref: str) -> str:
    """The coordinator's notice of a new case, as one line of text."""
    [notice] = [m.message for m in world.to(COORDINATOR) if m.message["Subject"].startswith(f"[{ref}] New")]
    return " ".join(notice.get_body(("plain",)).get_content().split())


def stranger_case(world: World, address: str = ATTACKER) -> Case:
    [case] = [c for c in world.cases() if c.complainant_address == address]
    return case


# === 1. Header and body injection ===========================================================================


INJECTED_IDS = [
    "<=?utf-8?q?x=0D=0AReply-To:_mallory@evil.example?=@evil.example>",
    "<=?utf-8?b?eA0KQmNjOiBtYWxsb3J5QGV2aWwuZXhhbXBsZQ==?=@evil.example>",
    "<x@evil.example=?utf-8?q?=0D=0A=0D=0A<html>click_here</html>?=>",
    "<" + "a" * 400 + "@evil.example>",
]


@pytest.mark.parametrize("message_id", INJECTED_IDS)
def test_a_hostile_message_id_is_dropped_and_the_acknowledgement_has_only_our_headers(
    world: World, message_id: str
) -> None:
    world.send(raw(message_id=message_id))

    ack = world.one_to(ATTACKER)
    assert header_names(ack) == UNTHREADED_ANSWER and ack.rcpt_tos == (ATTACKER,)
    assert b"Reply-To" not in ack.raw and b"Bcc" not in ack.raw and b"<html>" not in ack.raw
    assert world.last_inbound().message_id is None
    assert_safe(world)


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("In-Reply-To", "<=?utf-8?q?x=0D=0ABcc:_mallory@evil.example?=@evil.example>"),
        ("References", "<ok-1@evil.example> <=?utf-8?q?y=0D=0A=0D=0A<b>Dear_Sir</b>?=@evil.example>"),
        ("References", "<a\x1bb@evil.example> <c\x7fd@evil.example>"),
    ],
)
def test_hostile_thread_ids_never_reach_our_headers(world: World, header: str, value: str) -> None:
    world.send(raw(headers=[(header, value)]))

    ack = world.one_to(ATTACKER)
    assert ack.message["In-Reply-To"] == "<mallory-1@evil.example>"
    # A letter's References name only mails of its case: here, the one mail that opened it.
    assert ack.message["References"] == "<mallory-1@evil.example>"
    assert header_names(ack) == ANSWER and ack.rcpt_tos == (ATTACKER,)
    assert b"=?utf-8?q?" not in ack.raw.split(b"\r\n\r\n")[0] and b"Bcc" not in ack.raw
    assert_safe(world)


def test_an_encoded_subject_cannot_add_a_header_to_the_coordinators_notice(world: World) -> None:
    world.send(raw(subject="=?utf-8?q?Help=0D=0ABcc:_mallory@evil.example=0D=0AReply-To:_x@evil.example?="))

    notice = world.one_to(COORDINATOR)
    assert header_names(notice) == ANSWER and notice.rcpt_tos == (COORDINATOR,)
    assert notice.message["Reply-To"] is None and notice.message["Bcc"] is None
    assert header_names(world.one_to(ATTACKER)) == ANSWER
    assert_safe(world)


def test_a_display_name_with_a_link_and_an_injection_is_greeted_by_name_only(world: World) -> None:
    name = "=?utf-8?q?Mr_Smith=0D=0ABcc=3A_x=40evil.example_https=3A=2F=2Fevil.example=2Fpay?="
    world.send(raw(from_header=f"{name} <{ATTACKER}>"))

    ack = world.one_to(ATTACKER)
    text = ack.message.get_body(("plain",)).get_content()
    assert "Dear Mr Smith Bcc," in text and "http" not in text and "evil.example/" not in text
    assert ack.message["To"].addresses[0].display_name == "Mr Smith Bcc"
    assert header_names(ack) == ANSWER and ack.message["Bcc"] is None
    assert_safe(world)


def test_a_malformed_encoded_name_is_recorded_and_answered_nowhere(world: World) -> None:
    """Raw specials inside an encoded word hide the address: the mail is kept with no address to answer,
    nothing is sent to any address read out of the mess, and the coordinator still sees it."""
    name = "=?utf-8?q?Mr_Smith=0D=0ABcc:_x@evil.example_https://evil.example/pay?="
    world.send(raw(from_header=f"{name} <{ATTACKER}>"))

    [case] = world.cases()
    assert case.complainant_address == "" and world.to(ATTACKER) == [] and world.to("x@evil.example") == []
    assert [m.rcpt_tos for m in world.smtp.messages] == [(COORDINATOR,)]
    assert_safe(world)


def test_a_20000_character_subject_is_cut_and_every_letter_is_delivered(world: World) -> None:
    world.send(raw(subject="Complaint " + "x" * 20_000))

    assert header_names(world.one_to(ATTACKER)) == ANSWER
    assert header_names(world.one_to(COORDINATOR)) == ANSWER
    with world.app.sessions() as session:
        assert set(session.scalars(select(Outbox.state))) == {"sent"}  # no "500 Line too long"
    assert_safe(world)


def test_a_5000_character_display_name_is_greeted_with_at_most_64(world: World) -> None:
    world.send(raw(name="Bartholomew " * 420))

    ack = world.one_to(ATTACKER)
    greeting = ack.message.get_body(("plain",)).get_content().splitlines()[0]
    assert greeting.startswith("Dear Bartholomew") and len(greeting) <= len("Dear ,") + 64
    assert len(stranger_case(world).complainant_name) <= 64
    assert header_names(ack) == ANSWER
    assert_safe(world)


def test_a_name_that_is_an_address_or_a_link_is_not_used_at_all(world: World) -> None:
    world.send(raw(name="support@bank-security.example \u202ehttps://bank.example/verify"))

    ack = world.one_to(ATTACKER)
    assert ack.message.get_body(("plain",)).get_content().startswith("Dear Sir or Madam,")
    assert ack.message["To"] == ATTACKER
    assert_safe(world)


def test_a_single_line_body_of_100000_characters_leaves_as_lines_servers_accept(world: World) -> None:
    world.send(raw(body=COMPLAINT + "word" * 25_000 + "\n"))

    notice = world.one_to(COORDINATOR)
    assert "wordword" in notice.message.get_body(("plain",)).get_content()
    assert header_names(notice) == ANSWER
    assert_safe(world)


def test_a_complainant_reply_with_one_hostile_and_one_good_id_still_threads(world: World) -> None:
    victim = open_margarets_case(world)
    references = f"<=?utf-8?q?x=0D=0ABcc:_mallory@evil.example?=@x> {victim.ack['Message-ID']}"
    world.send(raw(MARGARET, MARGARET_NAME, "Re: your letter", "Thank you.\n", "<margaret-2@example.net>",
                   [("References", references)]))  # fmt: skip

    inbound = world.last_inbound()
    assert inbound.outcome == f"added to {victim.ref} as reply (threaded by references){TOLD}"
    assert_safe(world)


# === 2. Case takeover through threading =====================================================================


def test_a_stranger_replying_to_an_acknowledgements_message_id_gets_their_own_item(world: World) -> None:
    victim = open_margarets_case(world)
    before = world.snapshot(victim.ref)

    world.send(raw(subject="Re: your letter", headers=[("In-Reply-To", victim.ack["Message-ID"])]))

    mine = stranger_case(world)
    ack = world.one_to(ATTACKER)
    assert ack.message["Subject"].startswith(f"[{mine.ref}]") and ack.rcpt_tos == (ATTACKER,)
    assert ack.message["References"] == "<mallory-1@evil.example>"  # not the acknowledgement it quoted
    assert header_names(ack) == ANSWER
    note = f"{victim.ref} quoted in the In-Reply-To/References headers by {ATTACKER}, who is not a party"
    assert note in note_to_coordinator(world, mine.ref)
    assert_margaret_unchanged(world, before)
    assert_safe(world)


def test_a_stranger_with_the_acknowledgements_id_and_reference_cannot_escalate_it(world: World) -> None:
    victim = open_margarets_case(world)
    before = world.snapshot(victim.ref)

    world.send(raw(subject=f"RE: {victim.ack['Subject']}", body="I want to escalate this to stage 2.\n",
                   headers=[("In-Reply-To", victim.ack["Message-ID"]),
                            ("References", f"{MARGARETS_ID} {victim.ack['Message-ID']}")]))  # fmt: skip

    assert_margaret_unchanged(world, before)
    assert len(world.to(MARGARET)) == 1 and world.one_to(ATTACKER).rcpt_tos == (ATTACKER,)
    assert_safe(world)


def test_a_copied_message_id_of_the_complainants_own_mail_threads_nothing(world: World) -> None:
    victim = open_margarets_case(world)
    before = world.snapshot(victim.ref)

    world.send(raw(subject="Re: Mum's visits", headers=[("References", MARGARETS_ID)]))

    assert_margaret_unchanged(world, before)
    assert world.one_to(ATTACKER).message["Subject"].startswith(f"[{stranger_case(world).ref}]")
    assert_safe(world)


def test_1200_guessed_message_ids_in_one_references_header_hit_nothing(world: World) -> None:
    victim = open_margarets_case(world)
    before = world.snapshot(victim.ref)
    guesses = [f"<{victim.ref.lower()}.{letter}.{n:012x}@riverside.example>"
               for letter in ("acknowledgem", "reminder", "notify_coord") for n in range(400)]  # fmt: skip

    world.send(raw(subject="Re: reminder", headers=[("References", "\r\n ".join(guesses))]))

    assert_margaret_unchanged(world, before)
    assert re.fullmatch(
        r"<[0-9a-f]{32}@riverside\.example>", victim.ack["Message-ID"]
    )  # nothing to guess from
    assert header_names(world.one_to(ATTACKER)) == ANSWER
    assert_safe(world)


def test_our_message_ids_name_no_case_and_no_letter(world: World) -> None:
    victim = open_margarets_case(world)

    for message in world.smtp.messages:
        assert victim.ref.lower() not in message.message["Message-ID"].lower()
        assert re.fullmatch(r"<[0-9a-f]{32}@riverside\.example>", message.message["Message-ID"])
    assert_safe(world)


def test_a_stranger_quoting_the_reference_in_the_subject_gets_their_own_item(world: World) -> None:
    victim = open_margarets_case(world)
    before = world.snapshot(victim.ref)

    world.send(raw(subject=f"RE: [{victim.ref}] what happened to my complaint?"))

    mine = stranger_case(world)
    assert f"{victim.ref} quoted in the subject by {ATTACKER}" in note_to_coordinator(world, mine.ref)
    assert_margaret_unchanged(world, before)
    with world.app.sessions() as session:
        events = list(session.scalars(select(CaseEvent.action).where(CaseEvent.case_id == mine.id)))
    assert "reference refused" in events
    assert_safe(world)


def test_a_stranger_writing_to_the_cases_plus_address_gets_their_own_item(world: World) -> None:
    victim = open_margarets_case(world)
    before = world.snapshot(victim.ref)

    world.send(raw(subject="Another thing", to=f"complaints+{victim.ref}@riverside.example"))

    assert f"{victim.ref} quoted in the plus_address" in note_to_coordinator(world, stranger_case(world).ref)
    assert_margaret_unchanged(world, before)
    assert_safe(world)


def test_a_stranger_replying_to_the_coordinators_notice_gets_nothing_of_it(world: World) -> None:
    victim = open_margarets_case(world)
    before = world.snapshot(victim.ref)

    world.send(raw(subject=f"RE: {victim.notification['Subject']}",
                   headers=[("In-Reply-To", victim.notification["Message-ID"])]))  # fmt: skip

    assert_margaret_unchanged(world, before)
    assert header_names(world.one_to(ATTACKER)) == ANSWER
    assert_safe(world)


def test_a_forged_from_of_the_complainant_with_reply_to_the_attacker_sends_the_attacker_nothing(
    world: World,
) -> None:
    victim = open_margarets_case(world)

    world.send(raw(MARGARET, MARGARET_NAME, f"RE: {victim.ack['Subject']}",
                   "I am not satisfied with your response and want to escalate this to stage 2.\n",
                   "<forged-1@evil.example>", [("Reply-To", ATTACKER)]))  # fmt: skip

    assert world.to(ATTACKER) == []
    [_, second] = world.to(MARGARET)  # a forged From can ask; only the complainant hears of it
    assert second.rcpt_tos == (MARGARET,) and second.message["To"] == f"{MARGARET_NAME} <{MARGARET}>"
    assert header_names(second) == ANSWER and world.case(victim.ref).stage == "stage2"
    assert_safe(world)


def test_a_forged_from_our_server_caught_asks_for_the_next_stage_and_the_case_stays_where_it_is(
    world: World,
) -> None:
    victim = open_margarets_case(world)
    before = world.case(victim.ref).stage
    caught = "mx.riverside.example; spf=fail smtp.mailfrom=evil.example; "
    caught += "dmarc=fail (p=none) header.from=example.net"

    world.send(raw(MARGARET, MARGARET_NAME, f"RE: {victim.ack['Subject']}",
                   "I am not satisfied with your response and want to escalate this to stage 2.\n",
                   "<forged-3@evil.example>", [("Reply-To", ATTACKER)],
                   ).replace(b"From:", f"Authentication-Results: {caught}\r\nFrom:".encode(), 1))  # fmt: skip

    case = world.case(victim.ref)
    assert case.stage == before and world.to(ATTACKER) == [] and len(world.to(MARGARET)) == 1
    assert "escalation not acted on" in [e.action for e in case.events]
    notice = " ".join(world.to(COORDINATOR)[-1].message.get_body(("plain",)).get_content().split())
    assert "our receiving server says this mail's From is forged" in notice
    assert "not escalated; confirm with the complainant, then #stage" in notice
    assert_safe(world)


def test_a_forged_from_replying_by_message_id_with_reply_to_the_attacker_sends_the_attacker_nothing(
    world: World,
) -> None:
    victim = open_margarets_case(world)

    world.send(raw(MARGARET, MARGARET_NAME, "Re: your letter", "Please escalate this to stage 2 now.\n",
                   "<forged-2@evil.example>",
                   [("Reply-To", f"Margaret <{ATTACKER}>"),
                    ("In-Reply-To", victim.ack["Message-ID"])]))  # fmt: skip

    assert world.to(ATTACKER) == []
    assert [m.rcpt_tos for m in world.to(MARGARET)] == [(MARGARET,), (MARGARET,)]
    assert_safe(world)


def test_a_stranger_copying_the_complainant_in_cc_is_not_answered_on_her_case(world: World) -> None:
    victim = open_margarets_case(world)
    before = world.snapshot(victim.ref)

    world.send(raw(subject=f"RE: [{victim.ref}]", headers=[("Cc", MARGARET)]))

    assert_margaret_unchanged(world, before)
    assert len(world.to(MARGARET)) == 1
    assert_safe(world)


def test_the_complainant_still_threads_by_message_id(world: World) -> None:
    victim = open_margarets_case(world)

    world.send(raw(MARGARET, MARGARET_NAME, "Re: your letter", "Nobody has rung me yet.\n",
                   "<margaret-2@example.net>", [("In-Reply-To", victim.ack["Message-ID"])]))  # fmt: skip

    before = len(world.case(victim.ref).correspondence)
    assert world.last_inbound().outcome == f"added to {victim.ref} as reply (threaded by references){TOLD}"
    inbound = [c.message_id for c in world.case(victim.ref).correspondence if c.direction == "in"]
    assert inbound[-1] == "margaret-2@example.net"
    assert before >= 5  # her two mails, our acknowledgement, the coordinator's two notices
    assert_safe(world)


def test_someone_the_coordinator_adds_may_write_on_the_case_and_is_written_to(world: World) -> None:
    victim = open_margarets_case(world)
    advocate = "pat.advocate@advocacy.example"
    command = raw(COORDINATOR, "Priya Shah", f"RE: {victim.notification['Subject']}",
                  f"#party {advocate} Pat Advocate\n", "<priya-1@riverside.example>",
                  [("In-Reply-To", victim.notification["Message-ID"])])  # fmt: skip
    world.send(vouched(command))

    world.send(raw(advocate, "Pat Advocate", "Re: Mrs Jones's complaint",
                   "On Mrs Jones's behalf: we are not satisfied and want to escalate to stage 2.\n",
                   "<pat-1@advocacy.example>", [("In-Reply-To", victim.ack["Message-ID"]),
                                                ("Reply-To", TARGET)]))  # fmt: skip

    letter = world.one_to(advocate)
    assert letter.rcpt_tos == (advocate,) and letter.message["To"] == f"Pat Advocate <{advocate}>"
    assert world.case(victim.ref).stage == "stage2" and world.to(TARGET) == []
    assert_safe(world)


def test_a_party_command_needs_an_address(world: World) -> None:
    victim = open_margarets_case(world)
    command = raw(COORDINATOR, "Priya Shah", f"RE: {victim.notification['Subject']}",
                  "#party Pat Advocate\n", "<priya-2@riverside.example>",
                  [("In-Reply-To", victim.notification["Message-ID"])])  # fmt: skip

    world.send(vouched(command))

    refusal = world.to(COORDINATOR)[-1].message.get_body(("plain",)).get_content()
    assert "#party Pat Advocate: 'Pat' is not an email address" in refusal
    assert_safe(world)


def test_an_unverified_staff_reply_to_the_notice_changes_nothing_and_is_reported(world: World) -> None:
    victim = open_margarets_case(world)
    before = world.snapshot(victim.ref)
    forged = raw(COORDINATOR, "Priya Shah", f"RE: {victim.notification['Subject']}",
                 f"#party {ATTACKER}\n#close\n", "<forged-3@evil.example>",
                 [("In-Reply-To", victim.notification["Message-ID"])])  # fmt: skip

    world.send(forged)

    warning = world.to(COORDINATOR)[-1]
    assert "was not verified" in warning.message["Subject"] and header_names(warning) == [
        *HEAD, *THREAD, *AUTO, *PLAIN
    ]  # fmt: skip
    case = world.case(victim.ref)
    assert world.snapshot(victim.ref)[:3] == before[:3] and case.status == "open"
    assert [c.from_address for c in case.correspondence if c.direction == "in"] == [MARGARET]
    assert world.last_inbound().outcome.startswith(f"unverified staff mail naming {victim.ref}")
    assert_safe(world)


def test_a_letter_on_a_case_to_someone_not_a_party_is_kept_back(world: World) -> None:
    """Whatever asks for it: the outbox keeps the letter, suppressed, with the reason."""
    from mailbot.outgoing.notices import LetterRequest, LetterStatus, send_letter
    from mailbot.outgoing.outbox import Recipient

    victim = open_margarets_case(world)
    with world.app.sessions.begin() as session:
        case = session.scalars(select(Case).where(Case.ref == victim.ref)).one()
        request = LetterRequest("acknowledgement", world.app.clock(), key="x", to=Recipient("", ATTACKER))
        result = send_letter(session, world.app, case, request)
    jobs.poll_cycle(world.app)

    assert (
        result.status is LetterStatus.BLOCKED
        and result.reason == f"{ATTACKER} is not a party to {victim.ref}"
    )
    assert world.to(ATTACKER) == []
    assert_safe(world)


# === 3. Acknowledgements to third parties ===================================================================


def test_a_reply_to_a_third_party_on_a_new_complaint_is_not_followed(world: World) -> None:
    world.send(
        raw(from_header=f"Victim Friend <{ATTACKER}>", headers=[("Reply-To", f"Dear Target <{TARGET}>")])
    )

    ack = world.one_to(ATTACKER)
    assert world.to(TARGET) == [] and ack.message["To"] == f"Victim Friend <{ATTACKER}>"
    assert stranger_case(world).complainant_address == ATTACKER
    assert header_names(ack) == ANSWER
    assert_safe(world, TARGET)


def test_ten_complaints_with_reply_to_plus_tagged_targets_reach_no_target(world: World) -> None:
    for n in range(10):
        world.dovecot.deliver(raw(message_id=f"<m{n}@evil.example>", subject=f"Complaint {n}",
                                  headers=[("Reply-To", f"target+{n}@third.example")]))  # fmt: skip
        world.delivered += 1
    jobs.poll_cycle(world.app)

    assert [m for m in world.smtp.messages if any("third.example" in r for r in m.rcpt_tos)] == []
    assert len(world.to(ATTACKER)) == 3  # the daily cap, counted on the From
    assert_safe(world)


def test_plus_tagged_variants_of_one_address_share_its_daily_cap(world: World) -> None:
    for n in range(10):
        world.dovecot.deliver(raw(f"target+{n}@third.example", "T", f"Complaint {n}", COMPLAINT, f"<t{n}@x>"))
        world.delivered += 1
    jobs.poll_cycle(world.app)

    sent = [m.rcpt_tos for m in world.smtp.messages if any("third.example" in r for r in m.rcpt_tos)]
    assert sent == [("target+0@third.example",), ("target+1@third.example",), ("target+2@third.example",)]
    with world.app.sessions() as session:
        capped = list(session.scalars(select(Outbox.last_error).where(Outbox.state == "suppressed")))
    assert capped == ["daily cap of 3 automatic mails to this address reached"] * 7
    assert_safe(world)


def test_our_own_address_with_a_plus_tag_is_never_answered(world: World) -> None:
    world.send(raw("Complaints+loop@Riverside.example", "Complaints", "Loop", COMPLAINT, "<loop@x>"))

    assert world.to("complaints+loop@riverside.example") == [] and world.to(SHARED) == []
    assert_safe(world)


def test_a_trusted_web_form_acknowledges_the_person_in_its_reply_to(world: World) -> None:
    form = raw(FORMS, "Riverside web form", "Complaint form", COMPLAINT, "<form-1@riverside.example>",
               [("Reply-To", "Ann Other <ann.other@example.net>")])  # fmt: skip
    world.send(vouched(form))

    ack = world.one_to("ann.other@example.net")
    assert ack.message["To"] == "Ann Other <ann.other@example.net>" and world.to(FORMS) == []
    assert stranger_case(world, "ann.other@example.net").complainant_name == "Ann Other"
    assert header_names(ack) == ANSWER
    assert_safe(world)


@pytest.fixture
def world_owning_its_domain(
    tmp_path: Path, dovecot: Dovecot, smtp_server: SmtpCapture, database_url: str, clock: Clock
) -> Iterator[World]:
    """An organisation that lists its whole domain among its own addresses, its web form included."""
    path = write_config(tmp_path, dovecot, smtp_server, database_url, STAFF + INTAKE)
    named = 'from_name = "Riverside Care Trust Complaints"\n'
    path.write_text(path.read_text().replace(named, named + 'own_addresses = ["@riverside.example"]\n'))
    app = build_app(load_config(path, ENVIRON), clock=clock)
    jobs.poll_cycle(app)
    yield World(app, dovecot, smtp_server)
    app.close()


def test_a_trusted_web_form_from_a_domain_of_ours_acknowledges_its_writer_and_nobody_else(
    world_owning_its_domain: World,
) -> None:
    # The form's address is ours (own_address), but the letter goes to the person its Reply-To names: the
    # form is named in reply_to_trusted_senders and our server vouches for it.
    world = world_owning_its_domain
    form = raw(FORMS, "Riverside web form", "Complaint form", COMPLAINT, "<form-3@riverside.example>",
               [("Reply-To", "Ann Other <ann.other@example.net>")])  # fmt: skip
    world.send(vouched(form))

    ack = world.one_to("ann.other@example.net")
    assert ack.message["To"] == "Ann Other <ann.other@example.net>" and world.to(FORMS) == []
    # Unvouched, the same form names nobody we may write to: its own address is ours, so nothing goes.
    world.send(raw(FORMS, "Riverside web form", "Complaint form", COMPLAINT, "<form-4@evil.example>",
                   [("Reply-To", TARGET)]))  # fmt: skip
    assert world.to(TARGET) == [] and world.to(FORMS) == []
    assert_safe(world, TARGET)


NOREPLY_FORM = "noreply@riverside.example"


def test_a_trusted_web_form_sending_from_a_no_reply_address_acknowledges_its_writer(
    make_app: Callable[..., App], dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    # Many web forms send from noreply@: that address takes no replies, but the letter goes to the person the
    # trusted, vouched form names in its Reply-To, so "no reply" does not silence it.
    app = make_app(extra=STAFF + f'\n[intake]\nreply_to_trusted_senders = ["{NOREPLY_FORM}"]\n')
    jobs.poll_cycle(app)
    world = World(app, dovecot, smtp_server)
    form = raw(NOREPLY_FORM, "Riverside web form", "Complaint form", COMPLAINT, "<form-5@riverside.example>",
               [("Reply-To", "Ann Other <ann.other@example.net>")])  # fmt: skip
    world.send(vouched(form))

    ack = world.one_to("ann.other@example.net")
    assert ack.message["To"] == "Ann Other <ann.other@example.net>" and world.to(NOREPLY_FORM) == []
    # Unvouched, the same form is anyone's: nothing goes to its Reply-To, nor to the no-reply address.
    world.send(raw(NOREPLY_FORM, "Riverside web form", "Complaint form", COMPLAINT, "<form-6@evil.example>",
                   [("Reply-To", TARGET)]))  # fmt: skip
    assert world.to(TARGET) == [] and world.to(NOREPLY_FORM) == []
    assert_safe(world, TARGET)


def test_a_forged_web_form_cannot_make_us_write_to_its_reply_to(world: World) -> None:
    world.send(raw(FORMS, "Riverside web form", "Complaint form", COMPLAINT, "<form-2@evil.example>",
                   [("Reply-To", TARGET)]))  # fmt: skip

    assert world.to(TARGET) == []
    assert stranger_case(world, FORMS).complainant_address == FORMS
    assert_safe(world, TARGET)


def test_a_reply_to_on_a_partys_mail_is_not_followed_on_her_case(world: World) -> None:
    victim = open_margarets_case(world)

    world.send(raw(MARGARET, MARGARET_NAME, f"RE: {victim.ack['Subject']}",
                   "I am not satisfied with the outcome and want to take this further.\n",
                   "<margaret-3@example.net>", [("Reply-To", TARGET)]))  # fmt: skip

    assert world.to(TARGET) == [] and len(world.to(MARGARET)) == 2
    assert_safe(world, TARGET)


# === 4. One message reusing another's Message-ID ============================================================


def test_a_safeguarding_disclosure_reusing_another_senders_message_id_is_acted_on(world: World) -> None:
    victim = open_margarets_case(world)
    before = world.snapshot(victim.ref)
    son = "worried.son@example.org"
    world.outsiders.add(son)

    world.send(raw(son, "Worried Son", "My mother at Willow House", SAFEGUARDING, MARGARETS_ID))

    mine = stranger_case(world, son)
    assert "safeguarding" in mine.flags and mine.ref != victim.ref
    alert = world.one_to(SAFEGUARDING_LEAD)
    assert "bruises on both her arms" in alert.message.get_body(("plain",)).get_content()
    ack = world.one_to(son)
    assert ack.message["Subject"].startswith(f"[{mine.ref}]") and header_names(ack) == ANSWER
    outcome = world.last_inbound().outcome
    assert f"note: message 1 from {MARGARET} used this Message-ID before" in outcome
    assert f"message 1 from {MARGARET} used this Message-ID before" in note_to_coordinator(world, mine.ref)
    assert_margaret_unchanged(world, before)
    assert_safe(world)


def test_the_same_mail_fetched_twice_is_a_duplicate(world: World) -> None:
    message = raw()
    world.send(message, message)

    assert len(world.to(ATTACKER)) == 1 and len(world.cases()) == 1
    assert world.last_inbound().outcome.startswith("duplicate of message 1")
    assert_safe(world)


def test_the_same_message_id_from_the_same_sender_with_other_words_is_its_own_message(world: World) -> None:
    world.send(raw(), raw(subject="A different matter", body=COMPLAINT.replace("father", "aunt")))

    assert len(world.cases()) == 2 and len(world.to(ATTACKER)) == 2
    assert "the same sender used this Message-ID before, with other content" in world.last_inbound().outcome
    assert_safe(world)


def test_a_stranger_reusing_our_acknowledgements_message_id_does_not_take_its_replies(world: World) -> None:
    victim = open_margarets_case(world)
    world.send(raw(subject="Hello", message_id=victim.ack["Message-ID"]))

    world.send(raw(MARGARET, MARGARET_NAME, "Re: your letter", "Still no visit today.\n",
                   "<margaret-4@example.net>", [("In-Reply-To", victim.ack["Message-ID"])]))  # fmt: skip

    assert world.last_inbound().outcome == f"added to {victim.ref} as reply (threaded by references){TOLD}"
    assert stranger_case(world).ref != victim.ref
    assert_safe(world)


def test_a_reused_message_id_never_silences_the_complainant(world: World) -> None:
    """A stranger sends first with the id Margaret's mail will carry: hers is still a complaint of her own."""
    world.send(raw(subject="Hello", message_id=MARGARETS_ID))

    world.send(raw(MARGARET, MARGARET_NAME, "Mum's visits", f"I want to complain: {MARGARETS_WORDS}.\n",
                   MARGARETS_ID))  # fmt: skip

    ack = world.one_to(MARGARET)
    case = stranger_case(world, MARGARET)
    assert ack.message["Subject"].startswith(f"[{case.ref}]") and ack.rcpt_tos == (MARGARET,)
    world.victim = Victim(case.ref, ack.message, ack.message)
    assert_safe(world)
