"""The board report: the week of known cases and its twelve months, as CSV and HTML, on SQLite and
PostgreSQL; numbers only, never a complainant."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import replace
from datetime import date

import pytest

from mailbot.app import App
from mailbot.scheduled.report import ReportError, as_csv, board_report, run_report_command
from tests.conftest import Clock
from tests.test_digest import NOW, STAFF, add_known_cases


@pytest.fixture
def app(make_app: Callable[..., App], clock: Clock) -> App:
    clock.now = NOW
    app = make_app(extra=STAFF)
    add_known_cases(app)
    return app


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_the_week_in_csv(app: App) -> None:
    report = rows(run_report_command(app, date(2026, 11, 23), date(2026, 11, 29), "csv"))

    assert report == [
        ["section", "item", "count", "out_of", "percent"],
        ["period", "2026-11-23 to 2026-11-29", "", "", ""],
        ["received", "complaints", "3", "", ""],
        ["received", "concerns", "2", "", ""],
        ["received", "comments", "1", "", ""],
        ["received", "compliments", "1", "", ""],
        ["complaints entering stage", "Stage 1", "3", "", ""],
        ["complaints entering stage", "Stage 2", "1", "", ""],
        ["acknowledged on time", "Stage 1", "2", "4", "50.0"],
        ["acknowledged on time", "all stages", "2", "4", "50.0"],
        ["responded on time", "Stage 1", "2", "4", "50.0"],
        ["responded on time", "all stages", "2", "4", "50.0"],
        ["outcome", "Stage 1: upheld", "1", "3", "33.3"],
        ["outcome", "Stage 1: partly upheld", "1", "3", "33.3"],
        ["outcome", "Stage 1: not upheld", "1", "3", "33.3"],
        ["outcome", "Stage 2: upheld", "0", "0", ""],
        ["outcome", "Stage 2: partly upheld", "0", "0", ""],
        ["outcome", "Stage 2: not upheld", "0", "0", ""],
        ["referred to the ombudsman", "given the ombudsman's details after the final stage", "1", "", ""],
    ]


def test_twelve_months_count_by_local_dates_across_the_clock_changes(app: App) -> None:
    report = rows(run_report_command(app, date(2025, 11, 30), date(2026, 11, 29), "csv"))
    by_item = {(section, item): (count, of, percent) for section, item, count, of, percent in report[1:]}

    assert by_item[("acknowledged on time", "all stages")] == ("4", "7", "57.1")
    assert by_item[("responded on time", "all stages")] == ("3", "7", "42.9")
    assert by_item[("outcome", "Stage 1: upheld")] == ("2", "5", "40.0")  # H and M
    assert by_item[("received", "complaints")] == ("20", "", "")


def test_the_html_report_is_self_contained_and_names_nobody(app: App) -> None:
    html = run_report_command(app, date(2026, 11, 23), date(2026, 11, 29), "html")

    assert "Riverside Care Trust: complaints and feedback, 23 November 2026 to 29 November 2026" in html
    assert "<td" in html and "50.0" in html
    for never in ("CMP-", "Complainant", "@example.net", "About ", "<script", "<img", "<link", "src="):
        assert never not in html


def test_a_report_asked_for_wrongly_says_what_would_do(app: App) -> None:
    with pytest.raises(ReportError, match="before --from"):
        run_report_command(app, date(2026, 11, 29), date(2026, 11, 23), "csv")
    with pytest.raises(ReportError, match=r"accepted: csv, html"):
        run_report_command(app, date(2026, 11, 23), date(2026, 11, 29), "pdf")


def test_no_csv_cell_starts_like_a_spreadsheet_formula(app: App) -> None:
    """A stage label or outcome that begins with =, +, - or @ (from a policy file or an old record) is
    written as text, so Excel or LibreOffice opening the board report runs nothing."""
    report = board_report(app, date(2026, 11, 23), date(2026, 11, 29))
    labels = dict(report.stage_labels)
    labels["stage1"] = '=HYPERLINK("http://evil.example","Stage 1")'
    outcomes = {**report.outcomes, "stage2": {"@SUM(1+1)": 1, "+1": 1, "-1": 1}}

    cells = [c for row in rows(as_csv(replace(report, stage_labels=labels, outcomes=outcomes))) for c in row]

    assert '\'=HYPERLINK("http://evil.example","Stage 1")' in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@")]
