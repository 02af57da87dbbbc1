"""The ``mailbot`` command: sets up logging, runs the command typed, and turns mailbot's own errors into one
line and an exit code. The arguments are in ``parser.py``; each group of commands has its own module."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from mailbot.cli.parser import build_parser
from mailbot.errors import MailbotError


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _set_up_logging(args.verbose)
    try:
        return int(args.func(args) or 0)
    except MailbotError as exc:  # a mistake in the configuration or the command, or a server we cannot use
        print(f"mailbot: {exc}", file=sys.stderr)
        return exc.exit_code


def _set_up_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for chatty in ("alembic", "mail.log"):  # migrations and the demo's SMTP server log every step at INFO
        logging.getLogger(chatty).setLevel(logging.DEBUG if verbose else logging.WARNING)
    # mail-parser warns about every part type it leaves to us (e.g. the rfc822-headers of a bounce)
    logging.getLogger("mailparser").setLevel(logging.DEBUG if verbose else logging.ERROR)
