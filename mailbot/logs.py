"""Logging for every command: one line per event on stderr, as text for a person or JSON for a collector;
the libraries' own chatter kept to warnings unless ``--verbose``."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# What each library says at INFO or DEBUG is about its own workings (APScheduler: "Running job ...",
# "Job executed successfully"; alembic: each migration step; the demo's SMTP server: every command).
LIBRARIES = ("apscheduler", "imapclient", "aiosmtplib", "alembic", "mail.log", "urllib3", "msal")


class JsonLines(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def set_up(verbose: bool, log_format: str = "text") -> None:
    """Called once by the command line, and again when the configuration asks for another format. Like
    logging.basicConfig, it leaves alone a process whose logging someone else set up (a test runner)."""
    root = logging.getLogger()
    ours = [handler for handler in root.handlers if getattr(handler, "mailbot", False)]
    if len(ours) == len(root.handlers):
        for old in ours:
            root.removeHandler(old)
        handler = logging.StreamHandler(sys.stderr)
        handler.mailbot = True  # type: ignore[attr-defined]
        handler.setFormatter(JsonLines() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
        root.addHandler(handler)
        root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for library in LIBRARIES:
        logging.getLogger(library).setLevel(logging.DEBUG if verbose else logging.WARNING)
    # mail-parser warns about every part type it leaves to us (e.g. the rfc822-headers of a bounce)
    logging.getLogger("mailparser").setLevel(logging.DEBUG if verbose else logging.ERROR)
