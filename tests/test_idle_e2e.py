"""`mailbot run` waits for mail with IMAP IDLE on the real Dovecot: new mail is acknowledged within seconds,
not at the next poll; a restarted server is connected to again; a server without IDLE is polled."""

from __future__ import annotations

import dataclasses
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from imapclient import IMAPClient
from sqlalchemy import select

from mailbot.app import App
from mailbot.config.servers import MailboxConfig
from mailbot.db.models import InboundMessage, MailboxState
from mailbot.leases import Roll
from mailbot.scheduled import idle as idle_module
from mailbot.scheduled.jobs import CycleReport, process_and_deliver
from mailbot.testing import Dovecot, SmtpCapture
from tests.conftest import PASSWORD
from tests.mails import mail
from tests.services import running, wait_for, wait_until_idling, with_schedule

HOUR = 3600
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def first_contact_made(app: App) -> bool:
    with app.sessions() as session:
        return session.scalars(select(MailboxState)).first() is not None


def tidied(dovecot: Dovecot) -> int:
    return sum(b"$MailbotProcessed" in flags for _, flags, _ in dovecot.messages())


def acknowledgements_to(smtp: SmtpCapture, sender: str) -> int:
    return sum(1 for m in smtp.messages if m.rcpt_tos == (sender,))


def test_new_mail_is_acknowledged_within_seconds_without_waiting_for_the_poll(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture, tmp_path: Path
) -> None:
    config = with_schedule(app, poll_seconds=HOUR)  # only IDLE can bring the mail in during this test
    with running(config, tmp_path / "run.log") as service:
        wait_for(lambda: service.said("waiting for mail with IDLE"), "the reader to begin IDLE")
        took = []
        for n in range(3):
            wait_until_idling(dovecot)
            dovecot.deliver(mail(sender=f"person{n}@example.net", subject=f"Complaint {n}"))
            sender = f"person{n}@example.net"
            took.append(wait_for(lambda s=sender: acknowledgements_to(smtp_server, s) == 1, "an ack"))
            wait_for(lambda n=n: tidied(dovecot) == n + 1, "the mailbox to be tidied")
        time.sleep(1)  # long enough for a second letter to be sent, were one going to be
    assert max(took) < 10, took  # seconds, on a busy shared machine; an hour's poll would never come
    assert sorted(m.rcpt_tos[0] for m in smtp_server.messages) == [f"person{n}@example.net" for n in range(3)]
    with app.sessions() as session:
        assert {m.state for m in session.scalars(select(InboundMessage))} == {"processed"}
    assert all(b"$MailbotProcessed" in flags for _, flags, _ in dovecot.messages())  # tidied too


@SQLITE_ONLY
def test_a_restarted_server_is_connected_to_again_and_its_mail_acknowledged(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture, tmp_path: Path
) -> None:
    config = with_schedule(app, poll_seconds=HOUR)
    with running(config, tmp_path / "run.log") as service:
        wait_for(lambda: service.said("waiting for mail with IDLE"), "the reader to begin IDLE")
        dovecot.restart()  # every connection dropped, the server back on the same port a moment later
        wait_for(lambda: service.said("connecting again"), "the reader to notice")
        wait_for(lambda: service.log.read_text().count("waiting for mail with IDLE") == 2, "IDLE again")
        wait_until_idling(dovecot)
        dovecot.deliver(mail(sender="after.restart@example.net"))
        wait_for(lambda: acknowledgements_to(smtp_server, "after.restart@example.net") == 1, "the ack")
    assert len(smtp_server.messages) == 1


@SQLITE_ONLY
def test_a_dropped_connection_is_made_again(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture, tmp_path: Path
) -> None:
    config = with_schedule(app, poll_seconds=HOUR)
    with running(config, tmp_path / "run.log") as service:
        wait_for(lambda: service.said("waiting for mail with IDLE"), "the reader to begin IDLE")
        kick = subprocess.run(
            ["doveadm", "-c", str(dovecot.config_path), "kick", "complaints"], capture_output=True, text=True
        )
        assert kick.returncode == 0, kick.stderr
        wait_for(lambda: service.said("closed the connection during IDLE"), "the reader to notice")
        wait_for(lambda: service.log.read_text().count("waiting for mail with IDLE") == 2, "IDLE again")
        wait_until_idling(dovecot)
        dovecot.deliver(mail(sender="after.kick@example.net"))
        wait_for(lambda: acknowledgements_to(smtp_server, "after.kick@example.net") == 1, "the ack")


@SQLITE_ONLY
def test_a_server_without_idle_is_polled(
    make_app: Callable[..., App], smtp_server: SmtpCapture, tmp_path: Path
) -> None:
    with Dovecot(tmp_path / "no-idle", users={"complaints": PASSWORD}, idle=False) as plain:
        with plain.client() as imap:
            assert not imap.has_capability("IDLE")
        app = make_app(mailboxes=_table(plain.port))
        config = with_schedule(app, poll_seconds=1)
        with running(config, tmp_path / "run.log") as service:
            wait_for(lambda: first_contact_made(app), "the first poll")
            plain.deliver(mail(sender="polled@example.net"))
            wait_for(lambda: acknowledgements_to(smtp_server, "polled@example.net") == 1, "the ack")
    assert service.said("has no IDLE; polling every 1 s")
    assert not service.said("waiting for mail with IDLE")


@SQLITE_ONLY
def test_idle_false_polls_even_where_the_server_has_idle(
    make_app: Callable[..., App], dovecot: Dovecot, smtp_server: SmtpCapture, tmp_path: Path
) -> None:
    app = make_app(mailboxes=_table(dovecot.port, "idle = false"))
    config = with_schedule(app, poll_seconds=1)
    with running(config, tmp_path / "run.log") as service:
        wait_for(lambda: first_contact_made(app), "the first poll")
        dovecot.deliver(mail(sender="polled@example.net"))
        wait_for(lambda: acknowledgements_to(smtp_server, "polled@example.net") == 1, "the ack")
    assert not service.said("waiting for mail with IDLE")


def _table(port: int, extra: str = "") -> str:
    from tests.conftest import mailbox_table

    return mailbox_table("complaints", port, extra)


@SQLITE_ONLY
def test_mail_that_lands_just_before_idle_is_found_at_the_renewal(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dovecot does not announce a mail that arrives between the reader's last look and its IDLE: the mail
    is delivered at exactly that moment here, and the reader's renewal must find it."""
    real_connect = idle_module.mailbox.connect
    landed: list[float] = []

    @contextmanager
    def connect_with_a_mail_landing_before_idle(box: MailboxConfig) -> Iterator[IMAPClient]:
        with real_connect(box) as client:
            real_idle = client.idle

            def idle() -> object:
                if not landed:
                    dovecot.deliver(mail(sender="just.before@example.net"))
                    landed.append(time.monotonic())
                return real_idle()

            monkeypatch.setattr(client, "idle", idle)
            yield client

    monkeypatch.setattr(idle_module.mailbox, "connect", connect_with_a_mail_landing_before_idle)
    box = dataclasses.replace(app.config.mailboxes[0], idle_renew_minutes=RENEWAL_SECONDS / 60)  # type: ignore[arg-type]
    reader, stopping = _reader(app, box)
    reader.start()
    try:
        wait_for(lambda: acknowledgements_to(smtp_server, "just.before@example.net") == 1, "the ack")
    finally:
        stopping.set()
        reader.join(timeout=30)
    assert len(smtp_server.messages) == 1
    assert time.monotonic() - landed[0] >= RENEWAL_SECONDS - 1  # found by the renewal, not announced


RENEWAL_SECONDS = 4


def _reader(app: App, box: MailboxConfig) -> tuple[idle_module.MailboxReader, threading.Event]:
    turns = idle_module.Turns(lambda: process_and_deliver(app, CycleReport()))
    stopping = threading.Event()
    return idle_module.MailboxReader(app, box, turns, Roll(app.sessions, 1), stopping), stopping
