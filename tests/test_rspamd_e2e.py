"""The front door asks a real local rspamd (Debian's package, started by the ``rspamd`` fixture) when
``[spam] rspamd_url`` is set: what rspamd rejects is held as spam, unanswered; a person's mail goes on."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from mailbot.app import App
from mailbot.classify.rspamd import ask
from mailbot.db.models import Case, InboundMessage
from mailbot.scheduled import jobs
from mailbot.testing import Dovecot, Rspamd, SmtpCapture
from mailbot.testing.rspamd import GTUBE
from mailbot.vocabulary import InboundState
from tests.mails import mail
from tests.test_front_door_e2e import CONFIG


@pytest.fixture
def app(make_app: Callable[..., App], rspamd: Rspamd) -> App:
    app = make_app(extra=CONFIG + f'\n[spam]\nrspamd_url = "{rspamd.url}"\n')
    jobs.poll_cycle(app)  # first contact
    return app


def test_rspamd_answers_over_http(rspamd: Rspamd) -> None:
    [verdict] = ask(rspamd.url, f"Subject: hi\r\n\r\n{GTUBE}\r\n".encode(), timeout=30)
    assert verdict.spam and verdict.detail.startswith("action reject")


def test_what_rspamd_rejects_is_held_and_a_complaint_goes_on(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    dovecot.deliver(mail(sender="offers@example.com", subject="Special offer", body=f"Buy now.\n{GTUBE}\n"))
    dovecot.deliver(mail(sender="jane.doe@example.net"))
    jobs.poll_cycle(app)

    with app.sessions() as session:
        states = dict(session.execute(select(InboundMessage.kind, InboundMessage.state)).all())
        [case] = session.scalars(select(Case)).all()
    assert states["spam"] == InboundState.QUARANTINED
    assert case.complainant_address == "jane.doe@example.net"
    assert [m.rcpt_tos for m in smtp_server.messages if "offers@example.com" in m.rcpt_tos] == []


def test_rspamd_out_of_reach_leaves_the_headers_to_decide(
    make_app: Callable[..., App], dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    app = make_app(extra=CONFIG + '\n[spam]\nrspamd_url = "http://127.0.0.1:9"\nrspamd_timeout_seconds = 2\n')
    jobs.poll_cycle(app)
    dovecot.deliver(mail(sender="jane.doe@example.net"))
    jobs.poll_cycle(app)

    with app.sessions() as session:
        assert session.scalars(select(Case.kind)).all() == ["complaint"]
