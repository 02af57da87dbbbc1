"""Two people's complaints taken through the real servers, for the privacy tests: Jane Doe with two cases (an
attachment, a photo, a safeguarding disclosure, a coordinator's note, an outcome letter) and a message that
failed processing; Bob Smith with one case of his own. Unique tokens are planted in a message, a letter, an
attachment and a traceback, so a test can look for them everywhere afterwards."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from mailbot import pipeline
from mailbot.app import App
from mailbot.cases import actions
from mailbot.db.models import Base, Case
from mailbot.scheduled import jobs
from mailbot.testing import Dovecot, SmtpCapture
from tests.mails import mail

JANE = "jane.doe@example.net"
BOB = "bob.smith@example.org"
COORDINATOR = "priya.shah@riverside.example"
TOKENS = {
    "message": "TOKEN-MSG-7f3a91",
    "letter": "TOKEN-LTR-9b2144",
    "attachment": "TOKEN-ATT-4c88e0",
    "traceback": "TOKEN-TRC-1d5e7c",
}
NOTE = "NOTE-TEXT-31b6"  # a coordinator's internal note on Jane's first case
EXTENSION = "waiting for the rota records from the agency"
BOB_WORDS = ("BOB-SECRET-55aa", "BOB-FILE-66bb", BOB)
# A 1x1 PNG, drawn in the case file.
PHOTO = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
)
JANE_FIRST = f"""Dear Sir or Madam,

I want to make a formal complaint. My mother's carers have missed three visits this fortnight and the new
evening carer has been very rough with her when getting her ready for bed. Reference for my records:
{TOKENS["message"]}.

Jane Doe
"""


@dataclass(frozen=True)
class World:
    jane: tuple[str, str]  # her two cases
    bob: str


def with_attachments(raw: bytes, files: list[tuple[str, str, bytes]]) -> bytes:
    from email import message_from_bytes, policy

    message: EmailMessage = message_from_bytes(raw, policy=policy.default)  # type: ignore[assignment]
    message.make_mixed()
    for filename, content_type, data in files:
        maintype, subtype = content_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()


def staff_mail(body: str, subject: str, in_reply_to: str) -> bytes:
    """The coordinator's reply as our receiving server delivers it, vouched for (DMARC pass)."""
    results = "dkim=pass header.d=riverside.example; spf=pass smtp.mailfrom=riverside.example; dmarc=pass"
    headers = {"Authentication-Results": f"mx.riverside.example; {results}"}
    raw = mail(sender=COORDINATOR, name="Priya Shah", subject=subject, body=body, in_reply_to=in_reply_to,
               references=in_reply_to, headers=headers)  # fmt: skip
    return (
        b"Received: from mail.riverside.example by mx.riverside.example; Mon, 23 Nov 2026 10:00:00 +0000\r\n"
        + raw
    )


def build(app: App, dovecot: Dovecot, smtp: SmtpCapture, monkeypatch: pytest.MonkeyPatch) -> World:
    jobs.poll_cycle(app)  # first contact
    first = mail(sender=JANE, subject="Missed visits", body=JANE_FIRST, message_id="<jane-1@example.net>")
    diary = f"diary entries {TOKENS['attachment']}".encode()
    dovecot.deliver(with_attachments(first, [
        (f"care-diary-{TOKENS['attachment']}.txt", "text/plain", diary), ("photo.png", "image/png", PHOTO),
    ]))  # fmt: skip
    jobs.poll_cycle(app)
    dovecot.deliver(
        mail(sender=JANE, subject="Wrong invoice", body="Second complaint: the invoice is wrong.")
    )
    bob = mail(
        sender=BOB, name="Bob Smith", subject="Lost laundry", body=f"My shirts are lost. {BOB_WORDS[0]}"
    )
    dovecot.deliver(with_attachments(bob, [("list.txt", "text/plain", BOB_WORDS[1].encode())]))
    jobs.poll_cycle(app)
    _shunt_one(app, dovecot, monkeypatch)
    with app.sessions() as session:
        jane = tuple(
            session.scalars(select(Case.ref).where(Case.complainant_address == JANE).order_by(Case.id))
        )
        bob_ref = session.scalars(select(Case.ref).where(Case.complainant_address == BOB)).one()
    _coordinator_notes(app, dovecot, smtp, jane[0])
    with app.sessions.begin() as session:
        case = session.scalars(select(Case).where(Case.ref == jane[0])).one()
        actions.extend_case(session, app, case, 5, EXTENSION, True, "cli:test", app.clock())
        reasons = f"We are sorry; visits are restored. {TOKENS['letter']}"
        actions.record_case_outcome(session, app, case, "upheld", app.clock(), "cli:test", reasons)
    jobs.poll_cycle(app)  # the letters go, and their copies to the Sent folder
    return World((jane[0], jane[1]), bob_ref)


def _shunt_one(app: App, dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch) -> None:
    """A message from Jane whose processing fails with an error naming its subject, as a real bug's would."""
    real_route = pipeline.route

    def failing(routing):  # type: ignore[no-untyped-def]
        if TOKENS["traceback"] in routing.mail.subject:
            raise RuntimeError(f"cannot route {routing.mail.subject!r}")
        return real_route(routing)

    monkeypatch.setattr(pipeline, "route", failing)
    dovecot.deliver(mail(sender=JANE, subject=f"Update {TOKENS['traceback']}", body="More news."))
    jobs.poll_cycle(app)
    monkeypatch.setattr(pipeline, "route", real_route)


def _coordinator_notes(app: App, dovecot: Dovecot, smtp: SmtpCapture, ref: str) -> None:
    [notification] = [
        m.message for m in smtp.messages if COORDINATOR in m.rcpt_tos and ref in m.message["Subject"]
        and "New complaint" in m.message["Subject"]
    ]  # fmt: skip
    body = f"#note Spoke to the GP surgery. {NOTE}"
    dovecot.deliver(staff_mail(body, f"RE: {notification['Subject']}", notification["Message-ID"]))
    jobs.poll_cycle(app)


def close(app: App, *refs: str) -> None:
    with app.sessions.begin() as session:
        for ref in refs:
            case = session.scalars(select(Case).where(Case.ref == ref)).one()
            if case.status != "closed":
                actions.close_case(session, case, "cli:test", app.clock())


# --- looking everywhere ------------------------------------------------------------------------------------


def database_bytes(app: App) -> bytes:
    """Every column of every row of every table, as bytes."""
    found = []
    with app.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            for row in connection.execute(table.select()):
                found += [_as_bytes(value) for value in row]
    return b"\n".join(found)


def _as_bytes(value: object) -> bytes:
    if isinstance(value, bytes | memoryview):
        return bytes(value)
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False).encode()
    return str(value).encode()


def store_bytes(app: App) -> bytes:
    return b"\n".join(p.read_bytes() for p in sorted(Path(app.config.storage_dir).rglob("*")) if p.is_file())


def sqlite_file_bytes(app: App) -> bytes:
    """The SQLite database file and its write-ahead log as they are on disk (b"" on PostgreSQL)."""
    database = app.engine.url.database
    if app.engine.dialect.name != "sqlite" or not database:
        return b""
    return b"".join(
        Path(database + suffix).read_bytes() for suffix in ("", "-wal") if Path(database + suffix).exists()
    )


def invoke(app: App, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``mailbot --config ... ARGS`` as a person types it; (exit status, stdout, stderr)."""
    from mailbot import cli

    capsys.readouterr()
    status = cli.main(["--config", str(app.config.path), *args])
    out, err = capsys.readouterr()
    return status, out, err
