"""The weekly digest on real servers: figures checked against cases with known answers on SQLite and
PostgreSQL, one multipart mail per lead through the SMTP server and into the Sent folder, names only for the
roles allowed them, and the HTML drawn by headless Chromium."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.app import App
from mailbot.config.digest import DigestSettings
from mailbot.db.models import Case, CaseEvent, StageRecord
from mailbot.scheduled import jobs
from mailbot.scheduled.digest import run_digest_command
from mailbot.scheduled.digest.figures import gather
from mailbot.scheduled.digest.letter import render_digest, send_digests
from mailbot.scheduled.digest.week import DigestError, week_labelled
from mailbot.scheduled.report import OnTime
from mailbot.testing import Dovecot, SmtpCapture, skip_or_fail

LONDON = ZoneInfo("Europe/London")
# Digest 2026-W49 is sent on Monday 30 November 2026 at 08:00 and covers Monday 23 to Sunday 29 November.
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
WEEK = "2026-W49"

STAFF = """
[staff]
domains = ["riverside.example"]
trusted_authserv_ids = ["mx.riverside.example"]

[[staff.person]]
name = "Priya Shah"
addresses = ["priya.shah@riverside.example"]
roles = ["coordinator"]

[[staff.person]]
name = "Sam Okafor"
addresses = ["sam.okafor@riverside.example"]
roles = ["lead", "safeguarding_lead"]

[[staff.person]]
name = "Jo Evans"
addresses = ["jo.evans@riverside.example"]
roles = ["lead", "chief_executive"]
"""
LEADS = ("sam.okafor@riverside.example", "jo.evans@riverside.example")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def add_case(
    session: Session,
    ref: str,
    received: datetime,
    kind: str = "complaint",
    status: str = "open",
    stage: str | None = "stage1",
    policy: str = "lgsco-hos-code",
    **fields: object,
) -> Case:
    """A case as the intake and staff actions leave it; ``fields`` are the stage record's, the case's mirror
    follows them. ``stage=None`` is an item recorded outside the procedure."""
    case_fields = {k: fields.pop(k) for k in ("flags", "service", "learning", "closed_at", "follow_up_due",
                                              "coordinator") if k in fields}  # fmt: skip
    case = Case(
        ref=ref, kind=kind, policy=policy, stage=stage or "recorded", status=status, mailbox="complaints",
        subject=f"About {ref}", complainant_name=f"Complainant {ref[-4:]}",
        complainant_address=f"person{ref[-4:]}@example.net", received_at=received,
        flags=case_fields.get("flags", []), coordinator=case_fields.get("coordinator"),
        service=case_fields.get("service"), learning=case_fields.get("learning"),
        closed_at=case_fields.get("closed_at"), follow_up_due=case_fields.get("follow_up_due"),
    )  # fmt: skip
    session.add(case)
    session.flush()
    if stage is not None:
        record = StageRecord(
            case_id=case.id, stage=stage, started_at=fields.pop("started_at", received), **fields
        )
        session.add(record)
        case.acknowledge_due, case.acknowledged_at = record.acknowledge_due, record.acknowledged_at
        case.response_due, case.outcome = record.extended_to or record.respond_due, record.outcome
    return case


def recorded(session: Session, ref: str, received: datetime, kind: str, **fields: object) -> Case:
    """A compliment, comment or concern recorded outside the complaints procedure."""
    return add_case(session, ref, received, kind=kind, status="recorded", stage=None, **fields)


def add_known_cases(app: App) -> None:
    """Cases whose figures for digest 2026-W49 (23-29 November 2026, seen on Monday 30 November) are known.

    Acknowledgements due in the week: A on time (23:30 UTC is still the 24th in winter), B late (sent on the
    26th for the 25th), C never sent, D early: 2 of 4. Over the twelve months add I late (23:30 UTC on 10 June
    is 00:30 on the 11th in summer time), J on time, L on time: 4 of 7; K is older than twelve months.
    Responses due in the week: F on time to its extended date, G late, H on time, O2 not sent: 2 of 4. Over
    the twelve months add M late (23:30 UTC on 3 July is the 4th in London), N on time, Q never: 3 of 7.
    """
    # fmt: off
    with app.sessions.begin() as s:
        # New this week: 3 complaints (A, O1, O4), 2 concerns, 1 compliment, 1 comment.
        add_case(s, "CMP-2026-0101", utc(2026, 11, 23, 10), acknowledge_due=date(2026, 11, 24),
                 acknowledged_at=utc(2026, 11, 24, 23, 30), status="responded")  # A
        add_case(s, "CMP-2026-0102", utc(2026, 11, 27, 9), acknowledge_due=date(2026, 12, 1),
                 flags=["safeguarding"], service="Home care, Northwich",
                 coordinator="priya.shah@riverside.example")  # O1: acknowledgement due tomorrow: at risk
        add_case(s, "CMP-2026-0103", utc(2026, 11, 29, 23, 30), respond_due=date(2026, 12, 7),
                 acknowledged_at=utc(2026, 11, 30, 8))  # O4: 5 working days left: at risk
        recorded(s, "CMP-2026-0104", utc(2026, 11, 24, 11), "concern", flags=["elected_member"])
        recorded(s, "CMP-2026-0105", utc(2026, 11, 25, 11), "concern")
        recorded(s, "CMP-2026-0106", utc(2026, 11, 26, 11), "compliment")
        recorded(s, "CMP-2026-0107", utc(2026, 11, 28, 11), "comment")
        # Not this week: just before it starts, just after it ends (both in local time).
        recorded(s, "CMP-2026-0090", utc(2026, 11, 22, 23, 59), "compliment")
        recorded(s, "CMP-2026-0108", utc(2026, 11, 30, 0, 30), "comment")
        # Acknowledgements due in the week, on cases received earlier.
        add_case(s, "CMP-2026-0080", utc(2026, 11, 18, 9), acknowledge_due=date(2026, 11, 25),
                 acknowledged_at=utc(2026, 11, 26, 0, 30), status="responded")  # B
        add_case(s, "CMP-2026-0081", utc(2026, 11, 19, 9), acknowledge_due=date(2026, 11, 26),
                 status="responded")  # C
        add_case(s, "CMP-2026-0082", utc(2026, 11, 19, 9), acknowledge_due=date(2026, 11, 27),
                 acknowledged_at=utc(2026, 11, 20, 9), status="responded")  # D
        # Responses due in the week; G and H also closed this week.
        add_case(s, "CMP-2026-0070", utc(2026, 11, 2, 9), respond_due=date(2026, 11, 20),
                 extended_to=date(2026, 11, 27), extension_agreed=True, responded_at=utc(2026, 11, 27, 15),
                 outcome="partly upheld", status="responded")  # F
        add_case(s, "CMP-2026-0071", utc(2026, 11, 5, 9), respond_due=date(2026, 11, 25),
                 responded_at=utc(2026, 11, 26, 10), outcome="not upheld", status="closed",
                 closed_at=utc(2026, 11, 27, 10), service="Supported living, Chester")  # G
        add_case(s, "CMP-2026-0072", utc(2026, 11, 6, 9), respond_due=date(2026, 11, 23),
                 responded_at=utc(2026, 11, 23, 12), outcome="upheld", status="closed",
                 closed_at=utc(2026, 11, 26, 10), learning="Rota changes so that no visit is missed")  # H
        add_case(s, "CMP-2026-0073", utc(2026, 11, 9, 9), respond_due=date(2026, 11, 27),
                 acknowledged_at=utc(2026, 11, 10, 9), coordinator="priya.shah@riverside.example")  # O2, late
        # Stage 2: an escalation this week, with 14 working days left.
        add_case(s, "CMP-2026-0060", utc(2026, 10, 1, 9), stage="stage2", started_at=utc(2026, 11, 25, 14),
                 respond_due=date(2026, 12, 18), acknowledged_at=utc(2026, 11, 25, 14),
                 flags=["persistent", "lang:cy"])  # O3
        # Earlier in the twelve months, and before them.
        add_case(s, "CMP-2026-0040", utc(2026, 6, 3, 9), acknowledge_due=date(2026, 6, 10),
                 acknowledged_at=utc(2026, 6, 10, 23, 30), status="closed", closed_at=utc(2026, 7, 1),
                 flags=["persistent"])  # I: neither open nor new, so its flag is not shown
        add_case(s, "CMP-2025-0041", utc(2025, 12, 3, 9), acknowledge_due=date(2025, 12, 10),
                 acknowledged_at=utc(2025, 12, 10, 23, 30), status="closed", closed_at=utc(2026, 1, 5))  # J
        add_case(s, "CMP-2025-0042", utc(2025, 10, 27, 9), acknowledge_due=date(2025, 11, 1),
                 acknowledged_at=utc(2025, 11, 3, 9), status="closed", closed_at=utc(2025, 12, 1))  # K
        add_case(s, "CMP-2026-0043", utc(2026, 3, 9, 9), acknowledge_due=date(2026, 3, 15),
                 acknowledged_at=utc(2026, 3, 14, 9), status="closed", closed_at=utc(2026, 4, 1))  # L
        add_case(s, "CMP-2026-0044", utc(2026, 6, 20, 9), respond_due=date(2026, 7, 3),
                 responded_at=utc(2026, 7, 3, 23, 30), outcome="upheld", status="closed",
                 closed_at=utc(2026, 7, 4))  # M
        add_case(s, "CMP-2026-0045", utc(2026, 6, 22, 9), respond_due=date(2026, 7, 6),
                 responded_at=utc(2026, 7, 5, 9), outcome="not upheld", status="closed",
                 closed_at=utc(2026, 7, 6))  # N
        add_case(s, "CMP-2026-0046", utc(2026, 10, 1, 9), respond_due=date(2026, 10, 30), status="closed",
                 closed_at=utc(2026, 11, 2))  # Q: closed without a response
        # The week of 12 October in the chart: 23:30 UTC on Sunday 11 October is Monday in London.
        recorded(s, "CMP-2026-0030", utc(2026, 10, 11, 23, 30), "compliment")
        add_case(s, "CMP-2026-0031", utc(2026, 11, 3, 9), status="closed", closed_at=utc(2026, 11, 10))
        # Follow-ups: the policy's, three months after closure (closed 25 August: due Tuesday 24 November),
        # and a date set by staff.
        add_case(s, "CMP-2026-0020", utc(2026, 7, 1, 9), policy="case-management-cymru", stage="formal",
                 status="closed", closed_at=utc(2026, 8, 25, 12), outcome="upheld")
        add_case(s, "CMP-2026-0021", utc(2026, 8, 1, 9), status="responded", follow_up_due=date(2026, 12, 2))
    # fmt: on
    with app.sessions.begin() as s:
        escalated = s.scalars(select(Case).where(Case.ref == "CMP-2026-0060")).one()
        s.add(
            CaseEvent(
                case_id=escalated.id, at=utc(2026, 11, 25, 15), actor="mailbot", action="signpost queued"
            )
        )


@pytest.fixture
def app(make_app: Callable[..., App], clock) -> App:  # type: ignore[no-untyped-def]
    clock.now = NOW
    app = make_app(extra=STAFF)
    add_known_cases(app)
    return app


def figures_for(app: App, settings: DigestSettings | None = None):  # type: ignore[no-untyped-def]
    settings = settings or DigestSettings()
    return gather(app, week_labelled(WEEK, settings, LONDON), settings)


def test_the_figures_match_cases_with_known_answers(app: App) -> None:
    figures = figures_for(app)

    assert figures.week.span.start == date(2026, 11, 23) and figures.week.span.end == date(2026, 11, 29)
    assert figures.new_by_kind == {"complaint": 3, "concern": 2, "compliment": 1, "comment": 1}
    assert figures.complaints_by_stage == {"stage1": 3, "stage2": 1}
    assert figures.acknowledged_week == OnTime(2, 4)
    assert figures.acknowledged_year == OnTime(4, 7)
    assert figures.responded_week == OnTime(2, 4)
    assert figures.responded_year == OnTime(3, 7)
    assert str(figures.acknowledged_year) == "57% (4 of 7)"
    assert figures.open_by_stage == {"stage1": 3, "stage2": 1}
    assert [(c.ref, c.days_left) for c in figures.overdue] == [("CMP-2026-0073", -1)]
    assert [(c.ref, c.milestone, c.days_left) for c in figures.at_risk] == [
        ("CMP-2026-0102", "acknowledgement", 1),
        ("CMP-2026-0103", "response", 5),
    ]
    assert [(c.ref, c.days_left) for c in figures.open_cases][-1] == ("CMP-2026-0060", 14)
    assert [(c.ref, c.outcome, c.learning) for c in figures.closed] == [
        ("CMP-2026-0072", "upheld", "Rota changes so that no visit is missed"),
        ("CMP-2026-0071", "not upheld", None),
    ]
    assert figures.closed_by_outcome == {"upheld": 1, "not upheld": 1}
    assert [(c.ref, c.flags) for c in figures.flagged] == [
        ("CMP-2026-0060", ("persistent",)),
        ("CMP-2026-0104", ("elected_member",)),
        ("CMP-2026-0102", ("safeguarding",)),
    ]
    assert [(f.ref, f.due, f.requested_by_staff) for f in figures.follow_ups] == [
        ("CMP-2026-0020", date(2026, 11, 24), False),
        ("CMP-2026-0021", date(2026, 12, 2), True),
    ]


def test_weekly_volumes_put_each_item_in_its_local_week(app: App) -> None:
    volumes = figures_for(app).volumes

    assert len(volumes) == 12
    assert volumes[0].start == date(2026, 9, 7) and volumes[-1].start == date(2026, 11, 23)
    assert volumes[-1].counts == {"complaint": 3, "concern": 2, "compliment": 1, "comment": 1}
    assert volumes[5].start == date(2026, 10, 12) and volumes[5].counts == {"compliment": 1}
    assert volumes[-2].counts == {"complaint": 3, "compliment": 1}  # one a minute before the week began
    assert sum(v.total for v in volumes) == 19


def sent_to(smtp: SmtpCapture, address: str) -> list[EmailMessage]:
    return [m.message for m in smtp.messages if address in m.rcpt_tos]


def test_each_lead_gets_one_multipart_email_safe_digest_filed_in_sent(
    app: App, smtp_server: SmtpCapture, dovecot: Dovecot
) -> None:
    week = week_labelled(WEEK, DigestSettings(), LONDON)
    assert send_digests(app, week).sent == LEADS
    assert send_digests(app, week).sent == ()  # a second send finds both keys
    jobs.flush(app)
    jobs.file_sent(app, jobs.CycleReport())

    for lead in LEADS:
        [digest] = sent_to(smtp_server, lead)
        assert digest["Subject"] == "Complaints digest 2026-W49: 7 new, 1 overdue, 2 at risk"
        assert digest["Auto-Submitted"] == "auto-generated"
        assert digest.get_content_type() == "multipart/alternative"
        text = digest.get_body(("plain",)).get_content()
        html = digest.get_body(("html",)).get_content()
        assert "CMP-2026-0073" in text and "1 working day overdue" in text
        assert "Rota changes so that no visit is missed" in html
        for unsafe in ("<script", "<style", "<link", "<img", "src=", "url(", "javascript:"):
            assert unsafe not in html.lower()
        for private in ("Complainant 0102", "person0102@example.net", "About CMP-2026-0102"):
            assert private not in text and private not in html
    assert len(smtp_server.messages) == 2
    assert len(dovecot.messages(folder="Sent")) == 2


def test_names_are_shown_only_to_a_role_configured_to_see_them(app: App) -> None:
    settings = DigestSettings(names_visible_to=frozenset({"chief_executive"}))
    figures = figures_for(app, settings)
    staff = app.config.staff
    assert staff is not None
    sam, jo = (staff.person_for(address) for address in LEADS)

    assert "Complainant 0102" not in (render_digest(app, figures, sam, settings).html or "")
    letter = render_digest(app, figures, jo, settings)
    assert "Complainant 0102" in letter.text and "Complainant 0102" in (letter.html or "")


def test_the_preview_command_writes_html_and_sends_nothing(
    app: App, smtp_server: SmtpCapture, tmp_path: Path
) -> None:
    out = tmp_path / "digest.html"
    said = run_digest_command(app, WEEK, "jo.evans@riverside.example", out, send=False)

    assert said.startswith(f"wrote {out}: digest 2026-W49, Mon 23 Nov to Sun 29 Nov 2026, as Jo Evans")
    assert "Complaints digest 2026-W49" in out.read_text(encoding="utf-8")
    jobs.flush(app)
    assert smtp_server.messages == []
    with pytest.raises(DigestError, match=r"priya\.shah@riverside\.example is not a lead"):
        run_digest_command(app, WEEK, "priya.shah@riverside.example", out, send=False)
    with pytest.raises(DigestError, match="expected an ISO week such as 2026-W47"):
        run_digest_command(app, "2026-47", None, out, send=False)


def test_the_send_command_queues_each_lead_once(app: App) -> None:
    first = run_digest_command(app, None, None, None, send=True)
    again = run_digest_command(app, None, None, None, send=True)

    assert "queued for sam.okafor@riverside.example" in first and "queued for jo.evans" in first
    assert first.startswith("digest 2026-W49 (Mon 23 Nov to Sun 29 Nov 2026):")
    assert "sam.okafor@riverside.example already had it; not sent again" in again


# --- drawn by a real browser ---------------------------------------------------------------------------


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
        if found:
            return found
    skip_or_fail("Debian's chromium is not installed (apt-get install chromium); the digest is not drawn")


def png_colours(png: bytes) -> set[bytes]:
    """The distinct pixels of an 8-bit RGB(A) PNG, decoded with the standard library."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height, _depth, colour_type = struct.unpack(">IIBB", png[16:26])
    data, offset = b"", 8
    while offset < len(png):
        length, kind = struct.unpack(">I4s", png[offset : offset + 8])
        data += png[offset + 8 : offset + 8 + length] if kind == b"IDAT" else b""
        offset += 12 + length
    channels = {2: 3, 6: 4}[colour_type]
    raw, stride = zlib.decompress(data), width * channels + 1
    # Filters aside, a row's bytes still vary wherever the picture does: enough to tell a page from a blank.
    rows = (raw[y * stride + 1 : (y + 1) * stride] for y in range(0, height, 7))
    return {row[x : x + channels] for row in rows for x in range(0, len(row), channels * 5)}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # one drawing is enough
def test_the_digest_renders_in_headless_chromium(app: App, tmp_path: Path) -> None:
    chromium = find_chromium()
    page, shot = tmp_path / "digest.html", tmp_path / "digest.png"
    settings = DigestSettings()
    staff = app.config.staff
    assert staff is not None
    letter = render_digest(app, figures_for(app, settings), staff.person_for(LEADS[0]), settings)
    page.write_text(letter.html or "", encoding="utf-8")

    subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1000,1600",
         page.as_uri()],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip

    png = shot.read_bytes()
    assert len(png) > 10_000
    assert len(png_colours(png)) > 20  # text, tiles and bars, not a blank page


def test_week_labels_name_the_send_week() -> None:
    week = week_labelled("2026-w49", replace(DigestSettings(), day=4), LONDON)  # Fridays

    assert week.send_at == datetime(2026, 12, 4, 8, 0, tzinfo=LONDON)
    assert (week.span.start, week.span.end) == (date(2026, 11, 27), date(2026, 12, 3))
