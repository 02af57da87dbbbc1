"""OAuth2 settings in the configuration: what each login method needs, where secrets may come from, and an
error naming the key for every mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailbot.config.settings import ConfigError, load_config
from tests.test_config import write

HEAD = """
[organisation]
name = "Riverside Care Trust"
from_address = "complaints@riverside.example"
"""
SMTP = """
[smtp]
host = "smtp.office365.com"
"""


def mailbox(keys: str) -> str:
    return f"""
[[mailbox]]
name = "complaints"
host = "outlook.office365.com"
username = "complaints@riverside.example"
{keys}"""


MICROSOFT = """auth = "microsoft365"
tenant = "riverside.onmicrosoft.com"
client_id = "00000000-1111-2222-3333-444444444444"
client_secret_env = "M365_SECRET"
"""


def load(tmp_path: Path, text: str, environ: dict[str, str] | None = None):
    return load_config(
        write(tmp_path, HEAD + text), environ if environ is not None else {"M365_SECRET": "Zq8~secret-value"}
    )


def error(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text, environ)
    return caught.value


def private(tmp_path: Path, name: str, content: str, mode: int = 0o600) -> Path:
    path = tmp_path / name
    path.write_text(content)
    path.chmod(mode)
    return path


def test_microsoft365_mailbox_and_smtp_with_a_secret_from_the_environment(tmp_path: Path) -> None:
    smtp = SMTP + 'username = "complaints@riverside.example"\n' + MICROSOFT
    config = load(tmp_path, smtp + mailbox(MICROSOFT))
    box = config.mailboxes[0]
    assert box.auth == "microsoft365" and box.password_env is None
    assert box.oauth is not None and box.oauth.client_secret == "Zq8~secret-value"
    assert box.oauth.username == "complaints@riverside.example"
    assert box.oauth.authority == "https://login.microsoftonline.com"
    assert "Zq8~" not in repr(box.oauth)  # a secret never reaches a log line through repr
    assert config.smtp.oauth is not None and config.smtp.oauth.login == "smtp"
    assert (box.sent_folder, box.file_sent_copy) == (None, "auto")


def test_google_service_account_key_must_be_private_to_the_service_user(tmp_path: Path) -> None:
    key = private(tmp_path, "key.json", "{}", mode=0o644)
    err = error(tmp_path, SMTP + mailbox(f'auth = "google"\nservice_account_file = "{key}"\n'))
    assert err.key == "mailbox[0].service_account_file"
    assert "can be read by other users (mode 0644)" in err.message and f"chmod 600 {key}" in err.message
    key.chmod(0o600)
    box = load(tmp_path, SMTP + mailbox(f'auth = "google"\nservice_account_file = "{key}"\n')).mailboxes[0]
    assert box.oauth is not None and box.oauth.scope == "https://mail.google.com/"


def test_a_secret_file_is_read_and_trimmed(tmp_path: Path) -> None:
    secret = private(tmp_path, "secret", "s3cr3t-value\n")
    keys = MICROSOFT.replace('client_secret_env = "M365_SECRET"', f'client_secret_file = "{secret}"')
    box = load(tmp_path, SMTP + mailbox(keys), environ={}).mailboxes[0]
    assert box.oauth is not None and box.oauth.client_secret == "s3cr3t-value"


@pytest.mark.parametrize(
    ("keys", "environ", "key", "words"),
    [
        (MICROSOFT, {}, "client_secret_env", "environment variable M365_SECRET is not set"),
        (MICROSOFT.replace('tenant = "riverside.onmicrosoft.com"\n', ""), None, "tenant", "is required"),
        (
            MICROSOFT.replace('client_id = "00000000-1111-2222-3333-444444444444"\n', ""),
            None,
            "client_id",
            "",
        ),
        (
            MICROSOFT.replace('client_secret_env = "M365_SECRET"\n', ""),
            None,
            "client_secret_env",
            "no credential",
        ),
        (
            MICROSOFT + 'password_env = "IMAP_PW"\n',
            None,
            "password_env",
            "is not used with auth = 'microsoft365'",
        ),
        ('password_env = "IMAP_PW"\ntenant = "x"\n', None, "tenant", "is for OAuth2"),
        (
            MICROSOFT + 'token_url = "https://x"\n',
            None,
            "token_url",
            'is not used with auth = "microsoft365"',
        ),
        ('auth = "google"\ntenant = "x"\n', None, "tenant", 'is used only with auth = "microsoft365"'),
        (
            'auth = "oauth2"\nclient_id = "a"\nclient_secret_env = "M365_SECRET"\n',
            None,
            "token_url",
            "required",
        ),
        ('auth = "kerberos"\n', None, "auth", "expected one of password, microsoft365, google, oauth2"),
        (
            MICROSOFT + 'file_sent_copy = "sometimes"\n',
            None,
            "file_sent_copy",
            "expected one of auto, yes, no",
        ),
    ],
)
def test_each_mistake_names_its_key(
    tmp_path: Path, keys: str, environ: dict[str, str] | None, key: str, words: str
) -> None:
    err = error(tmp_path, SMTP + mailbox(keys), environ)
    assert err.key == f"mailbox[0].{key}"
    assert words in err.message
    assert str(tmp_path / "config.toml") in str(err)


def test_smtp_with_oauth2_needs_the_mailbox_it_logs_in_as(tmp_path: Path) -> None:
    err = error(tmp_path, SMTP + MICROSOFT + mailbox('password_env = "IMAP_PW"\n'))
    assert err.key == "smtp.username"
