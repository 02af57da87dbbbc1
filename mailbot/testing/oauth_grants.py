"""The test authority's endpoints: discovery, token grants and introspection, answering as Entra ID and
Google do (their error codes and wording), so mailbot's explanations meet the real texts."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

from mailbot.testing.oauth_apps import App

if TYPE_CHECKING:
    from mailbot.testing.oauth_http import AuthorityHandler, Reply

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_TENANT_PATH = re.compile(r"^/(?P<tenant>[^/]+)(?P<rest>/.*)$")


class TokenGrants:
    """The endpoints, as a mixin of OAuthServer (which holds the apps and issues the tokens)."""

    tenant: str
    base_url: str
    apps: dict[str, App]
    refresh_tokens: dict[str, tuple[str, str]]
    device_codes: dict[str, str | None]

    def introspect(self, token: str, user: str | None = None) -> dict[str, Any]:
        raise NotImplementedError

    def issue(self, client_id: str, user: str | None, scope: str) -> dict[str, Any]:
        raise NotImplementedError

    def refresh_token_for(self, client_id: str, user: str) -> str:
        raise NotImplementedError

    def start_device_flow(self, client_id: str) -> str:
        raise NotImplementedError

    def device_code_user(self, code: str) -> str | None:
        raise NotImplementedError

    def answer(self, handler: AuthorityHandler, path: str, form: dict[str, str]) -> Reply:
        if path.startswith("/introspect/"):  # one URL per mailbox: Dovecot does not say which user logs in
            token = form.get("token") or handler.bearer() or ""
            return 200, self.introspect(token, path.removeprefix("/introspect/"))
        if path == "/token":
            return self.token_endpoint(form, entra=False)
        match = _TENANT_PATH.match(path)
        if match is None:
            return 404, {"error": "not_found"}
        if match["tenant"] != self.tenant:
            return 400, _error(
                "invalid_tenant", f"AADSTS90002: Tenant '{match['tenant']}' not found. Check to make sure "
                "you have the correct tenant ID and are signing into the correct cloud."
            )  # fmt: skip
        return self._tenant_endpoint(match["rest"], form)

    def _tenant_endpoint(self, rest: str, form: dict[str, str]) -> Reply:
        base = f"{self.base_url}/{self.tenant}"
        if rest == "/v2.0/.well-known/openid-configuration":
            return 200, {
                "issuer": f"{base}/v2.0",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            }
        if rest == "/oauth2/v2.0/token":
            return self.token_endpoint(form, entra=True)
        if rest == "/oauth2/v2.0/devicecode":
            code = self.start_device_flow(form.get("client_id", ""))
            return 200, {
                "device_code": code,
                "user_code": "RIVER-" + code[-4:].upper(),
                "verification_uri": "https://microsoft.com/devicelogin",
                "expires_in": 60,
                "interval": 1,
                "message": "To sign in, open https://microsoft.com/devicelogin and enter the code shown.",
            }
        return 404, {"error": "not_found"}

    def token_endpoint(self, form: dict[str, str], entra: bool) -> Reply:
        grant = form.get("grant_type", "")
        if grant == JWT_GRANT:
            return self._service_account(form)
        if grant == "refresh_token":
            return self._refresh(form, entra)
        if grant == DEVICE_GRANT:
            return self._device(form)
        if grant == "client_credentials":
            app_or_error = self._client(form, entra)
            if isinstance(app_or_error, tuple):
                return app_or_error
            return 200, self.issue(app_or_error.client_id, None, form.get("scope", ""))
        return 400, _error("unsupported_grant_type", f"grant_type {grant!r} is not supported")

    def _client(self, form: dict[str, str], entra: bool) -> App | Reply:
        """The app that authenticated with its secret or certificate, or the error Entra ID would give."""
        client_id = form.get("client_id", "")
        app = self.apps.get(client_id)
        if app is None:
            return 400, _error(
                "unauthorized_client", f"AADSTS700016: Application with identifier '{client_id}' was not "
                f"found in the directory '{self.tenant}'. This can happen if the application has not been "
                "installed by the administrator of the tenant or consented to by any user in the tenant."
            )  # fmt: skip
        if "client_assertion" in form:
            return app if _assertion_signed_by(app, form["client_assertion"]) else _bad_secret(client_id)
        if app.secret is None or form.get("client_secret") != app.secret:
            return _bad_secret(client_id)
        if app.secret_expired:
            return 401, _error(
                "invalid_client", f"AADSTS7000222: The provided client secret keys for app '{client_id}' are "
                "expired. Visit the Azure portal to create new keys for your app."
            )  # fmt: skip
        return app

    def _refresh(self, form: dict[str, str], entra: bool) -> Reply:
        known = self.refresh_tokens.get(form.get("refresh_token", ""))
        if known is None or (form.get("client_id") and known[0] != form.get("client_id")):
            return 400, _error(
                "invalid_grant", "AADSTS700082: The refresh token has expired due to inactivity."
                if entra else "Token has been expired or revoked."
            )  # fmt: skip
        app = self.apps.get(known[0])
        if app is not None and app.secret is not None and form.get("client_secret", app.secret) != app.secret:
            return _bad_secret(known[0])
        return self._user_tokens(known[0], known[1], form.get("scope", ""))

    def _user_tokens(self, client_id: str, user: str, scope: str) -> Reply:
        reply = self.issue(client_id, user, scope)
        reply["refresh_token"] = self.refresh_token_for(client_id, user)
        return 200, reply

    def _device(self, form: dict[str, str]) -> Reply:
        code = form.get("device_code", "")
        if code not in self.device_codes:
            return 400, _error("expired_token", "AADSTS70019: Verification code expired.")
        user = self.device_code_user(code)
        if user is None:
            return 400, _error("authorization_pending", "AADSTS70016: OAuth 2.0 device flow error.")
        return self._user_tokens(form.get("client_id", ""), user, form.get("scope", ""))

    def _service_account(self, form: dict[str, str]) -> Reply:
        """Google's JWT bearer grant: a service account signs for a subject (domain-wide delegation)."""
        import jwt

        assertion = form.get("assertion", "")
        claims = jwt.decode(assertion, options={"verify_signature": False})
        app = self.apps.get(str(claims.get("iss", "")))
        if app is None or not _assertion_signed_by(app, assertion):
            return 400, _error("invalid_grant", "Invalid JWT Signature.")
        if "https://mail.google.com/" not in str(claims.get("scope", "")).split() or not app.delegation:
            return 401, _error(
                "unauthorized_client", "Client is unauthorized to retrieve access tokens using this method, "
                "or client not authorized for any of the scopes requested."
            )  # fmt: skip
        if not claims.get("sub"):
            return 400, _error("invalid_grant", "Invalid email or User ID")
        return 200, self.issue(app.client_id, str(claims["sub"]), str(claims["scope"]))


def _bad_secret(client_id: str) -> Reply:
    return 401, _error(
        "invalid_client", "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in "
        "the request is the client secret value, not the client secret ID, for a secret added to app "
        f"'{client_id}'."
    )  # fmt: skip


def _assertion_signed_by(app: App, assertion: str) -> bool:
    import jwt

    if app.public_key_pem is None:
        return False
    try:
        jwt.decode(
            assertion, app.public_key_pem, algorithms=["RS256", "PS256"], options={"verify_aud": False}
        )
    except jwt.InvalidTokenError:
        return False
    return True


def _error(code: str, description: str) -> dict[str, Any]:
    return {"error": code, "error_description": description, "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ")}
