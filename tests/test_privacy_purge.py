"""The retention schedule on real servers, SQLite and PostgreSQL: after a purge the words planted in a
message, a letter, an attachment and a traceback are nowhere in the database or the attachment store (nor in
the SQLite file on disk); a case on legal hold survives whole; the anonymised case keeps its place."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import select

from mailbot.app import App
from mailbot.config.digest import DigestSettings
from mailbot.db.models import Case, CaseEvent, InboundMessage, PrivacyLog
from mailbot.privacy.purge import run_purge
from mailbot.scheduled.digest.figures import gather
from mailbot.scheduled.digest.week import week_labelled
from mailbot.scheduled.report import run_report_command
from mailbot.testing import Dovecot, SmtpCapture
from mailbot.vocabulary import InboundState
from tests.conftest import Clock
from tests.privacy_scenario import (
    BOB_WORDS,
    TOKENS,
    build,
    close,
    database_bytes,
    invoke,
    sqlite_file_bytes,
    store_bytes,
)
from tests.test_digest import NOW, WEEK, add_known_cases
from tests.test_digest import STAFF as DIGEST_STAFF
from tests.test_routing_e2e import STAFF


@pytest.fixture
def app(make_app: Callable[..., App]) -> App:
    return make_app(extra=STAFF)


def test_purge_leaves_no_trace_of_expired_cases_and_keeps_the_held_one(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture, monkeypatch: pytest.MonkeyPatch, clock: Clock,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    world = build(app, dovecot, smtp_server, monkeypatch)
    close(app, *world.jane, world.bob)
    status, out, _ = invoke(
        app, capsys, "cases", "hold", world.bob, "--reason", "claim from Mr Smith's solicitor"
    )
    assert status == 0 and "legal hold" in out
    stored = database_bytes(app) + store_bytes(app)
    assert all(token.encode() in stored for token in TOKENS.values())  # planted where the test says

    clock.now += relativedelta(years=6, days=2)  # past six years after closure
    dry = run_purge(app, dry_run=True)
    assert [c.ref for c in dry.plan.cases] == list(world.jane) and dry.plan.held == [world.bob]
    assert dry.plan.shunted and database_bytes(app) == database_bytes(app)  # the dry run changed nothing
    assert TOKENS["message"].encode() in database_bytes(app)

    report = run_purge(app)

    assert report.removed.cases == list(world.jane)
    everything = database_bytes(app) + store_bytes(app) + sqlite_file_bytes(app)
    for what, token in TOKENS.items():
        assert token.encode() not in everything, f"the token planted in a {what} survived the purge"
    assert all(word.encode() in database_bytes(app) + store_bytes(app) for word in BOB_WORDS)  # held: whole
    with app.sessions() as session:
        purged = session.scalars(select(Case).where(Case.ref == world.jane[0])).one()
        assert (purged.kind, purged.status, purged.outcome) == ("complaint", "closed", "upheld")
        assert purged.complainant_address == "" and purged.subject == "" and purged.correspondence == []
        assert purged.purged_at is not None
        trail = [e.action for e in purged.events]
        assert trail[-1] == "purged" and "safeguarding alert" in trail
        shunted = session.scalars(select(InboundMessage).where(InboundMessage.error.is_not(None))).all()
        assert shunted == []
        # The raw bytes live in their own table since intake limits (issue 10): a purge deletes that row.
        without_bytes = select(InboundMessage.state).where(~InboundMessage.stored.has())
        assert set(session.scalars(without_bytes)) == {InboundState.PURGED}
        [entry] = session.scalars(select(PrivacyLog).where(PrivacyLog.action == "retention purge")).all()
        assert world.jane[0] in entry.detail and world.jane[1] in entry.detail and world.bob in entry.detail
        assert session.scalars(select(CaseEvent).where(CaseEvent.detail.contains("rough"))).all() == []


def test_items_never_closed_expire_after_their_last_mail_and_a_second_purge_finds_nothing(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture, monkeypatch: pytest.MonkeyPatch, clock: Clock,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    world = build(app, dovecot, smtp_server, monkeypatch)
    close(app, world.jane[0])
    clock.now += relativedelta(years=6, days=-1)  # a day short of six years: nothing is due

    assert run_purge(app, dry_run=True).plan.cases == []
    clock.now += timedelta(days=2)
    why = {c.ref: c.why for c in run_purge(app).plan.cases}
    assert "kept 6 years after closure" in why[world.jane[0]]
    assert "never closed is kept 6 years after its last mail" in why[world.jane[1]]  # left open
    assert "never closed" in why[world.bob]
    assert run_purge(app).plan.empty

    status, out, _ = invoke(app, capsys, "privacy", "purge", "--dry-run")
    assert status == 0 and out.startswith("would purge 0 case(s)")  # the real clock: nothing is six years old


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # PostgreSQL: VACUUM (the docs say)
def test_the_sqlite_database_zeroes_what_is_deleted(app: App) -> None:
    with app.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA secure_delete").scalar() == 1


# --- the board's figures survive --------------------------------------------------------------------------


def digest_figures(app: App) -> tuple[object, ...]:
    """The digest's counts and the references it lists (names, subjects and learning go with a purge)."""
    settings = DigestSettings()
    f = gather(app, week_labelled(WEEK, settings, ZoneInfo("Europe/London")), settings)
    return (
        f.new_by_kind, f.complaints_by_stage, f.open_by_stage, f.acknowledged_week, f.acknowledged_year,
        f.responded_week, f.responded_year, f.closed_by_outcome, f.safeguarding_alerts, f.volumes,
        [(c.ref, c.kind, c.closed, c.outcome) for c in f.closed], [(c.ref, c.flags) for c in f.flagged],
        [(c.ref, c.days_left) for c in f.open_cases], [c.ref for c in f.follow_ups],
    )  # fmt: skip


def test_report_and_digest_figures_are_the_same_after_everything_is_purged(
    make_app: Callable[..., App], clock: Clock
) -> None:
    clock.now = NOW
    app = make_app(extra=DIGEST_STAFF)
    add_known_cases(app)
    with app.sessions.begin() as session:
        case = session.scalars(select(Case).where(Case.ref == "CMP-2026-0102")).one()
        detail = "physical: 'rough with him' in the text"
        session.add(CaseEvent(case_id=case.id, at=NOW - timedelta(days=3), actor="mailbot",
                              action="safeguarding alert", detail=detail))  # fmt: skip
    clock.now = NOW + relativedelta(years=7)
    report = run_report_command(app, date(2025, 11, 30), date(2026, 11, 29), "csv")
    week = run_report_command(app, date(2026, 11, 23), date(2026, 11, 29), "html")
    digest = digest_figures(app)
    assert sum(digest[8].values()) == 1  # the alert, counted by its category
    with app.sessions() as session:
        every_case = list(session.scalars(select(Case.ref).order_by(Case.id)))

    purged = run_purge(app)

    assert purged.removed.cases == every_case  # the closed ones and those never closed
    assert run_report_command(app, date(2025, 11, 30), date(2026, 11, 29), "csv") == report
    assert run_report_command(app, date(2026, 11, 23), date(2026, 11, 29), "html") == week
    assert digest_figures(app) == digest
    with app.sessions() as session:
        assert set(session.scalars(select(Case.complainant_name))) == {""}
