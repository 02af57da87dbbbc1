"""Copies of what was sent, filed in the mailbox's Sent folder: once each, as sent, marked read, whether the
server takes several in one APPEND (MULTIAPPEND, RFC 3502) or only one at a time."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from email import message_from_bytes
from pathlib import Path

from sqlalchemy import select

from mailbot.app import App
from mailbot.db.models import Outbox
from mailbot.outgoing import sent_folder
from mailbot.scheduled import jobs
from mailbot.testing import Dovecot, SmtpCapture
from tests.conftest import PASSWORD, mailbox_table
from tests.mails import mail

SEEN = b"\\Seen"


def _complaints(dovecot: Dovecot, count: int) -> list[str]:
    senders = [f"relative{i:02d}@example.net" for i in range(count)]
    for i, sender in enumerate(senders):
        dovecot.deliver(mail(sender=sender, name=f"Relative {i}", subject=f"Missed visit {i}"))
    return senders


def _filed_as_sent(app: App, dovecot: Dovecot, folder: str) -> None:
    """Every letter sent is in the Sent folder exactly once, byte for byte as sent, marked read."""
    with app.sessions() as session:
        sent = {
            row.message_id: row.raw for row in session.scalars(select(Outbox).where(Outbox.state == "sent"))
        }
    copies = dovecot.messages(folder=folder)
    ids = Counter(message_from_bytes(raw)["Message-ID"].strip("<>") for _, _, raw in copies)
    assert ids == Counter(sent.keys())  # each once, and nothing else
    for _, flags, raw in copies:
        assert SEEN in flags
        assert raw == sent[message_from_bytes(raw)["Message-ID"].strip("<>")]


def test_thirty_acknowledgements_are_filed_once_each_where_the_server_takes_multiappend(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    with dovecot.client() as imap:
        assert imap.has_capability("MULTIAPPEND")
    jobs.poll_cycle(app)  # first contact
    _complaints(dovecot, 30)

    report = jobs.poll_cycle(app)

    assert report.errors == []
    assert report.filed == 30
    assert len(smtp_server.messages) == 30
    _filed_as_sent(app, dovecot, "Sent")
    assert jobs.poll_cycle(app).filed == 0  # a second poll files nothing again
    assert len(dovecot.messages(folder="Sent")) == 30


def test_a_server_without_multiappend_gets_one_append_a_copy(
    make_app: Callable[..., App], smtp_server: SmtpCapture, tmp_path: Path
) -> None:
    with Dovecot(tmp_path / "plain", users={"complaints": PASSWORD}, idle=False) as plain:
        with plain.client() as imap:
            assert not imap.has_capability("MULTIAPPEND")
        app = make_app(mailboxes=mailbox_table("complaints", plain.port))
        jobs.poll_cycle(app)
        _complaints(plain, 4)

        report = jobs.poll_cycle(app)

        assert report.errors == [] and report.filed == 4
        _filed_as_sent(app, plain, "Sent")


class _Server:
    """Only what ``_appends`` asks of a connection: whether the server has an extension."""

    def __init__(self, *capabilities: str) -> None:
        self.capabilities = set(capabilities)

    def has_capability(self, name: str) -> bool:
        return name in self.capabilities


def test_copies_go_several_to_an_append_up_to_the_size_limit_and_one_each_without_multiappend() -> None:
    big = sent_folder.MULTIAPPEND_BYTES // 3
    rows = [Outbox(id=n, raw=b"x" * size) for n, size in enumerate([big, big, 10, big, big, big, 2 * big])]

    groups = sent_folder._appends(_Server("MULTIAPPEND"), rows)  # type: ignore[arg-type]

    assert [[row.id for row in group] for group in groups] == [[0, 1, 2], [3, 4, 5], [6]]
    assert all(sum(len(row.raw) for row in group) <= sent_folder.MULTIAPPEND_BYTES for group in groups)
    alone = sent_folder._appends(_Server(), rows)  # type: ignore[arg-type]
    assert [[row.id for row in group] for group in alone] == [[n] for n in range(7)]
