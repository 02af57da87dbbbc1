"""Throwaway real servers (Dovecot, aiosmtpd capture, PostgreSQL) for the tests and the demo.

Needs the ``test`` extra (aiosmtpd)."""
