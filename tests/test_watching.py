"""Watching the running service (issue 16): ``mailbot run`` serves Prometheus metrics when [metrics] listen is
set, logs one line per message processed, keeps the libraries quiet, and logs JSON when asked. A real run in
its own process, against real servers, scraped over HTTP."""

from __future__ import annotations

import json
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from mailbot import logs
from mailbot.app import App
from mailbot.config.reader import ConfigError
from mailbot.config.settings import load_config
from mailbot.db.models import Case
from mailbot.testing import Dovecot, SmtpCapture
from mailbot.testing.host import reserved_port
from tests.conftest import ENVIRON
from tests.mails import mail
from tests.services import running, wait_for, with_schedule


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scraped(port: int) -> Callable[[], dict[tuple[str, tuple[tuple[str, str], ...]], float]]:
    def attempt() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        try:
            return scrape(port)
        except OSError:
            return {}

    return attempt


def test_run_serves_metrics_and_logs_one_json_line_per_message(
    app: App, dovecot: Dovecot, smtp_server: SmtpCapture, tmp_path: Path
) -> None:
    # The port is held until the service listens on it: a port merely picked was once taken by another
    # test's Dovecot during the service's start-up, and its IMAP greeting scraped.
    with reserved_port() as port:
        config = with_schedule(app, poll_seconds=1, more=f'[metrics]\nlisten = "127.0.0.1:{port}"\n\n')
        with running(config, tmp_path / "run.log", "--log-format", "json") as service:
            metrics = scraped(port)
            wait_for(
                lambda: ("mailbot_poll_duration_seconds", (("mailbox", "complaints"),)) in metrics(),
                "a poll",
                seconds=40,
                every=0.2,
            )
            dovecot.deliver(mail(sender="jane.doe@example.net"))
            wait_for(
                lambda: metrics().get(("mailbot_letters", (("state", "sent"),))) == 1,
                "the letter sent",
                40,
                0.2,
            )
            figures = scrape(port)

    assert figures[("mailbot_messages", (("kind", "complaint"), ("state", "processed")))] == 1
    assert figures[("mailbot_outbox_backlog", ())] == 0
    assert figures[("mailbot_shunted_messages", ())] == 0
    assert (
        figures[("mailbot_letters", (("state", "held"),))]
        == figures[("mailbot_letters", (("state", "failed"),))]
        == 0
    )
    assert figures[("mailbot_oldest_unacknowledged_complaint_age_seconds", ())] == 0
    assert 0 < figures[("mailbot_poll_duration_seconds", (("mailbox", "complaints"),))] < 30

    entries = [json.loads(line) for line in service.log.read_text().splitlines()]  # every line is JSON
    with app.sessions() as session:
        ref = session.scalars(select(Case.ref)).one()
    [processed] = [e for e in entries if e["message"].startswith("message ") and ref in e["message"]]
    assert processed["level"] == "INFO" and f"(complaints): {ref}, complaint: " in processed["message"]
    libraries = [e for e in entries if e["logger"].startswith(("apscheduler", "imapclient", "aiosmtplib"))]
    # Their chatter ("Running job ...", "Job executed successfully") is gone; a warning still gets through,
    # as APScheduler's "skipped: maximum number of running instances reached" on a machine under load.
    assert [e for e in libraries if e["level"] not in ("WARNING", "ERROR", "CRITICAL")] == []


def test_metrics_are_off_unless_listen_is_set_and_listen_is_checked(tmp_path: Path, app: App) -> None:
    assert app.config.watching.metrics_host is None
    config = app.config.path
    text = config.read_text()
    for listen in ("9108", "127.0.0.1:99999", "127.0.0.1:"):
        config.write_text(text.replace("[smtp]", f'[metrics]\nlisten = "{listen}"\n\n[smtp]'))
        with pytest.raises(ConfigError, match=r"metrics\.listen: expected HOST:PORT"):
            load_config(config, ENVIRON)
    config.write_text(text.replace("[smtp]", '[logging]\nformat = "xml"\n\n[smtp]'))
    with pytest.raises(ConfigError, match=r"logging\.format: expected one of text, json, got .xml."):
        load_config(config, ENVIRON)


def test_json_log_lines_carry_the_traceback_of_an_error() -> None:
    import logging

    try:
        raise ValueError("broken")
    except ValueError:
        record = logging.LogRecord(
            "mailbot.x", logging.ERROR, __file__, 1, "failed: %s", ("it",), sys.exc_info()
        )
    entry = json.loads(logs.JsonLines().format(record))
    assert (entry["level"], entry["logger"], entry["message"]) == ("ERROR", "mailbot.x", "failed: it")
    assert "ValueError: broken" in entry["traceback"]


def test_a_backlog_processed_on_a_terminal_shows_a_bar_and_off_one_nothing(
    app: App, dovecot: Dovecot, capsys: pytest.CaptureFixture[str]
) -> None:
    from mailbot.cli.progress import WORTH_A_BAR, processing_progress
    from mailbot.pipeline import process_pending
    from mailbot.scheduled import jobs

    jobs.poll_cycle(app)  # first contact
    for batch in range(2):
        for i in range(WORTH_A_BAR + 5):
            dovecot.deliver(mail(sender=f"writer{batch}-{i}@example.net"))
        report = jobs.CycleReport()
        jobs.fetch_mailbox(app, app.config.mailbox("complaints"), report)
        capsys.readouterr()
        with processing_progress(app, "importing complaints", interactive=batch == 0):
            processed = process_pending(app).processed
        assert processed == WORTH_A_BAR + 5
        err = capsys.readouterr().err
        if batch == 0:
            assert "importing complaints" in err and "message" in err
        else:
            assert err == ""


def test_eval_over_a_labelled_set_shows_a_bar_on_a_terminal_and_nothing_off_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from mailbot.classify import load_chain
    from mailbot.classify.evaluate import evaluate_set
    from mailbot.classify.safeguarding import load_screening
    from mailbot.cli.progress import counted

    labelled = Path(__file__).parent / "data" / "labelled_more.toml"
    rules = Path(__file__).parent.parent / "rules"
    chain, screening = load_chain(rules / "classify.toml"), load_screening(rules / "safeguarding.toml")
    for terminal in (True, False):
        capsys.readouterr()
        bar = counted("classifying", interactive=terminal)
        evaluation = evaluate_set(labelled, chain, screening=screening, each=bar)
        err = capsys.readouterr().err
        assert len(evaluation.judgements) > 20  # enough for a bar
        assert ("classifying" in err and "mail" in err) if terminal else err == ""
