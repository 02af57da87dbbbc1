"""The hot path's SQL, counted: processing one new complaint, or one reply on a case, costs a known number of
statements and ORM flushes on SQLite and PostgreSQL, and a change that adds round trips to it fails here
(benchmarks/ingest.py measures what they cost in time)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import event, select

from mailbot.app import App
from mailbot.db.models import Case, InboundMessage
from mailbot.pipeline import process_pending
from mailbot.scheduled import jobs
from mailbot.testing import Dovecot, SmtpCapture
from tests.mails import mail

# Statements (and ORM flushes) for one message, counted from the claim to the commit, with the batch's own
# statements (the list of waiting messages, the kind model's examples) counted in full as a batch of one
# has them. The budget is what processing took when it was set (issue 15: a new complaint took 28
# statements and 10 flushes before, 21 and 7 after, on SQLite; PostgreSQL one fewer); a change that needs
# more raises the budget here, deliberately, and says why.
# Raised: REPLY from 10 to 11 when the raw bytes moved to their own table (issue 10, read a piece at a
# time so a big message is not held twice); PostgreSQL reads them with a statement of its own (size and
# first piece together), SQLite through its blob reader. A new complaint absorbed it (the claim on
# PostgreSQL now takes SKIP LOCKED inside its UPDATE) and stays at 21.
# Lowered (issue 15, second pass): a new complaint 21 statements and 7 flushes to 19 and 3 (PostgreSQL 18), a
# reply 11 and 2 to 10 and 1 (SQLite 9): the case is written with its first stage in one INSERT instead of an
# INSERT and an UPDATE; the letters of a case opened in this transaction are not looked up in the outbox (it
# cannot hold one); the received mail's rows go with the next flush instead of one of their own; and the
# reference counter, the persistent-sender count and the daily cap no longer flush what is pending first.
# Raised: a new complaint 19 to 20 (PostgreSQL 19) for the check that a complaint sent again word for word
# under a new Message-ID joins the sender's open case instead of opening a second one with a second
# acknowledgement (cases/threading.py, found by tests/test_attacks.py): one query on sender and content hash.
# Lowered (issue 15, fourth pass): a new complaint 20 statements and 3 flushes to 15 (PostgreSQL 16: its two
# correspondence rows were one batched INSERT in a flush, and are one INSERT each now) and no flush; a reply
# 9 (PostgreSQL 10) and no flush. New rows on the hot path are written at once (db/rows.py), the audit events
# of a new case in one statement, the message's own fields in one UPDATE at the end.
# Lowered (issue 15, fifth pass): a new complaint 15 statements to 14 (PostgreSQL 16 to 15): the check for
# the same complaint sent again word for word is asked in the statement that looks for earlier copies of the
# mail (cases/threading.py earlier_copies), as find_thread asks it next with nothing written in between.
NEW_COMPLAINT = 15
NEW_COMPLAINT_FLUSHES = 0
REPLY = 10
REPLY_FLUSHES = 0


@dataclass
class Tally:
    statements: list[str] = field(default_factory=list)
    flushes: int = 0

    def __str__(self) -> str:
        return "\n".join(s.split("\n", 1)[0][:120] for s in self.statements)


@contextmanager
def counting(app: App) -> Iterator[Tally]:
    tally = Tally()

    def statement(_conn, _cursor, text: str, *_args) -> None:  # type: ignore[no-untyped-def]
        tally.statements.append(text)

    def flushed(*_args) -> None:  # type: ignore[no-untyped-def]
        tally.flushes += 1

    event.listen(app.engine, "before_cursor_execute", statement)
    event.listen(app.sessions, "after_flush", flushed)
    try:
        yield tally
    finally:
        event.remove(app.engine, "before_cursor_execute", statement)
        event.remove(app.sessions, "after_flush", flushed)


def fetch_only(app: App) -> None:
    report = jobs.CycleReport()
    for box in app.config.mailboxes:
        jobs.fetch_mailbox(app, box, report)
    assert report.errors == []


def processed(app: App, deliver: Callable[[], None]) -> Tally:
    """Deliver a mail, fetch it, and count what processing it costs."""
    deliver()
    fetch_only(app)
    with counting(app) as tally:
        report = process_pending(app)
    assert (report.processed, report.shunted) == (1, 0)
    jobs.poll_cycle(app)  # deliver and file what it wrote, so the next message starts from a quiet outbox
    return tally


def test_one_new_complaint_and_one_reply_stay_within_their_statement_budget(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    jobs.poll_cycle(app)  # first contact
    processed(app, lambda: dovecot.deliver(mail(sender="earlier@example.net", subject="Missed visits")))

    complaint = processed(
        app, lambda: dovecot.deliver(mail(sender="jane@example.net", subject="Late carers"))
    )

    with app.sessions() as session:
        case = session.scalars(select(Case).where(Case.complainant_address == "jane@example.net")).one()
    assert case.acknowledged_at is not None
    assert [m.rcpt_tos for m in smtp_server.messages].count(("jane@example.net",)) == 1
    assert len(complaint.statements) <= NEW_COMPLAINT, f"{len(complaint.statements)} statements:\n{complaint}"
    assert complaint.flushes <= NEW_COMPLAINT_FLUSHES

    reply = processed(
        app,
        lambda: dovecot.deliver(mail(sender="jane@example.net", subject=f"Re: {case.ref} Late carers",
                                     body="Thank you. One more thing: the carer was late again today.")),
    )  # fmt: skip

    with app.sessions() as session:
        last = session.scalars(select(InboundMessage).order_by(InboundMessage.id.desc())).first()
    assert last is not None and last.case_id == case.id  # threaded into the case, not a new one
    assert len(reply.statements) <= REPLY, f"{len(reply.statements)} statements:\n{reply}"
    assert reply.flushes <= REPLY_FLUSHES
