"""A small, real OAuth2 authority on loopback for the tests: it issues short-lived tokens the way Microsoft
Entra ID and Google do, and tells Dovecot and the SMTP capture whether a token is good.

Two listeners: HTTPS (a throwaway self-signed certificate, ``ca_file``) for the clients — msal insists on
https — and plain HTTP for Dovecot's introspection requests. The grants it understands are
``client_credentials`` (secret or certificate assertion), ``refresh_token``, the device code and Google's
JWT bearer grant (a service account signing for a subject); errors carry the AADSTS codes and Google error
texts that the real services send, so mailbot's explanations are tested against them.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

from mailbot.testing.host import LOOPBACK
from mailbot.testing.oauth_apps import APP_ROLES, App, Issued
from mailbot.testing.oauth_grants import TokenGrants
from mailbot.testing.oauth_http import AuthorityHandler, Reply, self_signed_certificate, serve


class OAuthServer(TokenGrants):
    """The authority's state; its HTTP handlers call the methods below on the server threads."""

    host = LOOPBACK

    def __init__(self, workdir: Path, tenant: str = "riverside-tenant", token_lifetime: float = 3600) -> None:
        self.workdir = Path(workdir)
        self.tenant = tenant
        self.token_lifetime = token_lifetime
        self.apps: dict[str, App] = {}
        self.issued: list[Issued] = []
        self.refresh_tokens: dict[str, tuple[str, str]] = {}  # refresh token -> (client id, user)
        self.device_codes: dict[str, str | None] = {}  # device code -> the user who approved it, or None
        self.introspections = 0
        self._secrets: list[str] = []  # every client secret ever registered, revoked ones too
        self._lock = threading.RLock()
        self._servers: list[ThreadingHTTPServer] = []
        self.https_port = self.http_port = 0

    # --- what a test sets up -----------------------------------------------------------------------------

    def register(self, client_id: str, **settings: Any) -> App:
        with self._lock:
            self.apps[client_id] = App(client_id, **settings)
            self._secrets.append(self.apps[client_id].secret or "")
            return self.apps[client_id]

    def grant(self, client_id: str, *mailboxes: str) -> None:
        """As an Exchange administrator's application access policy (or Add-MailboxPermission) would."""
        with self._lock:
            self.apps[client_id].mailboxes.update(mailboxes)

    def revoke_secret(self, client_id: str) -> None:
        with self._lock:
            self.apps[client_id].secret = "revoked-" + secrets.token_hex(8)
            self._secrets.append(self.apps[client_id].secret or "")

    def refresh_token_for(self, client_id: str, user: str) -> str:
        """A refresh token as a person's sign-in would have left (delegated access)."""
        token = "rt-" + secrets.token_urlsafe(24)
        with self._lock:
            self.refresh_tokens[token] = (client_id, user)
        return token

    def approve_device_codes(self, user: str) -> None:
        """Every device code waiting now or later is approved by ``user`` (the person signing in)."""
        with self._lock:
            self._approver = user
            for code in self.device_codes:
                self.device_codes[code] = user

    def tokens_issued(self, client_id: str | None = None) -> list[Issued]:
        with self._lock:
            return [i for i in self.issued if client_id in (None, i.client_id)]

    def secrets_in_play(self) -> list[str]:
        """Every secret and token this authority knows, for tests that grep logs for them."""
        with self._lock:
            tokens = [i.token for i in self.issued]
            # A token's last part is its own; the first two (header, claims) are shared with its siblings.
            return (
                [s for s in self._secrets if s]
                + tokens
                + [t.rsplit(".", 1)[-1] for t in tokens]
                + list(self.refresh_tokens)
            )

    # --- what Dovecot and the SMTP capture ask -----------------------------------------------------------

    def introspect(self, token: str, user: str | None = None) -> dict[str, Any]:
        """RFC 7662 introspection: active, and the mailbox the token may open (Dovecot checks it)."""
        with self._lock:
            self.introspections += 1
            issued = next((i for i in self.issued if i.token == token), None)
            if issued is None or issued.expires_at <= time.time():
                return {"active": False}
            mailbox = issued.user or self._granted_mailbox(issued.client_id, user)
            if mailbox is None:
                return {"active": False}
            return {"active": True, "username": mailbox, "client_id": issued.client_id}

    def _granted_mailbox(self, client_id: str, user: str | None) -> str | None:
        app = self.apps.get(client_id)
        if app is None or not set(APP_ROLES) & set(app.roles):
            return None
        if user is not None:
            return user if user in app.mailboxes else None
        return next(iter(sorted(app.mailboxes)), None)

    def accepts(self, token: str, user: str) -> bool:
        """Whether ``token`` opens ``user``'s mailbox (the SMTP capture's XOAUTH2 check)."""
        return self.introspect(token, user).get("username") == user

    # --- issuing -----------------------------------------------------------------------------------------

    def issue(self, client_id: str, user: str | None, scope: str) -> dict[str, Any]:
        with self._lock:
            app = self.apps.get(client_id)
            roles = list(app.roles) if app and user is None else []
            # JWT-shaped like Entra ID's access tokens, so mailbot can read the roles an admin consented to.
            token = _unsigned_jwt({"roles": roles, "appid": client_id}, secrets.token_urlsafe(32))
            self.issued.append(Issued(token, client_id, user, time.time() + self.token_lifetime))
            lifetime = max(1, int(self.token_lifetime))
        return {"token_type": "Bearer", "access_token": token, "expires_in": lifetime, "scope": scope}

    def start_device_flow(self, client_id: str) -> str:
        code = "dc-" + secrets.token_urlsafe(16)
        with self._lock:
            self.device_codes[code] = getattr(self, "_approver", None)
        return code

    def device_code_user(self, code: str) -> str | None:
        with self._lock:
            return self.device_codes.get(code)

    # --- running -----------------------------------------------------------------------------------------

    @property
    def ca_file(self) -> Path:
        return self.workdir / "authority-ca.pem"

    @property
    def base_url(self) -> str:
        return f"https://{self.host}:{self.https_port}"

    @property
    def authority(self) -> str:
        """What msal is given as ``authority`` (a tenant below the local instance)."""
        return self.base_url

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/token"

    def introspection_url(self, mailbox: str) -> str:
        """Where Dovecot asks whether a token opens ``mailbox`` (plain HTTP: it is on loopback)."""
        return f"http://{self.host}:{self.http_port}/introspect/{mailbox}"

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        cert, key = self_signed_certificate(self.workdir, self.host)
        self.ca_file.write_bytes(cert.read_bytes())
        secure = serve(self._handler(), self.host, cert, key)
        plain = serve(self._handler(), self.host, None, None)
        self._servers = [secure, plain]
        self.https_port, self.http_port = secure.server_port, plain.server_port

    def _handler(self) -> type[AuthorityHandler]:
        authority = self

        class Handler(AuthorityHandler):
            def answer(self, path: str, form: dict[str, str]) -> Reply:
                return authority.answer(self, path, form)

        return Handler

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers = []

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _unsigned_jwt(claims: dict[str, Any], nonce: str) -> str:
    """A JWT-shaped token (header.payload.nonce): mailbot reads its claims, only this authority checks it."""
    import base64

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'typ': 'JWT', 'alg': 'none'})}.{part(claims)}.{nonce}"
