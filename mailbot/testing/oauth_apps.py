"""What the test authority knows about its clients, and the tokens it has issued."""

from __future__ import annotations

from dataclasses import dataclass, field

APP_ROLES = ("IMAP.AccessAsApp", "SMTP.SendAsApp")


@dataclass
class App:
    """An app registration (Microsoft), service account or OAuth client (Google), or any other client."""

    client_id: str
    secret: str | None = None
    public_key_pem: bytes | None = None  # for a certificate assertion or a service account's signed JWT
    roles: tuple[str, ...] = APP_ROLES  # application permissions an administrator consented to
    mailboxes: set[str] = field(default_factory=set)  # mailboxes this app was granted (app-only access)
    secret_expired: bool = False
    delegation: bool = True  # Google: domain-wide delegation granted for the mail scope


@dataclass(frozen=True)
class Issued:
    token: str
    client_id: str
    user: str | None  # the mailbox a delegated or subject token is for; None for app-only
    expires_at: float
