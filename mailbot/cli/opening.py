"""What every command opens first: its configuration and the app built from it; and the error raised when a
command names something that is not there."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from contextlib import contextmanager

from mailbot.app import App, build_app
from mailbot.config.settings import Config, load_config
from mailbot.errors import MailbotError


class UsageError(MailbotError):
    """A command typed wrongly; says what would be accepted."""


def config_from(args: argparse.Namespace) -> Config:
    return load_config(args.config, os.environ)


@contextmanager
def opened_app(args: argparse.Namespace) -> Iterator[App]:
    """The app for one command; its database connections are closed whatever happens."""
    app = build_app(config_from(args))
    try:
        yield app
    finally:
        app.close()
