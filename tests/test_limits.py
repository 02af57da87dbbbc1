"""The limits that make every value of a mail storable: each fits the column it reaches (db/models.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from mailbot import checked
from mailbot.db.models import Attachment, Case, Correspondence, InboundMessage, Outbox
from mailbot.intake import limits
from mailbot.intake.headers import Address
from mailbot.intake.parse import parse_mail


def test_every_limit_fits_the_column_its_value_reaches() -> None:
    def length(column: object) -> int:
        return column.property.columns[0].type.length  # type: ignore[attr-defined]

    assert length(Case.complainant_name) >= limits.NAME_LIMIT
    for column in (Case.complainant_address, Correspondence.from_address, Outbox.recipient):
        assert length(column) >= checked.ADDRESS_LIMIT
    for column in (InboundMessage.message_id, Correspondence.message_id, Correspondence.in_reply_to):
        assert length(column) >= checked.MESSAGE_ID_LIMIT
    assert length(Attachment.content_type) >= limits.CONTENT_TYPE_LIMIT


def test_an_over_long_or_invalid_message_id_is_dropped_with_a_note() -> None:
    notes: list[str] = []
    assert limits.message_id("x" * 300 + "@example.net", notes) is None
    assert limits.message_id("ok@example.net", notes) == "ok@example.net"
    assert notes == ["Message-ID dropped: not a valid msg-id of at most 250 characters"]


def test_names_are_cut_and_addresses_over_the_limit_dropped() -> None:
    notes: list[str] = []
    kept = limits.address(Address("N" * 500, "jane@example.net"), notes, "From")
    assert kept is not None and len(kept.name) == limits.NAME_LIMIT and kept.email == "jane@example.net"
    dropped = limits.address(Address("Jane", "j" * 300 + "@example.net"), notes, "Reply-To")
    assert dropped == Address("Jane", "")
    assert len(notes) == 2


def test_text_loses_nul_and_unpaired_surrogates_only() -> None:
    assert limits.storable("a\x00b") == "ab"
    assert limits.storable("Ren\udce9e") == "Ren?e"
    assert limits.storable("Renée ✓") == "Renée ✓"


def test_a_sent_date_outside_sensible_years_is_ignored() -> None:
    notes: list[str] = []
    assert limits.sent_date(datetime(9999, 1, 1, tzinfo=UTC), notes) is None
    assert limits.sent_date(datetime(2026, 11, 23, tzinfo=UTC), notes) is not None
    assert len(notes) == 1


def test_an_error_kept_with_a_shunted_message_is_bounded_at_both_ends() -> None:
    text = limits.error_text("start\x00" + "x" * 100_000 + "the real error")
    assert (
        len(text) <= limits.ERROR_LIMIT + 3 and text.startswith("start") and text.endswith("the real error")
    )


def test_parse_reports_what_it_cut() -> None:
    raw = (
        b"From: " + b"N" * 400 + b" <jane@example.net>\r\nTo: complaints@riverside.example\r\n"
        b"Message-ID: <" + b"x" * 400 + b"@example.net>\r\nSubject: Missed visits\r\n\r\nHello\r\n"
    )
    mail = parse_mail(raw)
    assert mail.message_id is None and mail.sender is not None and len(mail.sender.name) <= 200
    assert len(mail.notes) == 2
