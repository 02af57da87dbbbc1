"""``mailbot check-config`` acquires a token, logs in, and says in plain words what to fix when either fails;
``mailbot auth login`` signs a person in with a device code. Real servers: the local OAuth2 authority and a
Dovecot that checks its tokens."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailbot.cli import main
from mailbot.testing import Dovecot, SmtpCapture, find_aiosmtpd, find_dovecot, require
from mailbot.testing.oauth import OAuthServer
from tests.conftest import ENVIRON, PASSWORD, write_config
from tests.mails import mail
from tests.oauth_fixtures import oauth_mailbox, secret_file


@pytest.fixture
def authority(tmp_path: Path) -> Iterator[OAuthServer]:
    with OAuthServer(tmp_path / "authority") as server:
        yield server


@pytest.fixture
def dovecot(tmp_path: Path, authority: OAuthServer) -> Iterator[Dovecot]:
    require(find_dovecot)
    with Dovecot(
        tmp_path / "dovecot",
        users={"complaints": PASSWORD},
        introspection_urls={"complaints": authority.introspection_url("complaints")},
    ) as server:
        yield server


@pytest.fixture
def smtp_server(tmp_path: Path, authority: OAuthServer) -> Iterator[SmtpCapture]:
    require(find_aiosmtpd)
    with SmtpCapture(outdir=tmp_path / "sent", token_check=authority.accepts) as server:
        yield server


def keys(authority: OAuthServer, tmp_path: Path, client_id: str, secret: str, tenant: str = "") -> str:
    path = secret_file(tmp_path, "secret", secret)
    return f"""auth = "microsoft365"
tenant = "{tenant or authority.tenant}"
client_id = "{client_id}"
client_secret_file = "{path}"
authority = "{authority.authority}"
token_ca_file = "{authority.ca_file}"
"""


def check_config(
    tmp_path: Path, dovecot: Dovecot, smtp: SmtpCapture, mailbox_keys: str, smtp_keys: str,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> str:  # fmt: skip
    config = write_config(
        tmp_path, dovecot, smtp, f"sqlite:///{tmp_path / 'db.sqlite'}",
        mailboxes=oauth_mailbox("complaints", dovecot.port, mailbox_keys),
        smtp_extra='username = "complaints"\n' + smtp_keys,
    )  # fmt: skip
    for name, value in ENVIRON.items():
        monkeypatch.setenv(name, value)
    main(["--config", str(config), "check-config"])
    captured = capsys.readouterr()
    out = captured.out + captured.err  # ok lines on stdout, FAIL lines on stderr (issue 16)
    print(out)  # shown with -s, and in the report of a failing test
    return out


SETUPS = {
    # what is wrong: (how the app is registered, what the config says, the words check-config must say)
    "wrong tenant": ({}, {"tenant": "riverside-typo"}, "tenant 'riverside-typo' was not found"),
    "wrong client id": ({}, {"client_id": "not-our-app"}, "client_id 'not-our-app' is not an application"),
    "bad secret": ({}, {"secret": "the-secret-id-not-its-value"}, "the client secret was refused"),
    "expired secret": ({"secret_expired": True}, {}, "the client secret (from client_secret_file"),
    "admin consent missing": ({"roles": ()}, {}, "admin consent is missing"),
    "mailbox not granted": ({"mailboxes": set()}, {}, "Add-MailboxPermission -Identity complaints"),
}


@pytest.mark.parametrize("problem", SETUPS)
def test_check_config_explains_each_common_failure(
    problem: str,
    tmp_path: Path,
    authority: OAuthServer,
    dovecot: Dovecot,
    smtp_server: SmtpCapture,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registration, config, expected = SETUPS[problem]
    app = authority.register("mailbot-app", secret="the-real-secret-value", **registration)
    if "mailboxes" not in registration:
        app.mailboxes.add("complaints")
    mailbox_keys = keys(
        authority, tmp_path, config.get("client_id", "mailbot-app"), config.get("secret", app.secret or ""),
        config.get("tenant", ""),
    )  # fmt: skip
    out = check_config(tmp_path, dovecot, smtp_server, mailbox_keys, mailbox_keys, capsys, monkeypatch)
    imap_line = next(line for line in out.splitlines() if "complaints" in line and "smtp" not in line)
    assert imap_line.startswith("FAIL mailbox complaints: mailbox 'complaints': ")
    assert expected in imap_line
    assert "the-real-secret-value" not in out
    if problem == "mailbox not granted":  # the same refusal when IMAP is off for the mailbox
        assert "Set-CASMailbox -Identity complaints -ImapEnabled $true" in imap_line
        smtp_line = next(line for line in out.splitlines() if line.startswith("FAIL smtp"))
        assert "-SmtpClientAuthenticationDisabled $false" in smtp_line
    if problem == "admin consent missing":
        assert "SMTP.SendAsApp" in next(line for line in out.splitlines() if line.startswith("FAIL smtp"))


def test_check_config_logs_in_with_a_token_when_all_is_well(
    tmp_path: Path,
    authority: OAuthServer,
    dovecot: Dovecot,
    smtp_server: SmtpCapture,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    authority.register("mailbot-app", secret="the-real-secret-value", mailboxes={"complaints"})
    mailbox_keys = keys(authority, tmp_path, "mailbot-app", "the-real-secret-value")
    out = check_config(tmp_path, dovecot, smtp_server, mailbox_keys, mailbox_keys, capsys, monkeypatch)
    assert "ok   complaints: logged in to 127.0.0.1" in out
    assert "ok   smtp: connected to 127.0.0.1" in out
    assert authority.tokens_issued("mailbot-app")


def test_auth_login_signs_in_with_a_device_code_and_the_mailbox_is_then_polled(
    tmp_path: Path,
    authority: OAuthServer,
    dovecot: Dovecot,
    smtp_server: SmtpCapture,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    authority.register("mailbot-public-client")  # delegated: a public client has no secret
    token_file = tmp_path / "private" / "complaints.refresh-token"
    delegated = f"""auth = "microsoft365"
tenant = "{authority.tenant}"
client_id = "mailbot-public-client"
refresh_token_file = "{token_file}"
authority = "{authority.authority}"
token_ca_file = "{authority.ca_file}"
"""
    config = write_config(
        tmp_path, dovecot, smtp_server, f"sqlite:///{tmp_path / 'db.sqlite'}",
        mailboxes=oauth_mailbox("complaints", dovecot.port, delegated),
        smtp_extra='username = "complaints"\n' + delegated,
    )  # fmt: skip
    for name, value in ENVIRON.items():
        monkeypatch.setenv(name, value)
    out = check_config(tmp_path, dovecot, smtp_server, delegated, delegated, capsys, monkeypatch)
    assert "run `mailbot auth login complaints`" in out
    authority.approve_device_codes("complaints")  # the person enters the code and signs in
    assert main(["--config", str(config), "auth", "login", "complaints"]) == 0
    assert "enter the code" in capsys.readouterr().out
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert main(["--config", str(config), "auth", "login", "smtp"]) == 0
    assert main(["--config", str(config), "poll", "--once"]) == 0
    dovecot.deliver(mail())
    assert main(["--config", str(config), "poll", "--once"]) == 0
    assert "complaints: 1 new message(s)" in capsys.readouterr().out
    assert len(smtp_server.messages) == 1
    assert {i.user for i in authority.tokens_issued()} == {"complaints"}


def test_auth_login_refuses_a_mailbox_that_signs_in_as_the_app(
    tmp_path: Path, dovecot: Dovecot, smtp_server: SmtpCapture, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, dovecot, smtp_server, f"sqlite:///{tmp_path / 'db.sqlite'}")
    assert main(["--config", str(config), "auth", "login", "complaints"]) == 1
    assert 'is for auth = "microsoft365" with refresh_token_file' in capsys.readouterr().err
