"""The one base for mailbot's own exceptions, and the branch for mistakes a person can correct.

The command line catches ``MailbotError`` once: it prints the message on one line (a message names the file,
key or command and what would be accepted) and exits with the error's ``exit_code``.
"""

from __future__ import annotations


class MailbotError(Exception):
    """Something mailbot could not do, said in words a person can act on."""

    exit_code = 1


class UserError(MailbotError):
    """A mistake in what a person gave mailbot: configuration, a policy, rules, templates or arguments."""

    exit_code = 2
