"""Tests for mailbot.testing against real Dovecot, aiosmtpd and PostgreSQL servers."""

from __future__ import annotations

import asyncio
import errno
import json
import selectors
import signal
import smtplib
import socket
import subprocess
import sys
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import pytest
import sqlalchemy
from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from mailbot.testing import (
    Dovecot,
    PostgresCluster,
    ServerStartError,
    ServerUnavailable,
    SmtpCapture,
    find_aiosmtpd,
    find_dovecot,
    find_postgres,
    require,
    skip_or_fail,
)
from mailbot.testing.host import reserved_port

RAW = (
    b"From: Ann <ann@example.org>\r\nTo: complaints@example.org\r\n"
    b"Subject: Cold food\r\n\r\nThe food was cold.\r\n"
)


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def dovecot(tmp_path: Path) -> Iterator[Dovecot]:
    require(find_dovecot)
    with Dovecot(tmp_path / "dovecot") as server:
        yield server


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[SmtpCapture]:
    require(find_aiosmtpd)
    with SmtpCapture(outdir=tmp_path / "sent") as server:
        yield server


@pytest.fixture
def smtp_auth() -> Iterator[SmtpCapture]:
    require(find_aiosmtpd)
    with SmtpCapture(auth={"mailbot": "s3cret"}) as server:
        yield server


# --------------------------------------------------------------------------- helpers


def test_a_reserved_port_is_bound_by_the_server_started_for_it_and_by_nobody_else() -> None:
    with reserved_port() as port:
        with socket.socket() as other, pytest.raises(OSError) as taken:  # another test's server, say
            other.bind(("127.0.0.1", port))
        assert taken.value.errno == errno.EADDRINUSE
        picked = []
        for _ in range(200):  # what bind(0) and connect() hand out
            with socket.socket() as anyone:
                anyone.bind(("127.0.0.1", 0))
                picked.append(anyone.getsockname()[1])
        assert port not in picked
        with socket.socket() as server:  # as Dovecot, PostgreSQL, rspamd and aiosmtpd bind
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            server.bind(("127.0.0.1", port))
            server.listen()
            assert _port_open(port)


def test_skip_or_fail_skips_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAILBOT_REQUIRE_SERVERS", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no dovecot"):
        skip_or_fail("no dovecot")


def test_skip_or_fail_fails_when_servers_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILBOT_REQUIRE_SERVERS", "1")
    with pytest.raises(pytest.fail.Exception, match="no dovecot"):
        skip_or_fail("no dovecot")


def test_require_reports_missing_binary(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MAILBOT_REQUIRE_SERVERS", "1")
    with pytest.raises(pytest.fail.Exception, match="apt-get install dovecot-imapd"):
        require(lambda: find_dovecot(search_path=str(tmp_path)))


def test_missing_binaries_raise_server_unavailable(tmp_path: Path) -> None:
    with pytest.raises(ServerUnavailable, match="apt-get install dovecot-imapd"):
        find_dovecot(search_path=str(tmp_path))
    with pytest.raises(ServerUnavailable, match="apt-get install postgresql"):
        find_postgres(search_path=str(tmp_path), lib_root=tmp_path)


# --------------------------------------------------------------------------- Dovecot


@pytest.mark.servers
def test_dovecot_delivers_and_reads_back_over_imap(dovecot: Dovecot) -> None:
    uid = dovecot.deliver(RAW)
    with IMAPClient(dovecot.host, port=dovecot.port, ssl=False) as imap:
        imap.login("complaints", "secret")
        folders = {name: flags for flags, _, name in imap.list_folders()}
        subscribed = {name for _, _, name in imap.list_sub_folders()}
        imap.select_folder("INBOX")
        body = imap.fetch([uid], ["BODY.PEEK[]"])[uid][b"BODY[]"]
    assert body == RAW
    assert {"INBOX", "Sent", "Processed"} <= set(folders)
    assert b"\\Sent" in folders["Sent"]
    assert {"Sent", "Processed"} <= subscribed


@pytest.mark.servers
def test_dovecot_keyword_persists_and_messages_does_not_set_seen(dovecot: Dovecot) -> None:
    uid = dovecot.deliver(RAW)
    with dovecot.client() as imap:
        imap.select_folder("INBOX")
        imap.add_flags([uid], [b"$MailbotProcessed"])
    dovecot.messages()  # BODY.PEEK[] must leave \Seen unset
    [(got_uid, flags, raw)] = dovecot.messages()
    assert (got_uid, raw) == (uid, RAW)
    assert b"$MailbotProcessed" in flags
    assert b"\\Seen" not in flags


@pytest.mark.servers
def test_dovecot_deliver_with_flags_to_another_folder(dovecot: Dovecot) -> None:
    dovecot.deliver(RAW, folder="Processed", flags=["\\Seen", "$MailbotProcessed"])
    [(_, flags, _)] = dovecot.messages(folder="Processed")
    assert {b"\\Seen", b"$MailbotProcessed"} <= set(flags)
    assert dovecot.messages() == []


@pytest.mark.servers
def test_dovecot_rejects_a_wrong_password(dovecot: Dovecot) -> None:
    with IMAPClient(dovecot.host, port=dovecot.port, ssl=False) as imap, pytest.raises(LoginError):
        imap.login("complaints", "wrong")


@pytest.mark.servers
def test_dovecot_tells_when_a_client_waits_in_idle(dovecot: Dovecot) -> None:
    import time

    def idling_soon(expected: int) -> int:
        deadline = time.monotonic() + 10
        while dovecot.idling() != expected and time.monotonic() < deadline:
            time.sleep(0.02)
        return dovecot.idling()

    with dovecot.client() as imap:
        imap.select_folder("INBOX")
        assert dovecot.idling() == 0
        imap.idle()
        assert idling_soon(1) == 1 and dovecot.idling("feedback") == 0
        imap.idle_done()
        assert idling_soon(0) == 0


def test_two_dovecots_run_side_by_side(dovecot: Dovecot, tmp_path: Path) -> None:
    with Dovecot(tmp_path / "second", users={"other": "pw"}) as second:
        assert second.port != dovecot.port
        second.deliver(RAW, user="other")
        assert len(second.messages("other")) == 1
        assert dovecot.messages() == []
    assert not _port_open(second.port)
    assert _port_open(dovecot.port)


@pytest.mark.servers
def test_dovecot_in_a_deep_workdir_keeps_sockets_short(tmp_path: Path) -> None:
    require(find_dovecot)
    with Dovecot(tmp_path.joinpath(*["deeply-nested"] * 8)) as server:
        server.deliver(RAW)
        assert len(server.messages()) == 1
        base_dir = server._base_dir
        assert not base_dir.is_relative_to(tmp_path)
    assert not base_dir.exists()


@pytest.mark.servers
def test_dovecot_start_failure_reports_log_tail(tmp_path: Path) -> None:
    require(find_dovecot)

    class BrokenDovecot(Dovecot):
        def _render_config(self) -> str:
            return super()._render_config() + "no_such_setting = 1\n"

    with pytest.raises(ServerStartError, match="no_such_setting"):
        BrokenDovecot(tmp_path / "broken").start()


def test_dovecot_rejects_user_names_unfit_for_a_passwd_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unsupported"):
        Dovecot(tmp_path, users={"a:b": "pw"})


# --------------------------------------------------------------------------- SMTP


def _email(subject: str = "Reply") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "complaints@example.org"
    msg["To"] = "ann@example.org"
    msg["Subject"] = subject
    msg.set_content("Thank you for your complaint.")
    return msg


@pytest.mark.servers
def test_smtp_captures_smtplib_message_and_writes_eml(smtp: SmtpCapture) -> None:
    with smtplib.SMTP(smtp.host, smtp.port) as client:
        client.sendmail("bot@example.org", ["ann@example.org", "bob@example.org"], RAW)
    [captured] = smtp.messages
    assert captured.mail_from == "bot@example.org"
    assert captured.rcpt_tos == ("ann@example.org", "bob@example.org")
    assert captured.message["Subject"] == "Cold food"
    assert captured.raw.replace(b"\r\n", b"\n") == RAW.replace(b"\r\n", b"\n")
    assert captured.auth_user is None
    assert captured.path is not None and captured.path.suffix == ".eml"
    assert captured.path.parent == smtp.outdir
    assert captured.path.read_bytes() == captured.raw
    smtp.clear()
    assert smtp.messages == []


@pytest.mark.servers
def test_smtp_captures_aiosmtplib_message(smtp: SmtpCapture) -> None:
    asyncio.run(aiosmtplib.send(_email("Async"), hostname=smtp.host, port=smtp.port, start_tls=False))
    [captured] = smtp.messages
    assert captured.message["Subject"] == "Async"
    assert captured.rcpt_tos == ("ann@example.org",)
    assert captured.message.get_content().strip() == "Thank you for your complaint."


@pytest.mark.servers
def test_smtp_fail_next_answers_data_then_recovers(smtp: SmtpCapture) -> None:
    smtp.fail_next(1, 451)
    smtp.fail_next(1, 554, "5.7.1 Rejected as spam")
    with smtplib.SMTP(smtp.host, smtp.port) as client:
        with pytest.raises(smtplib.SMTPDataError) as temporary:
            client.send_message(_email())
        with pytest.raises(smtplib.SMTPDataError) as permanent:
            client.send_message(_email())
        client.send_message(_email("Third time lucky"))
    assert temporary.value.smtp_code == 451
    assert permanent.value.smtp_code == 554
    assert [m.message["Subject"] for m in smtp.messages] == ["Third time lucky"]


@pytest.mark.servers
def test_smtp_reject_recipient(smtp: SmtpCapture) -> None:
    smtp.reject_recipient("Gone@Example.org")
    with smtplib.SMTP(smtp.host, smtp.port) as client:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            client.sendmail("bot@example.org", ["gone@example.org"], RAW)
        partly = client.sendmail("bot@example.org", ["gone@example.org", "ann@example.org"], RAW)
    assert refused.value.recipients["gone@example.org"][0] == 550
    assert partly == {"gone@example.org": (550, b"5.1.1 No such user")}
    assert [m.rcpt_tos for m in smtp.messages] == [("ann@example.org",)]


@pytest.mark.servers
def test_smtp_rejects_bad_failure_codes(smtp: SmtpCapture) -> None:
    with pytest.raises(ValueError, match="4xx"):
        smtp.fail_next(1, 250)


@pytest.mark.servers
def test_smtp_auth_required_and_checked(smtp_auth: SmtpCapture) -> None:
    with smtplib.SMTP(smtp_auth.host, smtp_auth.port) as client:
        with pytest.raises(smtplib.SMTPSenderRefused) as unauthenticated:
            client.send_message(_email())
        with pytest.raises(smtplib.SMTPAuthenticationError) as bad:
            client.login("mailbot", "wrong")
        client.user, client.password = "mailbot", "s3cret"
        client.auth("LOGIN", client.auth_login, initial_response_ok=False)
        client.send_message(_email("Via LOGIN"))
    assert unauthenticated.value.smtp_code == 530
    assert bad.value.smtp_code == 535
    assert [(m.auth_user, m.message["Subject"]) for m in smtp_auth.messages] == [("mailbot", "Via LOGIN")]


@pytest.mark.servers
def test_smtp_auth_plain_with_aiosmtplib(smtp_auth: SmtpCapture) -> None:
    send = aiosmtplib.send(
        _email("Via PLAIN"), hostname=smtp_auth.host, port=smtp_auth.port,
        username="mailbot", password="s3cret", start_tls=False,
    )  # fmt: skip
    asyncio.run(send)
    assert [m.auth_user for m in smtp_auth.messages] == ["mailbot"]


# --------------------------------------------------------------------------- PostgreSQL


@pytest.mark.postgres
def test_postgres_cluster_with_fresh_databases() -> None:
    require(find_postgres)
    with PostgresCluster() as cluster:
        assert cluster.url() == f"postgresql+psycopg://mailbot@127.0.0.1:{cluster.port}/mailbot"
        urls = [cluster.url(), cluster.create_database("first"), cluster.create_database("second")]
        names = [_query(url, "select current_database()") for url in urls]
        _query(urls[1], "create table marker (id int)")
        assert _query(urls[1], "select to_regclass('marker') is not null") is True
        assert _query(urls[2], "select to_regclass('marker') is null") is True
        directory = cluster.directory
    assert names == ["mailbot", "first", "second"]
    assert directory is not None and not directory.exists()
    assert not _port_open(cluster.port)


def _query(url: str, statement: str) -> object:
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.begin() as conn:
            result = conn.execute(sqlalchemy.text(statement))
            return result.scalar() if result.returns_rows else None
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- demo CLI


def _read_line(proc: subprocess.Popen[str], timeout: float) -> str:
    assert proc.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            pytest.fail(f"devservers CLI printed nothing within {timeout} s")
    return proc.stdout.readline()


@pytest.mark.servers
def test_cli_announces_servers_and_stops_on_sigterm(tmp_path: Path) -> None:
    require(find_dovecot, find_aiosmtpd)
    command = [sys.executable, "-m", "mailbot.testing", "--workdir", str(tmp_path)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        try:
            info = json.loads(_read_line(proc, timeout=20))
            with smtplib.SMTP("127.0.0.1", info["smtp_port"]) as client:
                client.send_message(_email("Demo"))
            with IMAPClient("127.0.0.1", port=info["imap_port"], ssl=False) as imap:
                imap.login(info["user"], info["password"])
            proc.send_signal(signal.SIGTERM)
            _, stderr = proc.communicate(timeout=15)
        finally:
            proc.kill()
    assert proc.returncode == 0, stderr
    [eml] = Path(info["sent_dir"]).glob("*.eml")
    assert b"Subject: Demo" in eml.read_bytes()
    assert not _port_open(info["imap_port"])
    assert not _port_open(info["smtp_port"])
