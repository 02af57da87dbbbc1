"""Finding the coordinator's own words in a reply by our markers, not by the mail client's language."""

from __future__ import annotations

from mailbot.staff.reply_text import Ours, own_words, runs

NOTICE = """[mailbot-notice-start CMP-2026-0001]
Internal notice for staff. Write your reply above the bracketed line.

CMP-2026-0001: complaint, Stage 1 (open)
From: Jane Doe <jane.doe@example.net>
Respond by: Monday 14 December 2026

Her carers have missed three visits.

Reply to this email to answer Jane Doe: your words are sent from complaints@riverside.example
  #extend DAYS REASON

[mailbot-notice-end CMP-2026-0001]"""
OURS = Ours("complaints@riverside.example", "Riverside Care Trust Complaints", frozenset(runs(NOTICE)))
WORDS = "Dear Mrs Doe, the visits are restored from today."


def words(text: str, names_a_case: bool = True) -> str | None:
    found = own_words(text, text, OURS, names_a_case)
    return found.text if found.held is None else None


def test_an_outlook_header_in_any_language_is_cut_with_its_separator() -> None:
    for sender, sent in (
        ("Oddi wrth", "Anfonwyd"),
        ("От", "Отправлено"),
        ("Von", "Gesendet"),
        ("Van", "Verzonden"),
    ):
        header = (
            f"________________________________\n{sender}: Riverside Care Trust Complaints "
            f"<complaints@riverside.example>\n{sent}: 23/11/2026 10:00\n\n"
        )
        assert words(f"{WORDS}\nPriya\n{header}{NOTICE}") == f"{WORDS}\nPriya"


def test_a_header_that_names_us_only_by_name_and_wraps_over_two_lines_is_cut() -> None:
    header = (
        "On Mon, 23 Nov 2026 at 10:00, Riverside Care Trust Complaints <\n"
        "complaints@riverside.example> wrote:\n\n"
    )
    assert words(f"{WORDS}\n\n{header}{NOTICE}") == WORDS


def test_words_below_the_end_marker_are_the_reply_and_a_signature_there_is_dropped() -> None:
    assert words(f"{NOTICE}\n\n{WORDS}\n\n-- \nPriya Shah\nRiverside Care Trust") == WORDS


def test_words_on_both_sides_are_held() -> None:
    assert words(f"{WORDS}\n\n{NOTICE}\n\nAnd another thing.") is None


def test_six_words_running_from_the_notice_anywhere_hold_the_relay() -> None:
    assert words(f"{WORDS}\nReply to this email to answer Jane Doe, please.") is None
    assert (
        words(f"{WORDS}\nI will reply to this email tomorrow.")
        == f"{WORDS}\nI will reply to this email tomorrow."
    )


def test_a_reply_to_an_hourly_list_is_held_unless_its_subject_names_the_case() -> None:
    bundle = "[mailbot-bundle 2026-11-23 10:00]\nCMP-2026-0004, CMP-2026-0005"
    assert words(f"{WORDS}\n\n{bundle}", names_a_case=False) is None
    assert words(f"{WORDS}\n\n{bundle}", names_a_case=True) == WORDS


def test_a_notice_quoted_with_prefixes_is_left_to_the_quote_stripper() -> None:
    quoted = "\n".join(f"> {line}" for line in NOTICE.splitlines())
    found = own_words(f"{WORDS}\n\n{quoted}", WORDS, OURS)
    assert (found.text, found.held) == (WORDS, None)
