"""Deadlines on real cases: what the acknowledgement promises is what the case holds, across Christmas."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from mailbot.app import App
from mailbot.db.models import Case
from mailbot.scheduled import jobs
from mailbot.testing import Dovecot, SmtpCapture
from tests.mails import mail

LONDON = ZoneInfo("Europe/London")


def deliver_at(dovecot: Dovecot, raw: bytes, when: datetime) -> None:
    with dovecot.client() as imap:
        imap.append("INBOX", raw, msg_time=when)


def test_christmas_complaint_deadlines_under_the_complaint_handling_code(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture, clock
) -> None:  # type: ignore[no-untyped-def]
    # A past Christmas: Dovecot clamps an INTERNALDATE in the future to the present.
    received = datetime(2025, 12, 23, 16, 30, tzinfo=LONDON)
    clock.now = received
    jobs.poll_cycle(app)  # first contact
    deliver_at(dovecot, mail(), received)

    jobs.poll_cycle(app)

    with app.sessions() as session:
        case = session.scalars(select(Case)).one()
    # Code: acknowledge within 5 working days of receipt. Working days after Tue 23 Dec 2025: Wed 24,
    # (Thu 25 Christmas, Fri 26 Boxing Day, weekend) Mon 29, Tue 30, Wed 31, (Thu 1 Jan) Fri 2 Jan 2026.
    assert case.acknowledge_due == date(2026, 1, 2)
    # Respond within 10 working days of the acknowledgement, sent on Tue 23 Dec: ... Fri 2 Jan (5th),
    # Mon 5, Tue 6, Wed 7, Thu 8, Fri 9 Jan 2026 (10th).
    assert case.response_due == date(2026, 1, 9)
    assert case.ref == "CMP-2025-0001"
    [ack] = smtp_server.messages
    assert "Friday 9 January 2026" in ack.message.get_body(("plain",)).get_content()
    assert case.acknowledged_at == received
