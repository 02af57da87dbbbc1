"""Real, throwaway Dovecot IMAP, SMTP capture (aiosmtpd), PostgreSQL and rspamd servers on free loopback
ports, for the tests and ``make demo``. Needs the ``test`` extra (aiosmtpd). ``python -m mailbot.testing``
runs two."""

from mailbot.testing.availability import ServerStartError, ServerUnavailable, require, skip_or_fail
from mailbot.testing.dovecot import Dovecot, find_dovecot
from mailbot.testing.postgres import PostgresCluster, find_postgres
from mailbot.testing.rspamd import Rspamd, find_rspamd
from mailbot.testing.smtp import CapturedMessage, SmtpCapture, find_aiosmtpd

__all__ = [
    "CapturedMessage",
    "Dovecot",
    "PostgresCluster",
    "Rspamd",
    "ServerStartError",
    "ServerUnavailable",
    "SmtpCapture",
    "find_aiosmtpd",
    "find_dovecot",
    "find_postgres",
    "find_rspamd",
    "require",
    "skip_or_fail",
]
