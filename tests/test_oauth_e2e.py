"""Microsoft 365 and Google Workspace logins end to end, on real servers: a local OAuth2 authority issuing
tokens that live a few seconds, Dovecot checking them through its oauth2 passdb, aiosmtpd checking AUTH
XOAUTH2 with the same authority, and SQLite and PostgreSQL in between."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mailbot.app import App
from mailbot.scheduled import jobs
from mailbot.testing import Dovecot, SmtpCapture, find_aiosmtpd, find_dovecot, require
from mailbot.testing.oauth import OAuthServer
from tests.conftest import PASSWORD, mailbox_table
from tests.mails import mail
from tests.oauth_fixtures import microsoft_keys, oauth_mailbox, secret_file, service_account

LIFETIME = 3.0  # seconds a token lives: each test outlives several


@pytest.fixture
def authority(tmp_path: Path) -> Iterator[OAuthServer]:
    with OAuthServer(tmp_path / "authority", token_lifetime=LIFETIME) as server:
        yield server


@pytest.fixture
def dovecot(tmp_path: Path, authority: OAuthServer) -> Iterator[Dovecot]:
    require(find_dovecot)
    users = {"complaints": PASSWORD, "feedback": PASSWORD}
    urls = {user: authority.introspection_url(user) for user in users}
    # Named as Exchange Online names it; only SPECIAL-USE says it is the Sent folder.
    with Dovecot(
        tmp_path / "dovecot", users=users, introspection_urls=urls, sent_folder="Sent Items"
    ) as server:
        yield server


@pytest.fixture
def smtp_server(tmp_path: Path, authority: OAuthServer) -> Iterator[SmtpCapture]:
    require(find_aiosmtpd)
    with SmtpCapture(outdir=tmp_path / "sent", token_check=authority.accepts) as server:
        yield server


def microsoft_app(tmp_path: Path, authority: OAuthServer, client_id: str, *mailboxes: str) -> str:
    """Register an app with a secret, grant it mailboxes, and give the config keys that use it."""
    authority.register(client_id, secret=f"secret-of-{client_id}-Qx8~")
    authority.grant(client_id, *mailboxes)
    secret = authority.apps[client_id].secret or ""
    return microsoft_keys(authority, client_id, secret_file(tmp_path, client_id, secret))


def acknowledgements_to(smtp: SmtpCapture, address: str) -> int:
    return sum(1 for m in smtp.messages if address in m.rcpt_tos)


def poll_without_errors(app: App) -> jobs.CycleReport:
    report = jobs.poll_cycle(app)
    assert report.errors == []
    return report


def test_microsoft365_mailbox_is_polled_and_answered_as_tokens_expire_and_refresh(
    make_app: Callable[..., App],
    tmp_path: Path,
    authority: OAuthServer,
    dovecot: Dovecot,
    smtp_server: SmtpCapture,
) -> None:
    keys = microsoft_app(tmp_path, authority, "riverside-mailbot", "complaints")
    app = make_app(
        mailboxes=oauth_mailbox("complaints", dovecot.port, keys),
        smtp_extra='username = "complaints"\n' + keys,
    )
    poll_without_errors(app)  # first contact
    for round_ in range(3):
        dovecot.deliver(mail(sender=f"relative{round_}@example.net"))
        report = poll_without_errors(app)
        assert report.intake[0].fetched == 1
        assert report.delivery.sent == 1
        assert acknowledgements_to(smtp_server, f"relative{round_}@example.net") == 1
        time.sleep(LIFETIME)  # every token fetched so far is now dead
    assert all(m.auth_user == "complaints" for m in smtp_server.messages)
    # IMAP and SMTP each needed a new token after every expiry, never one per connection.
    issued = len(authority.tokens_issued("riverside-mailbot"))
    assert 6 <= issued <= 9


def test_google_workspace_mailbox_with_domain_wide_delegation(
    make_app: Callable[..., App],
    tmp_path: Path,
    authority: OAuthServer,
    dovecot: Dovecot,
    smtp_server: SmtpCapture,
) -> None:
    key = service_account(tmp_path, authority, "mailbot@riverside-mail.iam.gserviceaccount.com")
    keys = f'auth = "google"\nservice_account_file = "{key}"\ntoken_ca_file = "{authority.ca_file}"\n'
    app = make_app(
        mailboxes=oauth_mailbox("complaints", dovecot.port, keys),
        smtp_extra='username = "complaints"\n' + keys,
    )
    poll_without_errors(app)
    dovecot.deliver(mail(sender="first@example.net"))
    poll_without_errors(app)
    time.sleep(LIFETIME)
    dovecot.deliver(mail(sender="second@example.net"))
    report = poll_without_errors(app)
    assert report.intake[0].fetched == 1
    assert acknowledgements_to(smtp_server, "first@example.net") == 1
    assert acknowledgements_to(smtp_server, "second@example.net") == 1
    # Each token was issued for the mailbox itself (the delegation's subject), not for the service account.
    assert {i.user for i in authority.tokens_issued()} == {"complaints"}


def test_generic_oauth2_provider_with_client_credentials(
    make_app: Callable[..., App], tmp_path: Path, authority: OAuthServer, dovecot: Dovecot
) -> None:
    authority.register("helpdesk-client", secret="generic-secret")
    authority.grant("helpdesk-client", "complaints")
    secret = secret_file(tmp_path, "generic", "generic-secret")
    keys = (
        f'auth = "oauth2"\ntoken_url = "{authority.token_url}"\nclient_id = "helpdesk-client"\n'
        f'client_secret_file = "{secret}"\nscope = "mail"\ntoken_ca_file = "{authority.ca_file}"\n'
    )
    app = make_app(mailboxes=oauth_mailbox("complaints", dovecot.port, keys))
    poll_without_errors(app)
    dovecot.deliver(mail())
    assert poll_without_errors(app).intake[0].fetched == 1


def test_a_revoked_secret_stops_its_mailbox_with_a_clear_error_and_the_others_go_on(
    make_app: Callable[..., App],
    tmp_path: Path,
    authority: OAuthServer,
    dovecot: Dovecot,
    smtp_server: SmtpCapture,
) -> None:
    complaints = microsoft_app(tmp_path, authority, "complaints-app", "complaints")
    feedback = microsoft_app(tmp_path, authority, "feedback-app", "feedback")
    app = make_app(
        mailboxes=oauth_mailbox("complaints", dovecot.port, complaints)
        + oauth_mailbox("feedback", dovecot.port, feedback),
        smtp_extra='username = "feedback"\n' + feedback,
    )
    poll_without_errors(app)
    authority.revoke_secret("complaints-app")
    time.sleep(LIFETIME)
    dovecot.deliver(mail(sender="waiting@example.net"), user="complaints")
    dovecot.deliver(mail(sender="answered@example.net", to="feedback@riverside.example"), user="feedback")
    report = jobs.poll_cycle(app)
    assert report.errors  # polling it, and filing its Sent copies, each said why
    assert all(
        e.startswith("mailbox 'complaints': ") and "client secret was refused" in e for e in report.errors
    )
    assert [(i.mailbox, i.fetched) for i in report.intake] == [("feedback", 1)]
    assert acknowledgements_to(smtp_server, "answered@example.net") == 1
    assert acknowledgements_to(smtp_server, "waiting@example.net") == 0


def test_no_secret_or_token_reaches_the_logs(
    make_app: Callable[..., App],
    tmp_path: Path,
    authority: OAuthServer,
    dovecot: Dovecot,
    smtp_server: SmtpCapture,
    caplog: pytest.LogCaptureFixture,
) -> None:
    keys = microsoft_app(tmp_path, authority, "riverside-mailbot", "complaints")
    caplog.set_level(logging.DEBUG)
    app = make_app(
        mailboxes=oauth_mailbox("complaints", dovecot.port, keys) + mailbox_table("feedback", dovecot.port),
        smtp_extra='username = "complaints"\n' + keys,
    )
    poll_without_errors(app)
    dovecot.deliver(mail())
    poll_without_errors(app)
    time.sleep(LIFETIME)
    authority.revoke_secret("riverside-mailbot")
    jobs.poll_cycle(app)  # fails for complaints, logging why
    # The SMTP test server's own protocol log ("mail.log") is the far end, not mailbot.
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("mail.log"))
    assert "client secret" in ours  # the failure was logged ...
    secrets = authority.secrets_in_play()
    assert len(secrets) > 4
    for secret in secrets:  # ... and nothing that opens a mailbox was
        assert secret not in ours
        assert _b64_fragment(secret) not in ours


def _b64_fragment(secret: str) -> str:
    """A stretch of the secret's base64 form, as SASL would carry it, independent of its alignment."""
    import base64

    return base64.b64encode(secret.encode()).decode()[4:24]


def test_an_outlook_complaint_with_winmail_dat_and_a_german_reply_prefix_opens_a_readable_case(
    make_app: Callable[..., App],
    tmp_path: Path,
    authority: OAuthServer,
    dovecot: Dovecot,
    smtp_server: SmtpCapture,
) -> None:
    from sqlalchemy import select

    from mailbot.db.models import Attachment, Case
    from tests.test_tnef import outlook_mail, sample

    keys = microsoft_app(tmp_path, authority, "riverside-mailbot", "complaints")
    app = make_app(
        mailboxes=oauth_mailbox("complaints", dovecot.port, keys),
        smtp_extra='username = "complaints"\n' + keys,
    )
    poll_without_errors(app)
    raw = outlook_mail(sample("two-files"), "I want to complain: my mother's carers missed three visits.")
    dovecot.deliver(raw.replace(b"Subject: Complaint about", b"Subject: AW: Complaint about"))
    assert poll_without_errors(app).processing.processed == 1
    with app.sessions() as session:
        case = session.scalars(select(Case)).one()
        files = sorted(session.scalars(select(Attachment.filename)))
    assert case.subject == "Complaint about my mother's care"
    assert files == ["AUTHORS", "README"]
    assert acknowledgements_to(smtp_server, "sarah.jones@example.co.uk") == 1


@pytest.mark.parametrize("file_sent_copy", ["auto", "yes"])
def test_copies_are_filed_in_the_folder_marked_sent_unless_the_smtp_server_files_its_own(
    file_sent_copy: str,
    make_app: Callable[..., App],
    tmp_path: Path,
    authority: OAuthServer,
    dovecot: Dovecot,
    smtp_server: SmtpCapture,
) -> None:
    keys = microsoft_app(tmp_path, authority, "riverside-mailbot", "complaints")
    mailbox = oauth_mailbox("complaints", dovecot.port, keys + f'file_sent_copy = "{file_sent_copy}"\n')
    app = make_app(mailboxes=mailbox, smtp_extra='username = "complaints"\n' + keys)
    poll_without_errors(app)
    dovecot.deliver(mail())
    report = poll_without_errors(app)
    assert report.delivery.sent == 1
    # Microsoft 365's SMTP files its own copy for the mailbox it logged in as: "auto" adds none.
    expected = 1 if file_sent_copy == "yes" else 0
    assert report.filed == expected
    assert len(dovecot.messages(folder="Sent Items")) == expected


def test_run_waiting_with_idle_logs_in_with_a_fresh_token_when_it_connects_again(
    make_app: Callable[..., App],
    tmp_path: Path,
    authority: OAuthServer,
    dovecot: Dovecot,
    smtp_server: SmtpCapture,
) -> None:
    from tests.services import running, wait_for, wait_until_idling, with_schedule

    keys = microsoft_app(tmp_path, authority, "riverside-mailbot", "complaints")
    app = make_app(
        mailboxes=oauth_mailbox("complaints", dovecot.port, keys),
        smtp_extra='username = "complaints"\n' + keys,
    )
    config = with_schedule(app, poll_seconds=3600)
    with running(config, tmp_path / "run.log") as service:
        wait_for(lambda: service.said("waiting for mail with IDLE"), "the reader to begin IDLE")
        time.sleep(LIFETIME)  # the token the reader logged in with is now dead
        before = len(authority.tokens_issued("riverside-mailbot"))
        dovecot.restart()
        wait_for(lambda: service.log.read_text().count("waiting for mail with IDLE") == 2, "IDLE again")
        assert len(authority.tokens_issued("riverside-mailbot")) > before  # a new token for the new login
        wait_until_idling(dovecot)  # back in IDLE, not in the moment after its first look
        dovecot.deliver(mail(sender="after.expiry@example.net"))
        wait_for(lambda: acknowledgements_to(smtp_server, "after.expiry@example.net") == 1, "the ack")
