"""``make demo``: a throwaway Dovecot and SMTP capture server, the sample complaints in ``examples/``, and
real cycles of the bot against them: the acknowledgements, the coordinator's notification of a new
complaint, the coordinator's reply relayed to the complainant, and the lead's weekly digest. Everything is
written under ``var/demo/``."""

from __future__ import annotations

import os
import shutil
import sys
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from mailbot import cli
from mailbot.testing import Dovecot, ServerStartError, ServerUnavailable, SmtpCapture

ROOT = Path(__file__).resolve().parent.parent
PASSWORD_ENV = "MAILBOT_DEMO_IMAP_PASSWORD"
COORDINATOR = "priya.shah@riverside.example"
# A coordinator who is told of each new complaint and answers from their own mail client, and a lead who gets
# the weekly digest. Staff mail counts as staff only when our receiving server vouches for it (DKIM, SPF).
STAFF = f"""
[staff]
domains = ["riverside.example"]
trusted_authserv_ids = ["mx.riverside.example"]

[[staff.person]]
name = "Priya Shah"
addresses = ["{COORDINATOR}"]
roles = ["coordinator"]

[[staff.person]]
name = "Sam Okafor"
addresses = ["sam.okafor@riverside.example"]
roles = ["lead", "safeguarding_lead"]
"""


def demo_config(workdir: Path, imap_port: int, smtp_port: int) -> Path:
    path = workdir / "config.toml"
    path.write_text(
        f"""# Written by `make demo`. Try: .venv/bin/mailbot --config {path} cases list
[organisation]
name = "Riverside Care Trust"
from_address = "complaints@riverside.example"

[database]
url = "sqlite:///{workdir / "mailbot.db"}"

[storage]
directory = "{workdir / "store"}"

[cases]
policies_dir = "{ROOT / "rules" / "policies"}"
templates_dir = "{ROOT / "templates"}"
classify_rules = "{ROOT / "rules" / "classify.toml"}"
policy = "lgsco-hos-code"

[smtp]
host = "127.0.0.1"
port = {smtp_port}
tls = "none"

[[mailbox]]
name = "complaints"
host = "127.0.0.1"
port = {imap_port}
tls = "none"
username = "complaints"
password_env = "{PASSWORD_ENV}"
{STAFF}""",
        encoding="utf-8",
    )
    return path


def step(title: str, *args: str) -> None:
    print(f"\n== {title}\n$ mailbot {' '.join(args)}", flush=True)
    status = cli.main(list(args))
    if status != 0:
        raise SystemExit(f"demo: `mailbot {' '.join(args)}` exited {status}")


def run(workdir: Path) -> None:
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    with Dovecot(workdir / "dovecot") as imap, SmtpCapture(outdir=workdir / "sent") as smtp:
        os.environ[PASSWORD_ENV] = imap.users["complaints"]
        config = str(demo_config(workdir, imap.port, smtp.port))
        step("First contact with the (empty) mailbox: nothing there is answered", "--config", config, "poll")
        samples = sorted((ROOT / "examples").glob("*.eml"))
        for sample in samples:
            imap.deliver(sample.read_bytes())
        print(f"\n== Delivered {len(samples)} sample messages from examples/ to the mailbox", flush=True)
        step(
            "One cycle: fetch, classify, open cases, acknowledge, tell the coordinator",
            "--config",
            config,
            "poll",
        )
        step("The cases", "--config", config, "cases", "list")
        notification = show_notification(smtp)
        imap.deliver(coordinator_reply(notification))
        print("\n== The coordinator answers the notification from their own mail client", flush=True)
        step(
            "One cycle: the answer goes to the complainant from the complaints address",
            "--config",
            config,
            "poll",
        )
        show_relay(smtp)
        step(
            "The lead's weekly digest, as it stands (nothing is sent)",
            "--config",
            config,
            "digest",
            "--preview",
        )
        list_sent(smtp)
        in_mailbox = imap.messages()
        marked = sum(b"$MailbotProcessed" in flags for _, flags, _ in in_mailbox)
        print(
            f"\n== {len(in_mailbox)} messages are still in the mailbox (nothing is ever deleted); "
            f"{marked} carry the $MailbotProcessed keyword."
        )
    print(
        f"\nThe database stays in {workdir}; look at a case with:\n"
        f"  .venv/bin/mailbot --config {config} cases show REF"
    )


def show_notification(smtp: SmtpCapture) -> EmailMessage:
    [notification] = [
        m.message for m in smtp.messages if COORDINATOR in m.rcpt_tos and "New " in str(m.message["Subject"])
    ][:1]
    print(f"\n== The coordinator's notification, to {COORDINATOR}:")
    show(notification, lines=12)
    return notification


def coordinator_reply(notification: EmailMessage) -> bytes:
    """Priya's answer above the quoted notification, as our receiving server would deliver it."""
    reply = EmailMessage()
    reply["Received"] = "from mail.riverside.example by mx.riverside.example; " + format_datetime(
        datetime.now(UTC)
    )
    reply["Authentication-Results"] = (
        "mx.riverside.example; dkim=pass header.d=riverside.example; "
        "spf=pass smtp.mailfrom=riverside.example; dmarc=pass"
    )
    reply["From"] = f"Priya Shah <{COORDINATOR}>"
    reply["To"] = "complaints@riverside.example"
    reply["Subject"] = f"RE: {notification['Subject']}"
    reply["Date"] = format_datetime(datetime.now(UTC))
    reply["Message-ID"] = make_msgid(domain="riverside.example")
    reply["In-Reply-To"] = reply["References"] = notification["Message-ID"]
    quoted = "\n".join(f"> {line}" for line in text_of(notification).splitlines())
    reply.set_content(
        "Dear Mrs Hughes,\n\nThank you for telling us. I have spoken to the rota team this morning: "
        "your father's visits\nare covered by two named carers from today, and I will ring you on Friday "
        "to check.\n\nPriya Shah\nComplaints coordinator\n\n"
        f"On {notification['Date']}, Riverside Complaints wrote:\n{quoted}\n"
    )
    return reply.as_bytes()


def show_relay(smtp: SmtpCapture) -> None:
    relayed = [m for m in smtp.messages if COORDINATOR not in m.rcpt_tos and "visits" in text_of(m.message)]
    if relayed:
        print(f"\n== What the complainant received, to {', '.join(relayed[-1].rcpt_tos)}:")
        show(relayed[-1].message, lines=10)


def list_sent(smtp: SmtpCapture) -> None:
    print(f"\n== The SMTP capture server received {len(smtp.messages)} message(s), saved in {smtp.outdir}:")
    for message in smtp.messages:
        print(f"   {message.path.name}  to {', '.join(message.rcpt_tos)}: {message.message['Subject']}")


def show(message: EmailMessage, lines: int) -> None:
    print(f"   Subject: {message['Subject']}")
    for line in text_of(message).splitlines()[:lines]:
        print(f"   | {line}")


def text_of(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    return body.get_content() if body is not None else ""


def main() -> int:
    try:
        run(ROOT / "var" / "demo")
    except (ServerUnavailable, ServerStartError) as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
