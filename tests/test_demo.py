"""``make demo`` shows the headline features (issue 16): the acknowledgements, the coordinator's notification,
the coordinator's reply relayed to the complainant, and the lead's digest preview."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mailbot import demo
from mailbot.testing import find_aiosmtpd, find_dovecot, require


def test_the_demo_shows_notification_relay_and_digest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    require(find_dovecot, find_aiosmtpd)
    monkeypatch.setenv(demo.PASSWORD_ENV, "")  # the demo sets it; restored after the test
    demo.run(tmp_path / "demo")
    out = capsys.readouterr().out
    notification = out.split("== The coordinator's notification, to priya.shah@riverside.example:")[1]
    assert re.search(r"Subject: \[CMP-\d{4}-0001\] New complaint from Margaret Hughes", notification)
    relayed = out.split("== What the complainant received, to margaret.hughes@example.net:")[1]
    assert "two named carers from today" in relayed and "> " not in relayed.split("==")[0]
    digest = out.split("$ mailbot --config")[-1]
    assert "digest --preview" in digest.splitlines()[0] and "for Sam Okafor" in digest
    assert "Complaints     2" in digest
