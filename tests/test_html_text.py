"""HTML mail as a coordinator reads it (issue 16): table cells stay apart, numbered lists keep their numbers,
and quoted history is still marked "> " for the quote stripper."""

from __future__ import annotations

from mailbot.intake.html_text import html_to_text
from mailbot.intake.parse import parse_mail
from mailbot.intake.quotes import new_text

VISITS = (
    "<p>These visits were missed:</p>"
    "<table><tr><th>Date</th><th>Time</th><th>What happened</th></tr>"
    "<tr><td>3 Nov</td><td>08:00</td><td>none came</td></tr>"
    "<tr><td>5 Nov</td><td>18:00</td><td>40 minutes late</td></tr></table>"
)


def test_table_cells_stay_apart_one_row_a_line() -> None:
    lines = html_to_text(VISITS).splitlines()
    assert "3 Nov | 08:00 | none came" in lines and "5 Nov | 18:00 | 40 minutes late" in lines
    assert [cell.strip() for cell in lines[lines.index("3 Nov | 08:00 | none came") - 1].split("|")] == [
        "Date", "Time", "What happened",
    ]  # fmt: skip
    assert "3 Nov08:00none came" not in html_to_text(VISITS)


def test_numbered_lists_keep_their_numbers() -> None:
    text = html_to_text(
        "<p>What I want:</p><ol><li>An apology</li><li>A new rota</li><li>A meeting</li></ol>"
    )
    assert [line.strip() for line in text.splitlines()[1:] if line] == [
        "1. An apology",
        "2. A new rota",
        "3. A meeting",
    ]


def test_quoted_history_in_html_is_marked_and_stripped_as_in_plain_text() -> None:
    html = (
        "<p>Yes, Tuesday at 2pm suits me.</p>"
        "<blockquote><div>On Mon, 23 Nov 2026, Riverside Complaints wrote:</div>"
        "<p>Could we meet to talk about your complaint?</p><blockquote>earlier</blockquote></blockquote>"
    )
    assert html_to_text(html).splitlines() == [
        "Yes, Tuesday at 2pm suits me.",
        "",
        "> On Mon, 23 Nov 2026, Riverside Complaints wrote:",
        ">",
        "> Could we meet to talk about your complaint?",
        ">",
        "> > earlier",
    ]
    mail = parse_mail(b"From: a@example.org\nContent-Type: text/html; charset=utf-8\n\n" + html.encode())
    assert new_text(mail).strip() == "Yes, Tuesday at 2pm suits me."


def test_nothing_but_white_space_or_a_comment_is_no_text() -> None:
    assert html_to_text("") == html_to_text("  \n") == html_to_text("<!-- nothing -->") == ""
