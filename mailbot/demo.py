"""``make demo``: a throwaway Dovecot and SMTP capture server, the sample complaints in ``examples/``, and one
real cycle of the bot against them. Everything is written under ``var/demo/``."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from mailbot import cli
from mailbot.testing import Dovecot, ServerStartError, ServerUnavailable, SmtpCapture

ROOT = Path(__file__).resolve().parent.parent
PASSWORD_ENV = "MAILBOT_DEMO_IMAP_PASSWORD"


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
""",
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
        step(
            "First contact with the (empty) mailbox: nothing there is answered",
            "--config",
            config,
            "poll",
            "--once",
        )
        samples = sorted((ROOT / "examples").glob("*.eml"))
        for sample in samples:
            imap.deliver(sample.read_bytes())
        print(f"\n== Delivered {len(samples)} sample messages from examples/ to the mailbox", flush=True)
        step("One cycle: fetch, classify, open cases, acknowledge", "--config", config, "poll", "--once")
        step("The cases", "--config", config, "cases", "list")
        print(
            f"\n== The SMTP capture server received {len(smtp.messages)} message(s), saved in {smtp.outdir}:"
        )
        for message in smtp.messages:
            print(f"   {message.path}  to {', '.join(message.rcpt_tos)}: {message.message['Subject']}")
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


def main() -> int:
    try:
        run(ROOT / "var" / "demo")
    except (ServerUnavailable, ServerStartError) as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
