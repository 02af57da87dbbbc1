"""Real, throwaway Dovecot IMAP, SMTP capture (aiosmtpd) and PostgreSQL servers on free loopback ports, for
the tests and ``make demo``. Needs the ``test`` extra (aiosmtpd). ``python -m mailbot.testing`` runs two."""

from mailbot.testing.availability import ServerStartError, ServerUnavailable, require, skip_or_fail
from mailbot.testing.dovecot import Dovecot, find_dovecot
from mailbot.testing.postgres import PostgresCluster, find_postgres
from mailbot.testing.smtp import CapturedMessage, SmtpCapture, find_aiosmtpd

__all__ = [
    "CapturedMessage",
    "Dovecot",
    "PostgresCluster",
    "ServerStartError",
    "ServerUnavailable",
    "SmtpCapture",
    "find_aiosmtpd",
    "find_dovecot",
    "find_postgres",
    "require",
    "skip_or_fail",
]
