"""Reading ahead (``mailbot.ahead``): a batch parsed and classified by forked workers comes out as it would
have without them, on real servers and both databases: the same kinds and rules, a reply threaded into the
case a complaint earlier in the same batch opened, a big message handled here, one acknowledgement each."""

from __future__ import annotations

import time
from collections import Counter
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from mailbot import ahead
from mailbot.app import App
from mailbot.db.models import Case, Correspondence, InboundMessage
from mailbot.intake.arrivals import read_raw
from mailbot.intake.parse import parse_mail
from mailbot.scheduled import jobs
from mailbot.testing import Dovecot, SmtpCapture
from tests.mails import mail

COMPLAINTS = 10


@pytest.fixture
def guesses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The ids of the messages a worker's guess was used for; two workers even on a one-CPU host."""
    used: list[int] = []
    guess = ahead.Reader.guess

    def counted(reader: ahead.Reader, inbound_id: int) -> ahead.Guess | None:
        found = guess(reader, inbound_id)
        used.extend([inbound_id] if found else [])
        return found

    monkeypatch.setattr(ahead.Reader, "guess", counted)
    monkeypatch.setattr(ahead, "worker_count", lambda: 2)
    return used


def with_attachment(sender: str, size: int) -> bytes:
    message = EmailMessage()
    message["From"], message["To"] = sender, "complaints@riverside.example"
    message["Subject"], message["Message-ID"] = "Care plan attached", "<big.one@example.net>"
    message.set_content("I want to complain: the care plan attached was never followed.")
    pdf = b"%PDF-1.4\n" + b"x" * size
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename="p.pdf")
    return message.as_bytes()


def test_a_batch_read_ahead_is_processed_as_it_would_be_without(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture, guesses: list[int]
) -> None:
    jobs.poll_cycle(app)  # first contact: where intake starts
    senders = [f"relative{i:02d}@example.net" for i in range(COMPLAINTS)]
    for i, sender in enumerate(senders):
        body = "Our son was hit by a carer and left with a bruise." if i == 3 else None
        dovecot.deliver(mail(sender=sender, message_id=f"<c{i}@example.net>", body=body))
    dovecot.deliver(
        mail(sender=senders[0], subject="RE: Missed care visits", in_reply_to="<c0@example.net>",
             body="One more thing: the agency has not called back.")
    )  # fmt: skip
    dovecot.deliver(with_attachment("big@example.net", ahead.LARGEST + 1000))

    report = jobs.poll_cycle(app)

    assert report.errors == [] and report.processing.shunted == 0
    with app.sessions() as session:
        inbound = list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))
        assert len(guesses) >= COMPLAINTS  # the workers did the parsing and classifying
        assert inbound[-1].id not in guesses  # the big message was read and parsed here
        # Every verdict is the one this process gives the same mail as new mail.
        for row in inbound[:COMPLAINTS] + inbound[-1:]:
            verdict = app.classify(parse_mail(read_raw(session, row.id)), None)
            assert (row.kind, row.rules_hit) == (verdict.kind, list(verdict.rules_hit))
        assert "safeguarding" in session.get(Case, inbound[3].case_id).flags
        # The reply threads into the case its complaint opened moments before, in the same batch.
        reply = inbound[COMPLAINTS]
        assert reply.case_id == inbound[0].case_id is not None
        entries = session.scalars(select(Correspondence).where(Correspondence.inbound_id == reply.id)).all()
        assert [e.case_id for e in entries] == [inbound[0].case_id]
        assert len(session.scalars(select(Case)).all()) == COMPLAINTS + 1
    acknowledged = Counter(rcpt for m in smtp_server.messages for rcpt in m.rcpt_tos)
    assert acknowledged == Counter([*senders, "big@example.net"])  # one each; none for the reply


def test_a_small_batch_is_not_read_ahead(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture, guesses: list[int]
) -> None:
    jobs.poll_cycle(app)
    for i in range(ahead.WORTH_IT - 1):
        dovecot.deliver(mail(sender=f"p{i}@example.net"))

    report = jobs.poll_cycle(app)

    assert report.processing.processed == ahead.WORTH_IT - 1
    assert guesses == []
    assert len(smtp_server.messages) == ahead.WORTH_IT - 1


def _stuck(raw: bytes) -> ahead.Guess:
    time.sleep(600)
    raise AssertionError("never")


def test_a_stuck_worker_costs_one_wait_and_the_batch_is_done_here(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture, guesses: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs.poll_cycle(app)
    for i in range(ahead.WORTH_IT + 2):
        dovecot.deliver(mail(sender=f"p{i}@example.net"))
    monkeypatch.setattr(ahead, "_guess", _stuck)  # the workers, forked after this, hang
    monkeypatch.setattr(ahead, "WAIT_SECONDS", 1.0)

    started = time.monotonic()
    report = jobs.poll_cycle(app)

    assert report.processing.processed == ahead.WORTH_IT + 2 and guesses == []
    assert len(smtp_server.messages) == ahead.WORTH_IT + 2
    assert time.monotonic() - started < 60  # one wait, not one per message, and the workers not waited for
