"""Benchmark: end-to-end intake. N realistic mails (~13 KB; one in ten with a 60 KB PDF) are APPENDed into a
throwaway Dovecot, then ``poll --once`` runs until the local SMTP server (aiosmtpd, in its own process) has
accepted every acknowledgement. msg/s on SQLite and PostgreSQL, with the bot in this process (as ``mailbot
run`` keeps it) and as the CLI (a fresh interpreter, as cron runs it); and, interleaved with those runs, the
same mailbox through django-helpdesk 2.6.1's ``get_email`` in its own virtualenv. Run by hand; the figures go
in the README.

    .venv/bin/python benchmarks/ingest.py [--quick] [--counts 500 5000] [--runs 3] [--only sqlite|postgresql]
                                          [--modes inprocess cli helpdesk] [--helpdesk-venv PATH]
                                          [--smtp-connections N]

``--quick`` is one run of each at 200 mails. The helpdesk virtualenv is made once with
``python3 -m venv /tmp/wt-hotpath/helpdesk-venv && /tmp/wt-hotpath/helpdesk-venv/bin/pip install
django-helpdesk==2.6.1``; where it is missing, mailbot's figures are reported alone.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mailbot.testing import Dovecot, PostgresCluster  # noqa: E402

PASSWORD = "secret"
ENV = {"BENCH_IMAP_PASSWORD": PASSWORD}
HELPDESK_VENV = Path("/tmp/wt-hotpath/helpdesk-venv")
SMTP_CONNECTIONS = [1]  # [smtp] connections for mailbot's runs: --smtp-connections
PATIENCE = 5  # poll cycles (or get_email runs) before a run is declared stuck

# --- the mail ---------------------------------------------------------------------------------------------

COMPLAINTS = (
    "I want to make a formal complaint about the care my mother receives at home. Her carers missed "
    "three visits this fortnight and nobody rang to tell us; on Tuesday she was left without lunch.",
    "I am writing to complain about how my father was treated at the day centre last week. Staff did "
    "not give him his medication on time and when I raised it I was told it was not their problem.",
    "Please treat this as a complaint. The agency has changed my son's support worker four times in a "
    "month without telling us, and the new workers do not know his communication plan.",
)
FILLER = (
    "We have tried to sort this out informally with the coordinator, who was kind, but nothing has "
    "changed and we are worried about what happens over the holidays. "
)


def realistic_mail(number: int, rng: random.Random, at: datetime) -> bytes:
    """A complaint of about 13 KB as Outlook or Gmail sends one: a relay trail, a signature, a text and an
    HTML part, an earlier message quoted; every tenth carries a 60 KB PDF."""
    sender = f"relative{number:05d}@example.net"
    message = EmailMessage()
    for hop in range(5):
        message["Received"] = (
            f"from mx{hop}.example.net (mx{hop}.example.net [192.0.2.{hop + 10}]) by mx.riverside.example "
            f"(Postfix) with ESMTPS id {rng.getrandbits(48):012X} for <complaints@riverside.example>; "
            f"{format_datetime(at)}"
        )
    message["DKIM-Signature"] = "v=1; a=rsa-sha256; d=example.net; s=s1; b=" + "A" * 340
    message["From"] = f"Relative {number} <{sender}>"
    message["To"] = "Complaints <complaints@riverside.example>"
    message["Subject"] = f"Complaint about missed visits ({number})"
    message["Date"] = format_datetime(at)
    message["Message-ID"] = f"<bench-{number}-{rng.getrandbits(32):08x}@example.net>"
    body = rng.choice(COMPLAINTS) + "\n\n" + FILLER * 16 + "\n\nYours sincerely,\nRelative " + str(number)
    quoted = "\n".join("> " + line for line in (FILLER * 13).split(". "))
    text = f"{body}\n\nOn Monday the coordinator wrote:\n{quoted}\n"
    message.set_content(text)
    paragraphs = "".join(f"<p style='font-family:Calibri'>{p}</p>" for p in text.split("\n") if p)
    message.add_alternative(f"<html><body><div>{paragraphs}</div></body></html>", subtype="html")
    if number % 10 == 0:
        message.add_attachment(fake_pdf(rng), maintype="application", subtype="pdf", filename="care-plan.pdf")
    return message.as_bytes()


def fake_pdf(rng: random.Random, size: int = 60_000) -> bytes:
    return b"%PDF-1.4\n" + rng.randbytes(size - 16) + b"\n%%EOF\n"


def mails(count: int) -> list[bytes]:
    rng = random.Random(15)
    start = datetime.now(UTC) - timedelta(hours=1)
    return [realistic_mail(n, rng, start + timedelta(seconds=n)) for n in range(count)]


# --- the SMTP server, in its own process so it takes no CPU time from the bot's interpreter ---------------


def _smtp_child(pipe: multiprocessing.connection.Connection) -> None:
    from mailbot.testing import SmtpCapture

    with SmtpCapture() as smtp:
        pipe.send(smtp.port)
        while True:
            command = pipe.recv()
            if command == "stop":
                return
            if command == "clear":
                smtp.clear()
            pipe.send(len(smtp.messages))


class SmtpProcess:
    def __init__(self) -> None:
        self._pipe, child = multiprocessing.Pipe()
        self._process = multiprocessing.Process(target=_smtp_child, args=(child,), daemon=True)
        self._process.start()
        self.port: int = self._pipe.recv()

    @property
    def pid(self) -> int:
        return self._process.pid or 0

    def accepted(self) -> int:
        self._pipe.send("count")
        return self._pipe.recv()

    def clear(self) -> None:
        self._pipe.send("clear")
        self._pipe.recv()

    def stop(self) -> None:
        self._pipe.send("stop")
        self._process.join(10)


# --- one run ----------------------------------------------------------------------------------------------

CONFIG = """
[organisation]
name = "Riverside Care Trust"
from_address = "complaints@riverside.example"
[database]
url = "{url}"
[storage]
directory = "{workdir}/store"
[cases]
policies_dir = "{root}/rules/policies"
templates_dir = "{root}/templates"
classify_rules = "{root}/rules/classify.toml"
[smtp]
host = "127.0.0.1"
port = {smtp_port}
tls = "none"
connections = {connections}
[[mailbox]]
name = "complaints"
host = "127.0.0.1"
port = {imap_port}
tls = "none"
username = "complaints"
password_env = "BENCH_IMAP_PASSWORD"
"""


def append_all(dovecot: Dovecot, raws: list[bytes]) -> None:
    with dovecot.client() as imap:
        for raw in raws:
            imap.append("INBOX", raw)


def run_mailbot(mode: str, url: str, workdir: Path, smtp: SmtpProcess, raws: list[bytes]) -> float:
    """Seconds from the first ``poll --once`` to the last acknowledgement accepted."""
    with Dovecot(workdir / "dovecot", users={"complaints": PASSWORD}) as dovecot:
        config = workdir / "config.toml"
        config.write_text(
            CONFIG.format(
                url=url,
                workdir=workdir,
                root=ROOT,
                smtp_port=smtp.port,
                imap_port=dovecot.port,
                connections=SMTP_CONNECTIONS[0],
            )
        )
        os.environ.update(ENV)
        poll = _in_process_poll(config) if mode == "inprocess" else _cli_poll(config)
        poll()  # first contact: the (empty) mailbox's baseline and the schema, not timed
        append_all(dovecot, raws)
        smtp.clear()
        start = time.perf_counter()
        for _ in range(PATIENCE):
            poll()
            if smtp.accepted() >= len(raws):
                return time.perf_counter() - start
        raise RuntimeError(f"{mode}: only {smtp.accepted()} of {len(raws)} acknowledgements after {PATIENCE}")


def _in_process_poll(config: Path):  # type: ignore[no-untyped-def]
    from mailbot.app import build_app
    from mailbot.config.settings import load_config
    from mailbot.scheduled.jobs import poll_cycle

    app = build_app(load_config(config, dict(os.environ)))
    return lambda: poll_cycle(app)


def _cli_poll(config: Path):  # type: ignore[no-untyped-def]
    def poll() -> None:
        subprocess.run(
            [sys.executable, "-m", "mailbot.cli", "--config", str(config), "poll", "--once"],
            cwd=ROOT, env={**os.environ, **ENV}, check=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    return poll


# --- django-helpdesk --------------------------------------------------------------------------------------

HELPDESK_SETTINGS = """
SECRET_KEY = "benchmark"
DEBUG = False
ALLOWED_HOSTS = ["*"]
SITE_ID = 1
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
    "django.contrib.sites", "django.contrib.messages", "django.contrib.humanize", "rest_framework",
    "helpdesk",
]
MIDDLEWARE = ["django.contrib.sessions.middleware.SessionMiddleware",
              "django.contrib.auth.middleware.AuthenticationMiddleware",
              "django.contrib.messages.middleware.MessageMiddleware"]
ROOT_URLCONF = "helpdesk_urls"
TEMPLATES = [{{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
              "OPTIONS": {{"context_processors": ["django.contrib.auth.context_processors.auth",
                                                 "django.template.context_processors.request",
                                                 "django.contrib.messages.context_processors.messages"]}}}}]
DATABASES = {{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": "{db}"}}}}
MEDIA_ROOT = "{workdir}/media"
HELPDESK_TEAMS_MODE_ENABLED = False
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = "127.0.0.1"
EMAIL_PORT = {smtp_port}
DEFAULT_FROM_EMAIL = "complaints@riverside.example"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
LOGGING = {{"version": 1, "disable_existing_loggers": False, "root": {{"level": "WARNING"}}}}
"""
HELPDESK_URLS = """
from django.urls import include, path
urlpatterns = [path("helpdesk/", include("helpdesk.urls", namespace="helpdesk"))]
"""
HELPDESK_QUEUE = """
from helpdesk.models import Queue
Queue.objects.create(
    title="Complaints", slug="complaints", email_address="complaints@riverside.example",
    allow_email_submission=True, email_box_type="imap", email_box_host="127.0.0.1", email_box_port={port},
    email_box_ssl=False, email_box_user="complaints", email_box_pass="{password}",
    email_box_imap_folder="INBOX", email_box_interval=0, logging_type="none",
)
"""


def helpdesk_ready(venv: Path) -> bool:
    python = venv / "bin" / "python"
    return python.exists() and subprocess.run([python, "-c", "import helpdesk"], check=False).returncode == 0


def run_helpdesk(venv: Path, workdir: Path, smtp: SmtpProcess, raws: list[bytes]) -> float:
    """Seconds from the first ``get_email`` to the last acknowledgement accepted."""
    with Dovecot(workdir / "dovecot", users={"complaints": PASSWORD}) as dovecot:
        project = workdir / "helpdesk"
        project.mkdir()
        settings = HELPDESK_SETTINGS.format(db=workdir / "helpdesk.db", workdir=workdir, smtp_port=smtp.port)
        (project / "helpdesk_settings.py").write_text(settings)
        (project / "helpdesk_urls.py").write_text(HELPDESK_URLS)
        manage = _helpdesk_manage(venv, project)
        manage("migrate", "--run-syncdb")
        manage("shell", "-c", HELPDESK_QUEUE.format(port=dovecot.port, password=PASSWORD))
        append_all(dovecot, raws)
        smtp.clear()
        start = time.perf_counter()
        for _ in range(PATIENCE):
            manage("get_email", "--quiet")
            if smtp.accepted() >= len(raws):
                return time.perf_counter() - start
        raise RuntimeError(f"helpdesk: only {smtp.accepted()} of {len(raws)} acknowledgements")


def _helpdesk_manage(venv: Path, project: Path):  # type: ignore[no-untyped-def]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "helpdesk_settings", "PYTHONPATH": str(project)}

    def manage(*args: str) -> None:
        subprocess.run(
            [venv / "bin" / "python", "-m", "django", *args], cwd=project, env=env, check=True,
            stdout=subprocess.DEVNULL,
        )  # fmt: skip

    return manage


# --- the whole benchmark ----------------------------------------------------------------------------------


@contextmanager
def databases(backends: list[str]) -> Iterator[dict[str, PostgresCluster | None]]:
    cluster = PostgresCluster() if "postgresql" in backends else None
    if cluster is not None:
        cluster.start()
    try:
        yield {"sqlite": None, "postgresql": cluster}
    finally:
        if cluster is not None:
            cluster.stop()


_fresh = iter(range(1, 1_000_000))


def fresh_url(backend: str, cluster: PostgresCluster | None, workdir: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{workdir / 'mailbot.db'}"
    assert cluster is not None
    return cluster.create_database(f"ingest_{next(_fresh)}")


def measure(args: argparse.Namespace) -> dict[tuple[str, int], list[float]]:
    """Every run of every count, interleaved: mailbot's modes and backends, then helpdesk, round by round."""
    backends = [args.only] if args.only else ["sqlite", "postgresql"]
    helpdesk = "helpdesk" in args.modes and helpdesk_ready(args.helpdesk_venv)
    if "helpdesk" in args.modes and not helpdesk:
        print(f"django-helpdesk not found in {args.helpdesk_venv}: mailbot's figures alone")
    results: dict[tuple[str, int], list[float]] = {}
    smtp = SmtpProcess()
    try:
        with databases(backends) as clusters:
            for count in args.counts:
                raws = mails(count)
                size = sum(map(len, raws)) / count / 1024
                print(f"{count} mails, {size:.1f} KB on average")
                for round_ in range(args.runs):
                    for label, run in _runs(args, backends, clusters, helpdesk, smtp, raws):
                        with tempfile.TemporaryDirectory(prefix="ingest-", dir=args.tmp) as tmp:
                            seconds = run(Path(tmp))
                        results.setdefault((label, count), []).append(count / seconds)
                        print(f"  round {round_ + 1} {label}: {seconds:.1f} s, {count / seconds:.1f} msg/s")
    finally:
        smtp.stop()
    return results


def _runs(args, backends, clusters, helpdesk, smtp, raws):  # type: ignore[no-untyped-def]
    for mode in [m for m in args.modes if m != "helpdesk"]:
        for backend in backends:
            label = f"mailbot {mode} {backend}"

            def run(tmp: Path, mode: str = mode, backend: str = backend) -> float:
                return run_mailbot(mode, fresh_url(backend, clusters[backend], tmp), tmp, smtp, raws)

            yield label, run
    if helpdesk:
        yield "django-helpdesk sqlite", lambda tmp: run_helpdesk(args.helpdesk_venv, tmp, smtp, raws)


def print_table(results: dict[tuple[str, int], list[float]], counts: list[int]) -> None:
    labels = list(dict.fromkeys(label for label, _ in results))
    print("\n| msg/s (median of runs) | " + " | ".join(f"{c:,} mails" for c in counts) + " |")
    print("| --- |" + " --- |" * len(counts))
    for label in labels:
        cells = [_median(results.get((label, c))) for c in counts]
        print(f"| {label} | " + " | ".join(cells) + " |")
    for count in counts:
        helpdesk = results.get(("django-helpdesk sqlite", count))
        for label in labels:
            if helpdesk and label.startswith("mailbot") and results.get((label, count)):
                ratio = statistics.median(results[(label, count)]) / statistics.median(helpdesk)
                print(f"{count:,} mails: {label} / django-helpdesk = {ratio:.1f}x")


def _median(values: list[float] | None) -> str:
    return f"{statistics.median(values):.1f}" if values else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one round at 200 mails")
    parser.add_argument("--counts", type=int, nargs="+", default=[500, 5000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--modes", nargs="+", default=["inprocess", "cli", "helpdesk"])
    parser.add_argument("--helpdesk-venv", type=Path, default=HELPDESK_VENV)
    parser.add_argument("--tmp", help="where each run's servers and databases live (default: the system's)")
    parser.add_argument("--smtp-connections", type=int, default=1, help="mailbot's [smtp] connections")
    args = parser.parse_args(argv)
    SMTP_CONNECTIONS[0] = args.smtp_connections
    if args.quick:
        args.counts, args.runs = [200], 1
    print_table(measure(args), args.counts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
