"""The test authority's HTTP side: a throwaway self-signed certificate, a threaded server on a free loopback
port, and a request handler that turns form posts and queries into calls and JSON replies."""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

Reply = tuple[int, dict[str, Any]]


def self_signed_certificate(workdir: Path, host: str) -> tuple[Path, Path]:
    """A certificate for ``host`` (an IP address) and its key, written under ``workdir``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mailbot test authority")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = workdir / "authority-cert.pem", workdir / "authority-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def serve(
    handler: type[BaseHTTPRequestHandler], host: str, cert: Path | None, key: Path | None
) -> ThreadingHTTPServer:
    """Start a server on a free port in a daemon thread; with a certificate it speaks HTTPS."""
    server = ThreadingHTTPServer((host, 0), handler)
    server.daemon_threads = True
    if cert is not None and key is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, name=f"oauth-{server.server_port}", daemon=True).start()
    return server


class AuthorityHandler(BaseHTTPRequestHandler):
    """GET and POST both become ``answer(path, form)``; the subclass decides the reply."""

    protocol_version = "HTTP/1.1"

    def answer(self, path: str, form: dict[str, str]) -> Reply:
        raise NotImplementedError

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        self._reply(*self.answer(url.path, dict(urllib.parse.parse_qsl(url.query))))

    def do_POST(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace")
        form = dict(urllib.parse.parse_qsl(url.query)) | dict(urllib.parse.parse_qsl(body))
        self._reply(*self.answer(url.path, form))

    def bearer(self) -> str | None:
        value = self.headers.get("Authorization", "")
        return value[7:] if value.startswith("Bearer ") else None

    def _reply(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the tests read what matters from the authority's state, not from stderr
