"""Defaults a person expects (issue 16): ``classify`` works without a configuration file, ``digest --preview``
shows the coming digest (with this week's mail), ``poll`` alone is one cycle."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import mailbot.app
from mailbot import cli
from mailbot.app import App
from mailbot.scheduled import jobs
from mailbot.testing import Dovecot, SmtpCapture
from tests.conftest import ENVIRON, ROOT, Clock
from tests.mails import mail
from tests.test_routing_e2e import STAFF


def test_classify_without_a_configuration_file_uses_the_shipped_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no config.toml here
    monkeypatch.delenv("MAILBOT_CONFIG", raising=False)
    examples = ROOT / "examples"
    status = cli.main(
        ["classify", str(examples / "02-thank-you.eml"), str(examples / "01-missed-visits.eml")]
    )
    out, err = capsys.readouterr()
    assert status == 0 and err == ""
    thanks, missed = out.splitlines()
    assert thanks.startswith(f"{examples / '02-thank-you.eml'}: compliment")
    assert missed.startswith(f"{examples / '01-missed-visits.eml'}: complaint safeguarding")


# The last second of a digest's week (Monday digests: Monday to Sunday), where a date read twice could be read
# on both sides of midnight.
LAST_SECOND_OF_A_WEEK = datetime(2026, 11, 22, 23, 59, 59, tzinfo=ZoneInfo("Europe/London"))


@pytest.mark.parametrize("moment", [None, LAST_SECOND_OF_A_WEEK], ids=["now", "last-second-of-a-week"])
def test_digest_preview_shows_the_coming_digest_and_poll_alone_is_one_cycle(
    moment: datetime | None,
    make_app: Callable[..., App],
    dovecot: Dovecot,
    smtp_server: SmtpCapture,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    clock.now = moment or clock.now
    app = make_app(extra=STAFF)
    for name, value in ENVIRON.items():
        monkeypatch.setenv(name, value)
    # The commands run on the test's clock, read once, and the mail arrives at that moment: on the real
    # clock, a preview just after midnight at the end of the digest's week would show the next week, holding
    # neither "today" nor the mail.
    monkeypatch.setattr(mailbot.app, "build_app", functools.partial(mailbot.app.build_app, clock=app.clock))
    jobs.poll_cycle(app)  # first contact
    with dovecot.client() as imap:
        imap.append("INBOX", mail(sender="jane.doe@example.net", date=clock.now), msg_time=clock.now)
    assert cli.main(["--config", str(app.config.path), "poll"]) == 0
    assert "complaints: 1 new message(s)" in capsys.readouterr().out

    assert cli.main(["--config", str(app.config.path), "digest", "--preview"]) == 0
    coming = capsys.readouterr().out
    today = app.clock().astimezone(ZoneInfo(app.config.timezone)).date()
    span = coming.splitlines()[1]  # "Monday 30 November 2026 to Sunday 6 December 2026, for Sam Okafor"
    start, end = (datetime.strptime(day, "%A %d %B %Y").date() for day in span.split(",")[0].split(" to "))
    assert start <= today <= end
    assert re.search(r"^  Complaints +1$", coming, re.MULTILINE), coming
