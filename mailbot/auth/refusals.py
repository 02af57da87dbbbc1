"""Why a server refused a token that the provider issued, in words an administrator can act on.

The token being issued proves the tenant, the app and its secret are right; what is left is permission.
Exchange Online's access tokens say which application permissions were consented to (the ``roles`` claim),
which separates "admin consent missing" from "the app was not given this mailbox".
"""

from __future__ import annotations

import base64
import json

from mailbot.config.auth import OAuthSettings

_NEEDED_ROLE = {"imap": "IMAP.AccessAsApp", "smtp": "SMTP.SendAsApp"}
_GMAIL_IMAP_OFF = (
    "IMAP is turned off: in the Google Admin console > Apps > Google Workspace > Gmail > End user access, "
    "allow POP and IMAP access (and IMAP in the mailbox's own Gmail settings)"
)


def explain_refusal(settings: OAuthSettings, token: str, server_text: str, protocol: str) -> str:
    """What to check when ``protocol`` ("imap" or "smtp") refused ``token`` for ``settings.username``."""
    user = settings.username
    if settings.method == "google":
        if "imap" in server_text.lower() and "disabled" in server_text.lower():
            return _GMAIL_IMAP_OFF
        return (
            f"Gmail refused the token for {user}: check username is the Workspace user the delegation acts as"
        )
    if settings.method == "microsoft365":
        return _exchange(settings, token, server_text, protocol)
    scope = settings.scope or "none"
    return f"the server refused the token for {user}: check that scope ({scope}) gives mail access"


def _exchange(settings: OAuthSettings, token: str, server_text: str, protocol: str) -> str:
    user, role = settings.username, _NEEDED_ROLE[protocol]
    if not settings.delegated and role not in token_roles(token):
        return (
            f"the app's token has no {role} permission, so admin consent is missing: in the Entra admin "
            f"centre > App registrations > your app > API permissions, add Office 365 Exchange Online > "
            f"Application permissions > {role}, then press 'Grant admin consent'"
        )
    reason = server_text.strip()[:120] or "no reason given"
    switch = "-ImapEnabled $true" if protocol == "imap" else "-SmtpClientAuthenticationDisabled $false"
    return (
        f"Exchange Online did not let this app open {user} ({reason}). "
        f"Either the app was not given the mailbox — in Exchange Online PowerShell: New-ServicePrincipal "
        f"-AppId {settings.client_id} -ObjectId <the enterprise application's Object ID>, then "
        f"Add-MailboxPermission -Identity {user} -User <that Object ID> -AccessRights FullAccess — or "
        f"{protocol.upper()} is turned off for it: Set-CASMailbox -Identity {user} {switch} "
        f"(see docs/microsoft365.md)"
    )


def token_roles(token: str) -> list[str]:
    """The ``roles`` claim of a JWT access token, read without checking its signature (only for advice)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return []
    roles = claims.get("roles") if isinstance(claims, dict) else None
    return [str(r) for r in roles] if isinstance(roles, list) else []
