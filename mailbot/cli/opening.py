"""What every command opens first: its configuration and the app built from it; and the error raised when a
command names something that is not there.

Each command imports the parts it needs when it runs, so ``mailbot --help`` need not load the database layer,
the rules or the mail libraries (about a second) before printing a line.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from mailbot.errors import MailbotError

if TYPE_CHECKING:
    from mailbot.app import App
    from mailbot.config.settings import Config


class UsageError(MailbotError):
    """A command typed wrongly; says what would be accepted."""


def config_from(args: argparse.Namespace) -> Config:
    """The configuration; its [logging] format applies from here on, unless --log-format chose one."""
    from mailbot import logs
    from mailbot.config.settings import load_config

    config = load_config(args.config, os.environ)
    if getattr(args, "log_format", None) is None and config.watching.log_format != "text":
        logs.set_up(getattr(args, "verbose", False), config.watching.log_format)
    return config


@contextmanager
def opened_app(args: argparse.Namespace) -> Iterator[App]:
    """The app for one command; its database connections are closed whatever happens."""
    from mailbot.app import build_app

    app = build_app(config_from(args))
    try:
        yield app
    finally:
        app.close()
