"""Delivery over several SMTP connections (``[smtp] connections``): letters go in waves, a wave's hand-over
recorded in one commit. Every letter still goes once, to the person it is for, in the order written to any
one person; refusals and temporary failures are recorded per letter as before."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from mailbot.app import App
from mailbot.config.servers import SmtpConfig
from mailbot.db.models import Case, Outbox
from mailbot.outgoing import smtp, waves
from mailbot.scheduled import jobs
from mailbot.testing import Dovecot, SmtpCapture
from tests.mails import mail

FOUR = "connections = 4"


def _letter(outbox_id: int, *to: str) -> Outbox:
    return Outbox(id=outbox_id, recipients=list(to))


def test_a_wave_takes_letters_in_order_and_never_two_to_one_person() -> None:
    pending = [
        _letter(1, "a@example.net"),
        _letter(2, "b@example.net"),
        _letter(3, "A@Example.net"),  # the same person as letter 1
        _letter(4, "c@example.net"),
    ]
    assert [row.id for row in waves.next_wave(pending, 4)] == [1, 2]
    assert [row.id for row in waves.next_wave(pending, 4)] == [3, 4]
    assert pending == []
    assert [row.id for row in waves.next_wave([_letter(5, "x@e.net"), _letter(6, "y@e.net")], 1)] == [5]


def test_a_wave_is_recorded_once_when_every_letter_is_ready_or_out() -> None:
    at = datetime(2026, 11, 30, 12, tzinfo=UTC)
    recorded: list[list[int]] = []

    def record(ids: list[int]) -> dict[int, datetime]:
        recorded.append(list(ids))
        return {i: at for i in ids if i != 3}  # letter 3 is no longer ours

    async def wave() -> list[datetime | None]:
        handover = waves.HandOver([1, 2, 3, 4], record)
        handover.finished(2)  # refused before its "354"
        answers = asyncio.gather(handover.ready(1), handover.ready(3), handover.ready(4))
        return list(await answers)

    assert asyncio.run(wave()) == [at, None, at]
    assert recorded == [[1, 3, 4]]


def test_a_wave_whose_record_fails_calls_every_letter_off() -> None:
    def record(ids: list[int]) -> dict[int, datetime]:
        raise RuntimeError("the database went away")

    async def wave() -> datetime | None:
        handover = waves.HandOver([1], record)
        return await handover.ready(1)

    with pytest.raises(RuntimeError):
        asyncio.run(wave())


def _acknowledged(app: App) -> int:
    with app.sessions() as session:
        return len(session.scalars(select(Case).where(Case.acknowledged_at.is_not(None))).all())


def test_forty_acknowledgements_over_four_connections_go_once_each(
    make_app: Callable[..., App], dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    app = make_app(smtp_extra=FOUR)
    assert app.config.smtp.connections == 4
    jobs.poll_cycle(app)
    senders = [f"relative{i:02d}@example.net" for i in range(40)]
    for i, sender in enumerate(senders):
        dovecot.deliver(mail(sender=sender, name=f"Relative {i}", subject=f"Missed visit {i}"))

    report = jobs.poll_cycle(app)

    assert report.errors == [] and report.delivery.sent == 40
    assert Counter(r for m in smtp_server.messages for r in m.rcpt_tos) == Counter(senders)
    assert _acknowledged(app) == 40
    with app.sessions() as session:
        rows = session.scalars(select(Outbox)).all()
    assert {row.state for row in rows} == {"sent"} and all(row.handed_over_at for row in rows)
    assert jobs.poll_cycle(app).delivery.sent == 0  # nothing goes twice


def test_in_a_wave_a_refusal_and_a_deferral_are_each_recorded_and_the_rest_go(
    make_app: Callable[..., App], dovecot: Dovecot, smtp_server: SmtpCapture, clock
) -> None:  # type: ignore[no-untyped-def]
    app = make_app(smtp_extra=FOUR)
    jobs.poll_cycle(app)
    smtp_server.reject_recipient("gone@example.net", 550)
    smtp_server.reject_recipient("busy@example.net", 451)
    senders = [
        "one@example.net",
        "gone@example.net",
        "busy@example.net",
        "two@example.net",
        "three@example.net",
    ]
    for sender in senders:
        dovecot.deliver(mail(sender=sender))

    report = jobs.poll_cycle(app)

    accepted = Counter(r for m in smtp_server.messages for r in m.rcpt_tos)
    assert accepted == Counter(["one@example.net", "two@example.net", "three@example.net"])
    assert report.delivery.sent == 3 and report.delivery.failed == 1 and report.delivery.retrying == 1
    with app.sessions() as session:
        state = {row.recipients[0]: row.state for row in session.scalars(select(Outbox))}
    assert state["gone@example.net"] == "failed" and state["busy@example.net"] == "pending"

    smtp_server.reset_failures()
    clock.now += timedelta(hours=1)
    jobs.poll_cycle(app)
    accepted = Counter(r for m in smtp_server.messages for r in m.rcpt_tos)
    assert accepted["busy@example.net"] == 1 and accepted["one@example.net"] == 1


class _Connection:
    """Only what ``_connected`` asks of an SMTP client: whether it is up, and to connect."""

    def __init__(self, refuses: bool) -> None:
        self.refuses, self.is_connected = refuses, False

    async def connect(self) -> None:
        if self.refuses:
            raise ConnectionRefusedError("421 too many connections")
        self.is_connected = True


def test_a_connection_the_server_refuses_is_not_used_again_that_run_unless_it_is_the_last() -> None:
    config = SmtpConfig("127.0.0.1", 25, "none", None, None, None, 5.0, connections=3)
    first, refused, third = _Connection(False), _Connection(True), _Connection(False)
    clients = [first, refused, third]
    assert asyncio.run(smtp._connected(clients, config)) == [first, third]  # type: ignore[arg-type]
    assert clients == [first, third]  # dropped for the rest of the run
    last = [_Connection(True)]
    said = asyncio.run(smtp._connected(last, config))  # type: ignore[arg-type]
    assert isinstance(said, str) and "cannot connect" in said and len(last) == 1
