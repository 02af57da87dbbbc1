"""Which case a mail belongs to, on a real SQLite database: the Message-ID chain, a written reference from a
party to the case, and a reference quoted by someone who is not one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from mailbot.cases.parties import add_party
from mailbot.cases.reference import ReferenceFormat
from mailbot.cases.threading import (
    ThreadLookup,
    content_hash,
    find_thread,
    is_party,
    known_message,
    reused_message_id,
)
from mailbot.classify import ThreadMatch
from mailbot.db.models import Case, Correspondence, InboundMessage
from mailbot.db.session import make_engine, make_sessionmaker, upgrade
from mailbot.intake.parse import ParsedMail, parse_mail
from mailbot.vocabulary import CaseStatus, InboundState, Kind
from tests.mails import mail

REFS = ReferenceFormat("CMP-{year}-{seq:04d}")
RECEIVED = datetime(2025, 3, 3, 9, 15, tzinfo=UTC)
COMPLAINANT = "sarah.jones@example.co.uk"
STRANGER = "someone.else@example.net"
OUR_ACKNOWLEDGEMENT = "ack.CMP-2025-0007@riverside.example"


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    engine = make_engine(f"sqlite:///{tmp_path / 'threading.db'}")
    upgrade(engine)
    with make_sessionmaker(engine)() as session:
        yield session
    engine.dispose()


def open_case(session: Session, ref: str, complainant: str = COMPLAINANT) -> Case:
    case = Case(
        ref=ref,
        kind=Kind.COMPLAINT,
        policy="lgsco-hos-code",
        stage="stage_1",
        status=CaseStatus.OPEN,
        mailbox="complaints",
        subject="Missed care visits",
        complainant_name="Sarah Jones",
        complainant_address=complainant,
        received_at=RECEIVED,
    )
    session.add(case)
    session.flush()
    return case


def correspondence(
    session: Session, case: Case, direction: str, from_address: str, message_id: str
) -> Correspondence:
    entry = Correspondence(
        case_id=case.id,
        direction=direction,
        kind=Kind.COMPLAINT if direction == "in" else "acknowledgement",
        from_address=from_address,
        subject=f"[{case.ref}] Missed care visits",
        date=RECEIVED,
        new_text="",
        message_id=message_id,
    )
    session.add(entry)
    session.flush()
    return entry


def reply(sender: str = COMPLAINANT, **fields: str) -> ParsedMail:
    return parse_mail(mail(sender=sender, body="Thank you, but nobody has rung me yet.", **fields))


def test_a_reply_threads_by_in_reply_to_our_acknowledgement(session: Session) -> None:
    case = open_case(session, "CMP-2025-0007")
    correspondence(session, case, "out", "complaints@riverside.example", OUR_ACKNOWLEDGEMENT)

    lookup = find_thread(
        session, reply(subject="Re: your letter", in_reply_to=f"<{OUR_ACKNOWLEDGEMENT}>"), REFS
    )

    assert lookup == ThreadLookup(ThreadMatch("CMP-2025-0007", "references"))


def test_a_reply_threads_by_references_when_in_reply_to_is_unknown(session: Session) -> None:
    case = open_case(session, "CMP-2025-0007")
    correspondence(session, case, "in", COMPLAINANT, "first.complaint@example.co.uk")

    lookup = find_thread(
        session,
        reply(
            subject="Still waiting",
            in_reply_to="<not.ours@elsewhere.example>",
            references="<first.complaint@example.co.uk> <not.ours@elsewhere.example>",
        ),
        REFS,
    )

    assert lookup.match == ThreadMatch("CMP-2025-0007", "references")


def test_the_message_id_chain_is_preferred_to_a_reference_in_the_subject(session: Session) -> None:
    chained = open_case(session, "CMP-2025-0007")
    open_case(session, "CMP-2025-0008")
    correspondence(session, chained, "out", "complaints@riverside.example", OUR_ACKNOWLEDGEMENT)

    mail_ = reply(subject="RE: [CMP-2025-0008] Missed visits", in_reply_to=f"<{OUR_ACKNOWLEDGEMENT}>")

    assert find_thread(session, mail_, REFS).match == ThreadMatch("CMP-2025-0007", "references")


@pytest.mark.parametrize(
    "subject",
    [
        "RE: [CMP-2025-0007] Missed care visits",
        "AW: AW: [CMP-2025-0007] Missed care visits",
        "FW: RE: Missed care visits [CMP-2025-0007]",
        "WG: Antwort: [cmp-2025-0007] Missed care visits",
        "RE: Missed care visits (ref CMP-2025-0007)",
    ],
)
def test_a_reference_in_the_subject_survives_reply_and_forward_prefixes(
    session: Session, subject: str
) -> None:
    open_case(session, "CMP-2025-0007")

    lookup = find_thread(session, reply(subject=subject), REFS)

    assert lookup == ThreadLookup(ThreadMatch("CMP-2025-0007", "subject"))


def test_a_reference_in_the_body_threads_when_the_subject_lost_it(session: Session) -> None:
    open_case(session, "CMP-2025-0007")
    mail_ = parse_mail(
        mail(sender=COMPLAINANT, subject="Re:", body="About my complaint CMP-2025-0007: no call.")
    )

    assert find_thread(session, mail_, REFS).match == ThreadMatch("CMP-2025-0007", "body")


def test_a_reference_quoted_by_someone_not_a_party_is_refused_and_says_why(session: Session) -> None:
    open_case(session, "CMP-2025-0007")

    lookup = find_thread(session, reply(sender=STRANGER, subject="RE: [CMP-2025-0007] Missed visits"), REFS)

    assert lookup.match is None
    assert lookup.refused == (
        f"CMP-2025-0007 quoted in the subject by {STRANGER}, who is not a party to that case"
    )


def test_staff_our_server_vouches_for_may_quote_any_reference(session: Session) -> None:
    open_case(session, "CMP-2025-0007")
    mail_ = reply(sender="priya.shah@riverside.example", subject="RE: [CMP-2025-0007] Missed visits")

    assert find_thread(session, mail_, REFS, staff=True).match == ThreadMatch("CMP-2025-0007", "subject")


def test_the_complainant_and_someone_a_coordinator_added_are_parties(session: Session) -> None:
    case = open_case(session, "CMP-2025-0007")
    add_party(session, case, "Advocate@Example.org", "Pat Advocate", "priya.shah@riverside.example", RECEIVED)

    assert is_party(session, case, "advocate@example.org")
    assert is_party(session, case, COMPLAINANT.upper())
    assert not is_party(session, case, STRANGER)
    assert not is_party(session, case, "")  # a mail with no readable sender is nobody's party
    assert not is_party(session, case, "sarah.jones+x@example.co.uk")  # the address recorded, not a variant


def test_writing_on_a_case_does_not_make_someone_a_party(session: Session) -> None:
    """It did once: a stranger whose mail reached a case (by a copied Message-ID) became a party for good."""
    case = open_case(session, "CMP-2025-0007")
    correspondence(session, case, "in", "Someone@Example.org", "their.letter@example.org")

    assert not is_party(session, case, "someone@example.org")


def test_being_written_to_on_the_case_does_not_make_someone_a_party(session: Session) -> None:
    case = open_case(session, "CMP-2025-0007")
    correspondence(session, case, "out", STRANGER, "letter.from.us@riverside.example")

    assert not is_party(session, case, STRANGER)


def test_a_plus_address_threads_for_a_party(session: Session) -> None:
    open_case(session, "CMP-2025-0007")
    mail_ = reply(subject="Another thing", to="complaints+CMP-2025-0007@riverside.example")

    assert find_thread(session, mail_, REFS) == ThreadLookup(ThreadMatch("CMP-2025-0007", "plus_address"))


def test_a_plus_address_is_refused_for_a_stranger(session: Session) -> None:
    open_case(session, "CMP-2025-0007")
    mail_ = reply(sender=STRANGER, subject="Hello", to="complaints+CMP-2025-0007@riverside.example")

    lookup = find_thread(session, mail_, REFS)

    assert lookup.match is None
    assert lookup.refused is not None and "quoted in the plus_address" in lookup.refused


def test_a_stranger_refused_on_one_case_still_threads_into_their_own(session: Session) -> None:
    open_case(session, "CMP-2025-0007")
    open_case(session, "CMP-2025-0008", complainant=STRANGER)
    mail_ = reply(sender=STRANGER, subject="RE: [CMP-2025-0007] and [CMP-2025-0008]")

    assert find_thread(session, mail_, REFS).match == ThreadMatch("CMP-2025-0008", "subject")


@pytest.mark.parametrize(
    "fields",
    [
        {"subject": "Missed care visits"},
        {"subject": "RE: [CMP-2025-0999] no such case"},
        {"subject": "Re: hello", "in_reply_to": "<unknown@elsewhere.example>"},
        {"subject": "Re: hello", "to": "complaints+newsletter@riverside.example"},
    ],
)
def test_no_match_is_no_thread_and_no_refusal(session: Session, fields: dict[str, str]) -> None:
    open_case(session, "CMP-2025-0007")

    assert find_thread(session, reply(**fields), REFS) == ThreadLookup(None, None)


def test_a_message_id_of_ours_quoted_by_a_stranger_is_refused_and_says_why(session: Session) -> None:
    case = open_case(session, "CMP-2025-0007")
    correspondence(session, case, "out", "complaints@riverside.example", OUR_ACKNOWLEDGEMENT)

    lookup = find_thread(session, reply(sender=STRANGER, in_reply_to=f"<{OUR_ACKNOWLEDGEMENT}>"), REFS)

    assert lookup == ThreadLookup(
        None,
        f"CMP-2025-0007 quoted in the In-Reply-To/References headers by {STRANGER}, "
        "who is not a party to that case",
        "CMP-2025-0007",
    )


def test_a_message_id_on_two_cases_threads_into_the_one_the_sender_is_party_to(session: Session) -> None:
    """A stranger reused the complainant's Message-ID on a mail of their own: the chain names both cases."""
    theirs = open_case(session, "CMP-2025-0007")
    correspondence(session, theirs, "in", COMPLAINANT, "first.complaint@example.co.uk")
    strangers = open_case(session, "CMP-2025-0008", complainant=STRANGER)
    correspondence(session, strangers, "in", STRANGER, "first.complaint@example.co.uk")

    mail_ = reply(subject="Still waiting", references="<first.complaint@example.co.uk>")

    assert find_thread(session, mail_, REFS).match == ThreadMatch("CMP-2025-0007", "references")


def test_staff_our_server_vouches_for_may_thread_by_message_id(session: Session) -> None:
    case = open_case(session, "CMP-2025-0007")
    correspondence(session, case, "out", "complaints@riverside.example", OUR_ACKNOWLEDGEMENT)
    mail_ = reply(sender="priya.shah@riverside.example", in_reply_to=f"<{OUR_ACKNOWLEDGEMENT}>")

    assert find_thread(session, mail_, REFS, staff=True).match == ThreadMatch("CMP-2025-0007", "references")


def inbound(
    session: Session,
    uid: int,
    message_id: str | None,
    sha256: str,
    state: str,
    sender: str = COMPLAINANT,
    content: str = "c" * 64,
) -> InboundMessage:
    row = InboundMessage(
        mailbox="complaints",
        folder="INBOX",
        uidvalidity=1,
        uid=uid,
        message_id=message_id,
        sha256=sha256,
        sender=sender,
        content_sha256=content,
        raw=b"",
        received_at=RECEIVED,
        fetched_at=RECEIVED,
        state=state,
    )
    session.add(row)
    session.flush()
    return row


def test_the_same_mail_again_is_known_by_its_message_id_sender_and_content(session: Session) -> None:
    """The same mail in two mailboxes: the bytes differ (trace headers), what it says does not."""
    earlier = inbound(session, 1, "same@example.net", "a" * 64, InboundState.PROCESSED)
    again = inbound(session, 2, "same@example.net", "b" * 64, InboundState.FETCHED)
    other = inbound(session, 3, "other@example.net", "b" * 64, InboundState.FETCHED)

    assert known_message(session, again) == earlier
    assert known_message(session, other) is None


@pytest.mark.parametrize(
    ("sender", "content"), [(STRANGER, "c" * 64), (COMPLAINANT, "d" * 64), (STRANGER, "d" * 64)]
)
def test_a_reused_message_id_from_another_sender_or_with_other_content_is_not_known(
    session: Session, sender: str, content: str
) -> None:
    earlier = inbound(session, 1, "same@example.net", "a" * 64, InboundState.PROCESSED)
    reuse = inbound(session, 2, "same@example.net", "b" * 64, InboundState.FETCHED, sender, content)

    assert known_message(session, reuse) is None
    assert reused_message_id(session, reuse) == earlier


def test_a_mail_without_message_id_is_known_by_its_bytes(session: Session) -> None:
    earlier = inbound(session, 1, None, "a" * 64, InboundState.PROCESSED)
    again = inbound(session, 2, None, "a" * 64, InboundState.FETCHED, STRANGER, "d" * 64)

    assert known_message(session, again) == earlier
    assert reused_message_id(session, again) is None


def test_a_shunted_copy_that_made_no_case_does_not_count_as_known(session: Session) -> None:
    inbound(session, 1, "same@example.net", "a" * 64, InboundState.SHUNTED)
    again = inbound(session, 2, "same@example.net", "a" * 64, InboundState.FETCHED)

    assert known_message(session, again) is None


def test_the_content_hash_reads_what_the_mail_says_not_its_trace_headers() -> None:
    raw = mail(message_id="<same@example.net>")
    relayed = (
        b"Received: from mx2.example.net by mx.riverside.example; Mon, 1 Dec 2025 09:00:00 +0000\r\n" + raw
    )
    other_words = mail(message_id="<same@example.net>", body="Something else entirely.\n")

    assert content_hash(parse_mail(relayed)) == content_hash(parse_mail(raw))
    assert content_hash(parse_mail(other_words)) != content_hash(parse_mail(raw))


@pytest.mark.parametrize(
    ("subject", "bare"),
    [
        ("RE: Missed visits", "Missed visits"),
        ("AW: WG: Fehlende Besuche", "Fehlende Besuche"),
        ("SV: Manglende besøk", "Manglende besøk"),
        ("Antw: Gemiste bezoeken", "Gemiste bezoeken"),
        ("VS: Puuttuneet käynnit", "Puuttuneet käynnit"),
        ("Odp: Brakujące wizyty", "Brakujące wizyty"),
        ("Re[2]: FW : Missed visits", "Missed visits"),
        ("Re\uff1aMissed visits", "Missed visits"),  # a full-width colon, as East Asian Outlook writes it
        ("Revisit times", "Revisit times"),  # a word that starts like a prefix is not one
        ("Odpowiedź w sprawie", "Odpowiedź w sprawie"),
        ("RE:", "RE:"),
    ],
)
def test_outlooks_localised_reply_prefixes_are_not_part_of_a_cases_subject(subject: str, bare: str) -> None:
    from mailbot.intake.subjects import without_reply_prefixes

    assert without_reply_prefixes(subject) == bare
