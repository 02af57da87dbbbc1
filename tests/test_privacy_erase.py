"""Erasure on real servers, SQLite and PostgreSQL: refused while a case is open or on hold unless forced with
a reason; then nothing planted in the person's message, letter, attachment or failed message is left in the
database or the store, someone else's case is untouched, and the privacy log no longer names them."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from mailbot.app import App
from mailbot.db.models import Attachment, Case, PrivacyLog
from mailbot.intake.store import blob_path
from mailbot.scheduled import jobs
from mailbot.testing import Dovecot, SmtpCapture
from tests.mails import mail
from tests.privacy_scenario import (
    BOB_WORDS,
    JANE,
    TOKENS,
    build,
    close,
    database_bytes,
    invoke,
    sqlite_file_bytes,
    store_bytes,
    with_attachments,
)
from tests.test_routing_e2e import STAFF


@pytest.fixture
def app(make_app: Callable[..., App]) -> App:
    return make_app(extra=STAFF)


def test_erasure_is_refused_for_an_open_case_then_forced_with_a_reason_leaves_nothing(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    world = build(app, dovecot, smtp_server, monkeypatch)
    close(app, world.jane[0])  # her second case is still open
    invoke(app, capsys, "privacy", "export", "--address", JANE, "--notes", "include",
           "--out", str(app.config.path.parent / "jane.zip"))  # fmt: skip

    status, _, err = invoke(app, capsys, "privacy", "erase", "--address", JANE)
    assert status == 2 and f"{world.jane[1]} (still open)" in err and "--force --reason" in err
    status, _, err = invoke(app, capsys, "privacy", "erase", "--address", JANE, "--force")
    assert status == 2 and "--force needs --reason" in err
    assert TOKENS["message"].encode() in database_bytes(app)  # refused: nothing changed

    reason = "SAR-2026-14: she asked"
    status, out, _ = invoke(
        app, capsys, "privacy", "erase", "--address", JANE.upper(), "--force", "--reason", reason
    )

    assert status == 0 and f"cases purged: {world.jane[0]}, {world.jane[1]}" in out
    everything = database_bytes(app) + store_bytes(app) + sqlite_file_bytes(app)
    for what, token in TOKENS.items():
        assert token.encode() not in everything, f"the token planted in a {what} survived the erasure"
    assert JANE.encode() not in everything
    assert all(word.encode() in database_bytes(app) + store_bytes(app) for word in BOB_WORDS)
    with app.sessions() as session:
        bob = session.scalars(select(Case).where(Case.ref == world.bob)).one()
        assert bob.purged_at is None and len(bob.correspondence) >= 2
        second = session.scalars(select(Case).where(Case.ref == world.jane[1])).one()
        assert second.status == "closed"  # nothing left to handle: no reminders about an empty case
        assert "its personal data was erased" in [e.detail for e in second.events]
        entries = {e.action: e for e in session.scalars(select(PrivacyLog))}
        assert entries["subject access export"].subject == "(erased)"
        assert "SAR-2026-14: she asked (forced)" in entries["erasure"].detail
        assert world.jane[1] in entries["erasure"].detail


def test_erasure_of_closed_cases_needs_no_force_and_a_hold_refuses_it(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    world = build(app, dovecot, smtp_server, monkeypatch)
    close(app, *world.jane)
    invoke(app, capsys, "cases", "hold", world.jane[0], "--reason", "ombudsman investigation 24 001 234")

    status, _, err = invoke(app, capsys, "privacy", "erase", "--address", JANE)
    assert status == 2 and "on legal hold: ombudsman investigation 24 001 234" in err

    invoke(app, capsys, "cases", "hold", world.jane[0], "--lift", "--reason", "investigation finished")
    status, out, _ = invoke(app, capsys, "privacy", "erase", "--address", JANE)
    assert status == 0 and "the mailbox itself is untouched" in out
    assert TOKENS["attachment"].encode() not in database_bytes(app) + store_bytes(app)

    status, _, err = invoke(app, capsys, "privacy", "erase", "--address", "not an address")
    assert status == 2 and "expected an email address" in err


def test_a_file_two_people_sent_stays_for_the_one_not_erased(
    app: App, dovecot: Dovecot, capsys: pytest.CaptureFixture[str]
) -> None:
    leaflet = b"%PDF-1.4 the home's visiting leaflet"
    jobs.poll_cycle(app)  # first contact
    for sender in (JANE, "tom.hughes@example.net"):
        dovecot.deliver(with_attachments(mail(sender=sender), [("leaflet.pdf", "application/pdf", leaflet)]))
    jobs.poll_cycle(app)
    with app.sessions() as session:
        digests = set(session.scalars(select(Attachment.sha256)))
        [tom] = session.scalars(select(Case.ref).where(Case.complainant_address == "tom.hughes@example.net"))
    assert len(digests) == 1  # stored once

    status, out, _ = invoke(
        app, capsys, "privacy", "erase", "--address", JANE, "--force", "--reason", "asked"
    )

    assert status == 0 and "0 attachment file(s) deleted" in out
    assert blob_path(app.config.storage_dir, digests.pop()).read_bytes() == leaflet
    status, shown, _ = invoke(app, capsys, "cases", "show", tom, "--full")
    assert "attachment: leaflet.pdf (application/pdf" in shown


def test_a_letter_sent_but_not_yet_copied_to_the_sent_folder_is_not_copied_once_erased(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture, capsys: pytest.CaptureFixture[str]
) -> None:
    jobs.poll_cycle(app)  # first contact
    dovecot.deliver(mail(sender=JANE))
    report = jobs.CycleReport()
    jobs.fetch_mailbox(app, app.config.mailboxes[0], report)
    jobs.process_and_deliver(app, report)  # the acknowledgement went; its Sent copy waits for the tidy step
    assert smtp_server.messages  # her acknowledgement, and the notices to staff about her case

    status, _, _ = invoke(app, capsys, "privacy", "erase", "--address", JANE, "--force", "--reason", "asked")

    assert status == 0
    assert jobs.file_sent(app, jobs.CycleReport()) == 0  # nothing (and no empty message) is filed
