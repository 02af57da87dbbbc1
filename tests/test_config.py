"""The configuration file: valid files load; every mistake names the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailbot.config.settings import ConfigError, load_config

ROOT = Path(__file__).resolve().parent.parent
GOOD = """
[organisation]
name = "Riverside Care Trust"
from_address = "complaints@riverside.example"

[smtp]
host = "smtp.riverside.example"

[[mailbox]]
name = "complaints"
host = "imap.riverside.example"
username = "complaints@riverside.example"
password_env = "IMAP_PW"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_config_loads() -> None:
    config = load_config(
        ROOT / "config.example.toml", {"MAILBOT_IMAP_PASSWORD": "x", "MAILBOT_SMTP_PASSWORD": "y"}
    )
    box = config.mailboxes[0]
    assert (box.tls, box.port, box.password) == ("tls", 993, "x")
    assert config.smtp.password == "y"
    assert config.cases.policies_dir == ROOT / "rules" / "policies"
    assert "feedback@example.org" in config.own_addresses


def test_defaults_are_safe(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD), {})
    box = config.mailboxes[0]
    assert box.tls == "tls" and box.port == 993  # TLS unless "none" is written
    assert box.password is None  # the variable is not set: reported when logging in, not at load
    # Dovecot does not announce mail that lands between the reader's last look and its IDLE; the renewal
    # (which looks at the folder) bounds how long such a mail waits, so it stays minutes, not half an hour.
    assert box.idle_renew_minutes == 5
    assert config.smtp.tls == "starttls" and config.smtp.port == 587
    assert config.timezone == "Europe/London"
    assert config.database_url == f"sqlite:///{tmp_path / 'var' / 'mailbot.db'}"
    assert config.cases.reference_format == "CMP-{year}-{seq:04d}"


@pytest.mark.parametrize(
    ("change", "key", "says"),
    [
        (
            ('password_env = "IMAP_PW"', 'password_env = "IMAP_PW"\ntls = "plain"'),
            "mailbox[0].tls",
            "expected one of tls, starttls, none",
        ),
        (
            ('password_env = "IMAP_PW"', 'password = "hunter2"'),
            "mailbox[0].password",
            "never stored in the file",
        ),
        (
            ('name = "complaints"', 'name = "complaints"\nfolder = 3'),
            "mailbox[0].folder",
            "expected a string",
        ),
        (
            ('host = "imap.riverside.example"', 'host = "imap.riverside.example"\nprot = 993'),
            "mailbox[0].prot",
            "unknown key",
        ),
        (
            ('from_address = "complaints@riverside.example"', 'from_address = "complaints"'),
            "organisation.from_address",
            "expected an email address",
        ),
        (
            ("[smtp]", '[schedule]\ntimezone = "Europe/Londn"\n[smtp]'),
            "schedule.timezone",
            "unknown time zone",
        ),
        (("[smtp]", '[cases]\nreference_format = "CMP-{seq}"\n[smtp]'), "cases.reference_format", "{year}"),
        (
            ('name = "complaints"', 'name = "complaints"\nidle_renew_minutes = 30'),
            "mailbox[0].idle_renew_minutes",
            "drop an IDLE after 29 minutes",
        ),
        (('name = "complaints"', 'name = "complaints"\nidle = "yes"'), "mailbox[0].idle", "true or false"),
        (
            ("[smtp]", "[schedule]\npoll_interval_seconds = 0\n[smtp]"),
            "schedule.poll_interval_seconds",
            "positive",
        ),
        (("[smtp]", "[smtp]\nconnections = 0"), "smtp.connections", "a positive whole number"),
        (("[smtp]", "[smtp]\nconnections = 9"), "smtp.connections", "a whole number from 1 to 8"),
    ],
)
def test_mistakes_name_the_file_and_key(tmp_path: Path, change: tuple[str, str], key: str, says: str) -> None:
    path = write(tmp_path, GOOD.replace(*change))
    with pytest.raises(ConfigError) as raised:
        load_config(path, {})
    assert raised.value.key == key
    assert str(path) in str(raised.value) and says in str(raised.value)


def test_missing_file_and_bad_syntax(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "absent.toml", {})
    with pytest.raises(ConfigError, match=r"\(syntax\)"):
        load_config(write(tmp_path, "[organisation\n"), {})


def test_duplicate_mailbox_names(tmp_path: Path) -> None:
    box = GOOD.split("[[mailbox]]")[1]
    with pytest.raises(ConfigError, match=r"mailbox\[1\]\.name: duplicate"):
        load_config(write(tmp_path, GOOD + "[[mailbox]]" + box), {})


@pytest.mark.parametrize(
    ("section_line", "key"),
    [('host = "imap.riverside.example"', "mailbox[0].tls"), ('host = "smtp.riverside.example"', "smtp.tls")],
)
def test_plain_text_to_another_host_is_refused_unless_chosen(
    tmp_path: Path, section_line: str, key: str
) -> None:
    """Unencrypted IMAP or SMTP across a network exposes complaints and passwords: it takes a choice."""
    plain = GOOD.replace(section_line, f'{section_line}\ntls = "none"')
    with pytest.raises(ConfigError) as refused:
        load_config(write(tmp_path, plain), {})
    assert refused.value.key == key and "unencrypted" in refused.value.message
    chosen = plain.replace('tls = "none"', 'tls = "none"\nallow_plaintext = true')
    assert load_config(write(tmp_path, chosen), {})


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_plain_text_to_this_machine_needs_no_choice(tmp_path: Path, host: str) -> None:
    text = GOOD.replace('host = "smtp.riverside.example"', f'host = "{host}"\ntls = "none"')
    assert load_config(write(tmp_path, text), {}).smtp.tls == "none"


STAFF = """
[staff]
domains = ["riverside.example"]
trusted_authserv_ids = ["mx.riverside.example"]

[[staff.person]]
name = "Priya Shah"
addresses = ["priya.shah@riverside.example"]
roles = ["coordinator"]
"""


def test_reply_to_is_followed_for_no_sender_unless_named(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, GOOD), {}).intake.reply_to_trusted_senders == frozenset()
    named = GOOD + STAFF + '\n[intake]\nreply_to_trusted_senders = ["Forms@Riverside.example"]\n'
    assert load_config(write(tmp_path, named), {}).intake.reply_to_trusted_senders == {
        "forms@riverside.example"
    }


@pytest.mark.parametrize(
    ("table", "says"),
    [
        ('reply_to_trusted_senders = "forms@riverside.example"', "expected a list of email addresses"),
        ('reply_to_trusted_senders = ["forms"]', "expected a list of email addresses"),
        ("reply_to_senders = []", "unknown key"),
    ],
)
def test_intake_mistakes_name_the_key(tmp_path: Path, table: str, says: str) -> None:
    with pytest.raises(ConfigError, match=r"config\.toml: intake\.reply_to_(trusted_)?senders: " + says):
        load_config(write(tmp_path, GOOD + STAFF + f"\n[intake]\n{table}\n"), {})


def test_a_trusted_reply_to_needs_a_server_to_vouch_for_the_sender(tmp_path: Path) -> None:
    text = GOOD + '\n[intake]\nreply_to_trusted_senders = ["forms@riverside.example"]\n'
    with pytest.raises(ConfigError, match=r"intake\.reply_to_trusted_senders: needs a \[staff\] table"):
        load_config(write(tmp_path, text), {})
