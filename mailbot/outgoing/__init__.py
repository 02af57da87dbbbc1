"""Outgoing mail: letters from templates, notices to staff, the outbox and SMTP delivery."""
