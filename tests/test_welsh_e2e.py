"""A complaint written in Welsh is acknowledged in Welsh first, then English, on real servers; an English one
stays English."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mailbot.app import App
from mailbot.scheduled import jobs
from mailbot.testing import Dovecot, SmtpCapture
from tests.mails import mail

CWYN = """Annwyl Syr neu Fadam,

Hoffwn wneud cwyn ffurfiol am y gofal y mae fy mam yn ei gael gartref. Mae'r gofalwyr wedi methu tri
ymweliad yn ystod y pythefnos diwethaf ac nid oes neb wedi ffonio i ddweud wrthym. Nid yw hyn yn
dderbyniol ac rwy'n anhapus iawn gyda'r gwasanaeth.

Diolch,
Megan Pritchard
"""


@pytest.fixture
def app(make_app: Callable[..., App]) -> App:
    app = make_app()
    jobs.poll_cycle(app)  # first contact
    return app


def test_a_welsh_complaint_is_acknowledged_in_welsh_first(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    dovecot.deliver(
        mail(sender="megan@example.net", name="Megan Pritchard", subject="Cwyn am ofal", body=CWYN)
    )
    jobs.poll_cycle(app)
    [sent] = [m.message for m in smtp_server.messages if "megan@example.net" in m.rcpt_tos]
    text = sent.get_body(preferencelist=("plain",)).get_content()
    welsh, english = text.index("Diolch"), text.index("Thank you")
    assert welsh < english  # Welsh first
    assert " / " in sent["Subject"]  # "Welsh / English"
    assert "cyfeirnod" in text.lower()


def test_an_english_complaint_stays_in_english(app: App, dovecot: Dovecot, smtp_server: SmtpCapture) -> None:
    dovecot.deliver(mail(sender="jane@example.net"))
    jobs.poll_cycle(app)
    [sent] = [m.message for m in smtp_server.messages if "jane@example.net" in m.rcpt_tos]
    text = sent.get_body(preferencelist=("plain",)).get_content()
    assert "Thank you" in text and "Diolch" not in text
