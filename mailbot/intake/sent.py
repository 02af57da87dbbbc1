"""Where a copy of what mailbot sent is filed, and whether to file one at all.

The folder is the one the server marks ``\\Sent`` (RFC 6154 SPECIAL-USE): Exchange calls it "Sent Items",
Gmail "[Gmail]/Sent Mail". Gmail and Exchange Online already file a copy of everything sent through their SMTP
servers in the Sent folder of the mailbox that logged in, so a second copy there would show every letter
twice; ``file_sent_copy = "auto"`` leaves that mailbox's copy to them.
"""

from __future__ import annotations

import dataclasses

from imapclient import IMAPClient
from imapclient.imapclient import SENT

from mailbot.config.servers import MailboxConfig, SmtpConfig

SERVERS_FILING_OWN_COPY = frozenset({"smtp.office365.com", "smtp.gmail.com"})
FALLBACK_FOLDER = "Sent"


def wants_copy(box: MailboxConfig, smtp: SmtpConfig) -> bool:
    """``yes`` and ``no`` are what they say; ``auto`` files a copy unless the SMTP server files its own."""
    if box.file_sent_copy != "auto":
        return box.file_sent_copy == "yes"
    return not server_files_copy(box, smtp)


def server_files_copy(box: MailboxConfig, smtp: SmtpConfig) -> bool:
    """Gmail's and Microsoft 365's SMTP file a copy for the account that logged in, and only for it."""
    provider = smtp.auth in ("microsoft365", "google") or smtp.host.lower() in SERVERS_FILING_OWN_COPY
    return provider and (smtp.username or "").lower() == box.username.lower()


def with_sent_folder(client: IMAPClient, box: MailboxConfig) -> MailboxConfig:
    """The mailbox's settings with ``sent_folder`` filled in: as configured, else the server's ``\\Sent``."""
    if box.sent_folder:
        return box
    found = client.find_special_folder(SENT)
    return dataclasses.replace(box, sent_folder=found or FALLBACK_FOLDER)
