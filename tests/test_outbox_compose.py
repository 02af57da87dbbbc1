"""The outbox without mail servers: the headers of a composed letter as a mail client and a receiving server
read them, Message-IDs, and who automatic mail must never go to (our own addresses, system senders, more than
the daily cap). The outbox rows live in an in-memory SQLite database built by the migrations."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from mailbot.config.settings import Config, load_config
from mailbot.db.session import make_engine, make_sessionmaker, upgrade
from mailbot.outgoing.letters import Letter
from mailbot.outgoing.outbox import (
    Recipient,
    Threading,
    automatic_block_reason,
    compose,
    outgoing_message_id,
    queue,
    refusal_reason,
)

NOW = datetime(2026, 5, 6, 9, 30, tzinfo=UTC)
JO = Recipient("Jo Bloggs", "jo.bloggs@example.net")
REF = "CMP-2026-0042"
KEY = bytes.fromhex("5e" * 32)  # an installation's secret (db.installation.message_id_key)
WELSH = "Ymateb i\u2019ch cwyn \u2013 your complaint"  # a typographic apostrophe and an en dash
LETTER = Letter(
    subject=f"[{REF}] We have received your complaint",
    text="Dear Jo Bloggs,\n\nThank you for writing to us.\n",
    html="<p>Dear Jo Bloggs,</p><p>Thank you for writing to us.</p>",
)
CONFIG = """
[organisation]
name = "Riverside Care Trust"
from_address = "complaints@riverside.example"
from_name = "Riverside Care Trust Complaints"
own_addresses = ["Feedback@Riverside.example"]
{domain}

[delivery]
max_automatic_per_address_per_day = 2

[smtp]
host = "127.0.0.1"
tls = "none"

[[mailbox]]
name = "complaints"
host = "127.0.0.1"
tls = "none"
username = "intake@riverside.example"
password_env = "UNUSED"
"""


def config_with(tmp_path: Path, domain: str = "") -> Config:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(domain=domain), encoding="utf-8")
    return load_config(path, {})


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return config_with(tmp_path)


@pytest.fixture
def session() -> Iterator[Session]:
    engine = make_engine("sqlite://")
    upgrade(engine)
    with make_sessionmaker(engine).begin() as session:
        yield session
    engine.dispose()


def composed(
    config: Config,
    thread: Threading | None = None,
    letter: Letter = LETTER,
    to: Recipient = JO,
    auto_submitted: str | None = "auto-replied",
) -> EmailMessage:
    """An acknowledgement to Jo, unless the test says otherwise."""
    message_id = outgoing_message_id(KEY, "acknowledgement", REF, "inbound-1", config.organisation.domain)
    return compose(config, to, letter, message_id, thread or Threading(), NOW, auto_submitted=auto_submitted)


def as_received(message: EmailMessage) -> EmailMessage:
    """The message as the receiving server and the recipient's client read it, from the bytes we send."""
    parsed = message_from_bytes(message.raw, policy=email_policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def text_of(part: EmailMessage | None) -> str:
    """A text part's words as a client shows them: the wire's CRLF line ends read as line ends."""
    assert part is not None
    return part.get_content().replace("\r\n", "\n")


# --- compose: the headers ----------------------------------------------------------------------------------


def test_a_letter_is_from_the_organisation_to_the_complainant_under_its_subject(config: Config) -> None:
    received = as_received(composed(config))

    assert received["From"] == "Riverside Care Trust Complaints <complaints@riverside.example>"
    assert received["To"] == "Jo Bloggs <jo.bloggs@example.net>"
    assert received["Subject"] == "[CMP-2026-0042] We have received your complaint"
    assert received["Date"] == "Wed, 06 May 2026 09:30:00 +0000"
    assert received["Date"].datetime == NOW


def test_the_message_id_is_ours_on_the_organisation_domain(config: Config) -> None:
    received = as_received(composed(config))

    assert re.fullmatch(r"<[0-9a-f]{32}@riverside\.example>", received["Message-ID"])


def test_the_message_id_follows_a_configured_domain(tmp_path: Path) -> None:
    config = config_with(tmp_path, domain='domain = "mail.riverside.example"')

    received = as_received(composed(config))

    assert received["Message-ID"].endswith("@mail.riverside.example>")
    assert received["From"] == "Riverside Care Trust Complaints <complaints@riverside.example>"


def test_a_reply_names_the_mail_it_answers_and_the_chain_before_it(config: Config) -> None:
    thread = Threading("jo-2@mail.example.net", ("jo-1@mail.example.net", "ack-1@riverside.example"))

    received = as_received(composed(config, thread))

    assert received["In-Reply-To"] == "<jo-2@mail.example.net>"
    assert received["References"] == (
        "<jo-1@mail.example.net> <ack-1@riverside.example> <jo-2@mail.example.net>"
    )


def test_the_mail_answered_is_named_once_in_the_references(config: Config) -> None:
    thread = Threading("jo-2@mail.example.net", ("jo-1@mail.example.net", "jo-2@mail.example.net"))

    received = as_received(composed(config, thread))

    assert received["References"] == "<jo-1@mail.example.net> <jo-2@mail.example.net>"


def test_a_long_chain_keeps_the_newest_twenty_references(config: Config) -> None:
    chain = tuple(f"m{n}@mail.example.net" for n in range(1, 31))
    thread = Threading("m31@mail.example.net", chain)

    references = as_received(composed(config, thread))["References"].split()

    assert len(references) == 20
    assert references[0] == "<m12@mail.example.net>"
    assert references[-1] == "<m31@mail.example.net>"


def test_references_without_an_in_reply_to_are_kept(config: Config) -> None:
    received = as_received(composed(config, Threading(None, ("jo-1@mail.example.net",))))

    assert "In-Reply-To" not in received
    assert received["References"] == "<jo-1@mail.example.net>"


def test_a_letter_that_answers_nothing_has_no_threading_headers(config: Config) -> None:
    received = as_received(composed(config))

    assert "In-Reply-To" not in received
    assert "References" not in received


def test_automatic_mail_says_so_and_asks_not_to_be_answered_automatically(config: Config) -> None:
    received = as_received(composed(config))

    assert received["Auto-Submitted"] == "auto-replied"
    assert received["X-Auto-Response-Suppress"] == "All"


def test_an_alert_that_answers_no_mail_is_auto_generated(config: Config) -> None:
    received = as_received(composed(config, auto_submitted="auto-generated"))

    assert received["Auto-Submitted"] == "auto-generated"
    assert received["X-Auto-Response-Suppress"] == "All"


def test_a_letter_staff_wrote_is_not_marked_automatic(config: Config) -> None:
    received = as_received(composed(config, auto_submitted=None))

    assert "Auto-Submitted" not in received
    assert "X-Auto-Response-Suppress" not in received


# --- compose: the body -------------------------------------------------------------------------------------


def test_a_letter_with_html_carries_the_text_part_first(config: Config) -> None:
    received = as_received(composed(config))

    assert received.get_content_type() == "multipart/alternative"
    parts = [part.get_content_type() for part in received.iter_parts()]
    assert parts == ["text/plain", "text/html"]  # clients show the last they can; text is always there
    assert text_of(received.get_body(("plain",))) == LETTER.text


def test_a_letter_without_html_is_plain_text_only(config: Config) -> None:
    plain = Letter(LETTER.subject, LETTER.text, None)

    received = as_received(composed(config, letter=plain))

    assert received.get_content_type() == "text/plain"
    assert text_of(received) == LETTER.text


def test_names_and_subjects_outside_ascii_arrive_as_written(config: Config) -> None:
    letter = Letter(f"[{REF}] {WELSH}", "Annwyl Zoë,\n", None)
    zoe = Recipient("Zoë Ó Briain", "zoe@example.net")

    message = composed(config, letter=letter, to=zoe)
    received = as_received(message)

    head = message.raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()  # encoded words: no server has to guess a header's charset
    assert received["To"].addresses[0].display_name == "Zoë Ó Briain"
    assert received["Subject"] == f"[{REF}] {WELSH}"
    assert text_of(received) == "Annwyl Zoë,\n"


def test_a_long_subject_is_one_line_on_the_wire(config: Config) -> None:
    subject = f"[{REF}] " + "We have received your complaint about the home care visits in Northwich " * 2
    letter = Letter(subject.strip(), LETTER.text, None)

    wire = composed(config, letter=letter).raw

    assert f"\r\nSubject: {subject.strip()}\r\n".encode() in wire  # no fold, so no stray leading space
    assert b"\n" not in wire.replace(b"\r\n", b"")  # CRLF line ends throughout, as SMTP wants


# --- outgoing_message_id ----------------------------------------------------------------------------------


def test_the_same_letter_for_the_same_cause_always_has_the_same_message_id() -> None:
    first = outgoing_message_id(KEY, "acknowledgement", REF, "inbound-1", "riverside.example")

    assert outgoing_message_id(KEY, "acknowledgement", REF, "inbound-1", "riverside.example") == first


@pytest.mark.parametrize(
    ("purpose", "ref", "key"),
    [
        ("acknowledgement", REF, "inbound-2"),  # another mail answered
        ("outcome", REF, "inbound-1"),  # another letter
        ("acknowledgement", "CMP-2026-0043", "inbound-1"),  # another case
    ],
)
def test_a_different_letter_or_cause_has_a_different_message_id(purpose: str, ref: str, key: str) -> None:
    first = outgoing_message_id(KEY, "acknowledgement", REF, "inbound-1", "riverside.example")

    assert outgoing_message_id(KEY, purpose, ref, key, "riverside.example") != first


def test_a_message_id_names_neither_the_case_nor_the_letter() -> None:
    """Nothing in it tells a reader which case it is about; it was cmp-2026-0042.acknowledgem.<12 hex> once,
    which anyone could compute from a reference and so thread into the case."""
    message_id = outgoing_message_id(KEY, "acknowledgement", REF, "inbound-1", "riverside.example")

    assert re.fullmatch(r"[0-9a-f]{32}@riverside\.example", message_id)


def test_without_the_installation_s_key_a_message_id_cannot_be_computed() -> None:
    ours = outgoing_message_id(KEY, "acknowledgement", REF, "inbound-1", "riverside.example")

    for guessed_key in (b"", bytes(32), bytes.fromhex("5f" * 32)):
        assert (
            outgoing_message_id(guessed_key, "acknowledgement", REF, "inbound-1", "riverside.example") != ours
        )


# --- refusal_reason: addresses no mail goes to ------------------------------------------------------------


@pytest.mark.parametrize("address", ["", "   ", "jo.bloggs.example.net"])
def test_no_mail_goes_to_something_that_is_not_an_address(config: Config, address: str) -> None:
    assert refusal_reason(config, address) == "no usable address"


@pytest.mark.parametrize(
    "address",
    [
        "complaints@riverside.example",  # the address we send from
        "  Complaints@RIVERSIDE.example ",
        "feedback@riverside.example",  # listed in own_addresses
        "intake@riverside.example",  # a mailbox we read
    ],
)
def test_no_mail_goes_to_our_own_addresses(config: Config, address: str) -> None:
    assert refusal_reason(config, address) == "our own address"


@pytest.mark.parametrize(
    "address",
    [
        "noreply@care-agency.example",
        "no-reply@care-agency.example",
        "No_Reply@care-agency.example",
        "no.reply@care-agency.example",
        "noreply+complaints@care-agency.example",
        "do-not-reply@council.example",
        "donotreply@council.example",
        "MAILER-DAEMON@mx.example.net",
        "mailer_daemon@mx.example.net",
        "postmaster@example.net",
        "bounce@lists.example.org",
        "bounces+jo=example.net@lists.example.org",
        "bounce-123-456@mailer.example.com",
        "auto-reply@helpdesk.example",
        "autoreply@helpdesk.example",
    ],
)
def test_no_mail_goes_to_no_reply_or_system_addresses(config: Config, address: str) -> None:
    assert refusal_reason(config, address) == "a no-reply or system address"


@pytest.mark.parametrize(
    "address",
    [
        "jo.bloggs@example.net",
        "reply@example.net",
        "jo.noreply@example.net",  # the system word is not at the start
        "bouncer@gym.example",  # a longer word that begins like one
        "postmasters-guild@example.org",
        "priya.shah@riverside.example",  # a colleague is not one of the organisation's own mailboxes
    ],
)
def test_people_s_addresses_are_not_refused(config: Config, address: str) -> None:
    assert refusal_reason(config, address) is None


# --- automatic_block_reason: the refusals above and the daily cap -----------------------------------------


def mail_to(
    session: Session,
    config: Config,
    address: str,
    at: datetime,
    automatic: bool = True,
    state: str = "pending",
) -> None:
    """One mail in the outbox, queued as the bot queues it, then moved to ``state``."""
    key = f"{address}-{at.isoformat()}-{automatic}-{state}"
    message_id = outgoing_message_id(KEY, "acknowledgement", REF, key, config.organisation.domain)
    message = compose(config, Recipient("", address), LETTER, message_id, Threading(), at)
    row = queue(
        session, config, purpose="acknowledgement", mailbox="complaints", message=message,
        recipients=[address], now=at, case_id=None, automatic=automatic,
    )  # fmt: skip
    row.state = state
    session.flush()


def test_automatic_mail_is_refused_where_any_mail_would_be(config: Config, session: Session) -> None:
    assert automatic_block_reason(session, config, "complaints@riverside.example", NOW) == "our own address"
    assert automatic_block_reason(session, config, "MAILER-DAEMON@mx.example.net", NOW) == (
        "a no-reply or system address"
    )


def test_automatic_mail_goes_up_to_the_daily_cap_and_no_further(config: Config, session: Session) -> None:
    address = JO.address
    assert automatic_block_reason(session, config, address, NOW) is None
    mail_to(session, config, address, NOW - timedelta(hours=5))
    assert automatic_block_reason(session, config, address, NOW) is None

    mail_to(session, config, address, NOW - timedelta(hours=1))

    assert automatic_block_reason(session, config, address, NOW) == (
        "daily cap of 2 automatic mails to this address reached"
    )
    assert automatic_block_reason(session, config, "  Jo.Bloggs@Example.NET", NOW) == (
        "daily cap of 2 automatic mails to this address reached"
    )
    assert automatic_block_reason(session, config, "sam.jones@example.net", NOW) is None


@pytest.mark.parametrize("state", ["pending", "sending", "sent", "held"])
def test_mail_on_its_way_or_gone_counts_towards_the_cap(config: Config, session: Session, state: str) -> None:
    mail_to(session, config, JO.address, NOW - timedelta(hours=2), state=state)
    mail_to(session, config, JO.address, NOW - timedelta(hours=1), state=state)

    assert automatic_block_reason(session, config, JO.address, NOW) is not None


@pytest.mark.parametrize("state", ["failed", "suppressed"])
def test_mail_that_never_left_does_not_count(config: Config, session: Session, state: str) -> None:
    mail_to(session, config, JO.address, NOW - timedelta(hours=2), state=state)
    mail_to(session, config, JO.address, NOW - timedelta(hours=1), state=state)

    assert automatic_block_reason(session, config, JO.address, NOW) is None


def test_letters_staff_wrote_do_not_count(config: Config, session: Session) -> None:
    mail_to(session, config, JO.address, NOW - timedelta(hours=2), automatic=False)
    mail_to(session, config, JO.address, NOW - timedelta(hours=1), automatic=False)

    assert automatic_block_reason(session, config, JO.address, NOW) is None


def test_the_cap_counts_the_last_twenty_four_hours(config: Config, session: Session) -> None:
    mail_to(session, config, JO.address, NOW - timedelta(days=1))  # exactly a day ago: outside
    mail_to(session, config, JO.address, NOW - timedelta(hours=30))
    mail_to(session, config, JO.address, NOW - timedelta(hours=23, minutes=59))
    assert automatic_block_reason(session, config, JO.address, NOW) is None

    mail_to(session, config, JO.address, NOW - timedelta(minutes=1))

    assert automatic_block_reason(session, config, JO.address, NOW) is not None


# --- compose: values that came in a mail -----------------------------------------------------------------

HOSTILE_IDS = (
    "=?utf-8?q?x=0D=0AReply-To:_attacker@evil.example?=@evil.example",
    "x@evil.example>\r\nBcc: attacker@evil.example",
    "a" * 300 + "@evil.example",
)


def header_names(wire: bytes) -> list[bytes]:
    head = wire.split(b"\r\n\r\n", 1)[0]
    return [line.split(b":", 1)[0] for line in head.split(b"\r\n") if not line.startswith((b" ", b"\t"))]


@pytest.mark.parametrize("hostile", HOSTILE_IDS)
def test_thread_ids_that_are_not_msg_ids_never_reach_a_header(config: Config, hostile: str) -> None:
    thread = Threading(hostile, (hostile, "jo-1@mail.example.net"))

    wire = composed(config, thread).raw

    assert b"attacker" not in wire and b"aaaa" not in wire
    assert b"\r\nReferences: <jo-1@mail.example.net>\r\n" in wire
    assert b"In-Reply-To" not in wire  # the one it answers was not a msg-id: no header rather than a bad one
    assert sorted(set(header_names(wire))) == sorted(
        {b"From", b"To", b"Subject", b"Date", b"Message-ID", b"References", b"Auto-Submitted",
         b"X-Auto-Response-Suppress", b"MIME-Version", b"Content-Type"}
    )  # fmt: skip


def test_a_name_and_subject_from_a_mail_cannot_add_lines_or_overlong_ones(config: Config) -> None:
    name = "Jo\r\nBcc: attacker@evil.example " + "Bloggs " * 800
    subject = "[CMP-2026-0042] " + "x" * 20_000 + "\r\nReply-To: attacker@evil.example"
    message = composed(config, letter=Letter(subject, "Hello\n", None), to=Recipient(name, JO.address))

    wire, received = message.raw, as_received(message)

    assert all(len(line) <= 998 for line in wire.split(b"\r\n"))
    assert received["Reply-To"] is None and received["Bcc"] is None and b"attacker" not in wire
    assert received["To"].addresses[0].addr_spec == "jo.bloggs@example.net"
    assert len(received["To"].addresses[0].display_name) <= 64
    assert received["Subject"].startswith("[CMP-2026-0042] xxx") and len(received["Subject"]) == 200


def test_a_letter_to_an_address_that_is_not_one_names_nobody(config: Config) -> None:
    bad = Recipient("Jo", "jo@example.net\r\nBcc: attacker@evil.example")

    received = as_received(composed(config, to=bad))

    assert received["To"] == "undisclosed-recipients:;" and received["Bcc"] is None
    assert refusal_reason(config, bad.address) == "no usable address"


@pytest.mark.parametrize("address", ["Complaints+loop@riverside.example", "feedback+x@RIVERSIDE.example"])
def test_our_own_addresses_are_ours_with_any_plus_tag(config: Config, address: str) -> None:
    assert refusal_reason(config, address) == "our own address"


def test_plus_tags_of_one_mailbox_share_its_daily_cap(config: Config, session: Session) -> None:
    mail_to(session, config, "target+1@third.example", NOW - timedelta(hours=2))
    mail_to(session, config, "Target+2@third.example", NOW - timedelta(hours=1))

    for variant in ("target@third.example", "target+3@third.example", "TARGET+9@Third.Example"):
        assert automatic_block_reason(session, config, variant, NOW) == (
            "daily cap of 2 automatic mails to this address reached"
        )


@pytest.mark.parametrize("value", ["Hello\r\nBcc: someone@example.org", "Hello\nBcc: x@example.org", "a\0b"])
def test_a_header_value_that_would_start_another_header_is_refused_on_the_wire(value: str) -> None:
    """The last guard behind mailbot.checked: the wire writer never writes a line break into a header."""
    from mailbot.outgoing.wire import folded_ids, header

    with pytest.raises(ValueError, match="Subject"):
        header("Subject", value)
    with pytest.raises(ValueError, match="References"):
        folded_ids("References", ["<a@example.org>", f"<{value}@example.org>"])
