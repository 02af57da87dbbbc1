"""``mailbot check-config`` catches, before the bot runs, each mistake issue 16 found passing it and breaking
the bot later: one line per problem naming the file and key, a non-zero exit, never a traceback. Against the
real Dovecot and SMTP servers, and SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from mailbot import cli
from mailbot.testing import Dovecot, SmtpCapture, find_dovecot, require
from tests.conftest import ENVIRON, PASSWORD, mailbox_table, write_config

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def check(
    tmp_path: Path,
    dovecot: Dovecot,
    smtp_server: SmtpCapture,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Run:
    """Write a configuration (with changes) and run check-config on it: (exit code, stdout, stderr)."""
    for name, value in ENVIRON.items():
        monkeypatch.setenv(name, value)

    def run(
        extra: str = "", mailbox_extra: str = "", smtp_extra: str = "", policy: str = "lgsco-hos-code",
        database: str | None = None, imap: Dovecot = dovecot, edit: Callable[[str], str] | None = None,
    ) -> tuple[int, str, str]:  # fmt: skip
        config = write_config(
            tmp_path, imap, smtp_server, database or database_url, extra,
            mailboxes=mailbox_table("complaints", imap.port, mailbox_extra), policy=policy,
            smtp_extra=smtp_extra,
        )  # fmt: skip
        if edit is not None:
            config.write_text(edit(config.read_text(encoding="utf-8")), encoding="utf-8")
        status = cli.main(["--config", str(config), "check-config"])
        out, err = capsys.readouterr()
        return status, out, err

    return run


def fail_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("FAIL")]


def test_a_sound_configuration_passes_every_check(check: Run) -> None:
    status, out, err = check()
    assert status == 0 and fail_lines(err) == []
    assert "ok   policies: lgsco-hos-code found" in out
    assert (
        "ok   complaints: logged in to 127.0.0.1" in out and "ok   complaints: INBOX has 0 message(s)" in out
    )
    assert "ok   complaints: Sent folder 'Sent' (the server marks it \\Sent)" in out
    assert "ok   database: " in out and "ok   smtp: connected to 127.0.0.1" in out
    assert "problem" not in err


def test_an_unknown_policy_is_named_with_the_ones_there_are(check: Run) -> None:
    status, out, err = check(policy="help-and-cares")
    [line] = fail_lines(err)
    assert "FAIL" not in out  # problems on stderr, the checks that passed on stdout
    assert status == 1
    assert "config.toml: cases.policy: no policy 'help-and-cares' in " in line and "help-and-care," in line


def test_a_mailbox_naming_an_unknown_policy_is_named_by_its_key(check: Run) -> None:
    status, out, err = check(mailbox_extra='policy = "wivey-care"')
    [line] = fail_lines(err)
    assert "FAIL" not in out  # problems on stderr, the checks that passed on stdout
    assert status == 1 and "mailbox[0].policy: no policy 'wivey-care'" in line and "wivey-cares" in line


def smtp_port(port: int) -> Callable[[str], str]:
    """The [smtp] table's port, which write_config writes, changed in the text."""

    def edit(text: str) -> str:
        start = text.index("port = ", text.index("[smtp]"))
        return text[:start] + f"port = {port}" + text[text.index("\n", start) :]

    return edit


def test_a_port_out_of_range_stops_at_the_file_in_one_line(check: Run) -> None:
    status, out, err = check(edit=smtp_port(99999))
    assert status == 2 and out == "" and "Traceback" not in err
    assert err == "mailbot: {}: smtp.port: expected a port number from 1 to 65535, got 99999\n".format(
        err.split(": ")[1]
    )


def test_a_database_url_sqlalchemy_cannot_open_stops_at_the_file_in_one_line(check: Run) -> None:
    status, out, err = check(database="sqlite3:///var/mailbot.db")
    assert status == 2 and out == "" and err.count("\n") == 1
    assert 'database.url: expected "sqlite:///PATH" or "postgresql+psycopg://USER@HOST/DATABASE"' in err
    assert "got one starting 'sqlite3://'" in err


def test_a_database_that_does_not_answer_is_named(check: Run) -> None:
    status, out, err = check(database="postgresql+psycopg://mailbot:hunter2@127.0.0.1:1/mailbot")
    [line] = fail_lines(err)
    assert "FAIL" not in out  # problems on stderr, the checks that passed on stdout
    assert (
        status == 1 and "database.url: cannot connect to postgresql+psycopg://mailbot:***@127.0.0.1:1" in line
    )
    assert "hunter2" not in out + err


def test_a_folder_that_is_not_there_is_one_line_not_a_traceback(check: Run) -> None:
    status, out, err = check(mailbox_extra='folder = "Complaints"')
    [line] = fail_lines(err)
    assert "FAIL" not in out  # problems on stderr, the checks that passed on stdout
    assert status == 1 and "Traceback" not in err
    assert "mailbox[0].folder: no folder 'Complaints' on 127.0.0.1 (folders: " in line and "INBOX" in line


def test_a_sent_folder_that_is_not_there_is_named(check: Run) -> None:
    status, out, err = check(mailbox_extra='sent_folder = "Sent Mail"')
    [line] = fail_lines(err)
    assert "FAIL" not in out  # problems on stderr, the checks that passed on stdout
    assert status == 1 and "mailbox[0].sent_folder: no folder 'Sent Mail' on 127.0.0.1" in line
    assert "remove the key to use the folder the server marks \\Sent" in line


def test_the_sent_folder_is_found_by_special_use_when_not_named(check: Run, tmp_path: Path) -> None:
    require(find_dovecot)
    users = {"complaints": PASSWORD}
    with Dovecot(tmp_path / "exchange-like", users=users, sent_folder="Sent Items") as exchange_like:
        status, out, _ = check(imap=exchange_like)
    assert status == 0 and "ok   complaints: Sent folder 'Sent Items' (the server marks it \\Sent)" in out


def test_an_unset_smtp_password_variable_is_named_as_the_imap_one_is(
    check: Run, smtp_server: SmtpCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEST_SMTP_PASSWORD", raising=False)
    status, out, err = check(smtp_extra='username = "complaints"\npassword_env = "TEST_SMTP_PASSWORD"')
    [line] = fail_lines(err)
    assert "FAIL" not in out  # problems on stderr, the checks that passed on stdout
    assert status == 1
    assert "smtp.password_env: environment variable TEST_SMTP_PASSWORD is not set" in line
    # no SMTP "535 authentication failed" reply: the bot must not have tried to log in without a password
    assert not re.search(r"(?<![\d:])535(?!\d)", out + err)

    monkeypatch.delenv("TEST_IMAP_PASSWORD")
    status, out, err = check()
    [line] = fail_lines(err)
    assert "FAIL" not in out  # problems on stderr, the checks that passed on stdout
    assert "mailbox[0].password_env: environment variable TEST_IMAP_PASSWORD is not set" in line


def test_an_rspamd_that_does_not_answer_is_named_and_a_real_one_passes(
    check: Run, request: pytest.FixtureRequest
) -> None:
    status, _, err = check(extra='\n[spam]\nrspamd_url = "http://127.0.0.1:9"\nrspamd_timeout_seconds = 2\n')
    [line] = fail_lines(err)
    assert status == 1 and "spam.rspamd_url" in line and "start rspamd, correct the address" in line
    rspamd = request.getfixturevalue("rspamd")  # a real rspamd (skipped, or failed under CI, where absent)
    status, out, err = check(extra=f'\n[spam]\nrspamd_url = "{rspamd.url}"\n')
    assert status == 0 and fail_lines(err) == [] and f"ok   rspamd: {rspamd.url} answered (action " in out
