"""The ``mailbot`` command: sets up logging, runs the command typed, and turns mailbot's own errors into one
line and an exit code. The arguments are in ``parser.py``; each group of commands has its own module."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence

from mailbot import logs
from mailbot.cli.parser import build_parser
from mailbot.errors import MailbotError

# What a shell reports for a command stopped by SIGPIPE, as `yes | head -1` shows.
CLOSED_PIPE_EXIT = 128 + signal.SIGPIPE


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logs.set_up(args.verbose, args.log_format or "text")
    try:
        status = int(args.func(args) or 0)
        sys.stdout.flush()  # so a reader that left early is noticed here, not at exit
        return status
    except BrokenPipeError:
        return _reader_went_away()
    except MailbotError as exc:  # a mistake in the configuration or the command, or a server we cannot use
        print(f"mailbot: {exc}", file=sys.stderr)
        return exc.exit_code


def _reader_went_away() -> int:
    """``mailbot cases list | head -1``: the rest of the output has nowhere to go, which is no error. What is
    left in the buffer is sent to /dev/null, or Python's flush at exit would print a traceback."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return CLOSED_PIPE_EXIT
