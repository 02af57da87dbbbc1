"""Helpers for the OAuth2 tests: a local authority's apps, their secrets on disk, and config tables."""

from __future__ import annotations

import json
from pathlib import Path

from mailbot.testing.oauth import OAuthServer


def secret_file(tmp_path: Path, name: str, value: str) -> Path:
    path = tmp_path / "secrets" / name
    path.parent.mkdir(mode=0o700, exist_ok=True)
    path.write_text(value + "\n")
    path.chmod(0o600)
    return path


def microsoft_keys(authority: OAuthServer, client_id: str, secret: Path) -> str:
    """The keys a [[mailbox]] or [smtp] table needs for auth = "microsoft365" against the local authority."""
    return f"""auth = "microsoft365"
tenant = "{authority.tenant}"
client_id = "{client_id}"
client_secret_file = "{secret}"
authority = "{authority.authority}"
token_ca_file = "{authority.ca_file}"
"""


def oauth_mailbox(name: str, port: int, keys: str) -> str:
    return f"""
[[mailbox]]
name = "{name}"
host = "127.0.0.1"
port = {port}
tls = "none"
username = "{name}"
{keys}"""


def service_account(tmp_path: Path, authority: OAuthServer, email: str, delegation: bool = True) -> Path:
    """A Google service account key (JSON, as the Cloud console gives it), registered with the authority."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    authority.register(email, public_key_pem=public_pem, delegation=delegation)
    info = {
        "type": "service_account",
        "project_id": "riverside-mail",
        "private_key_id": "0123456789abcdef",
        "private_key": private_pem,
        "client_email": email,
        "client_id": "104455667788990011223",
        "token_uri": authority.token_url,
    }
    return secret_file(tmp_path, f"{email}.json", json.dumps(info))
