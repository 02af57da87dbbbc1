"""A real SMTP server (aiosmtpd) on a free loopback port: records what it accepts, fails when told to,
answers slowly when told to, and can file a copy of what it accepts as Microsoft 365 and Gmail do."""

from __future__ import annotations

import asyncio
import base64
import errno
import importlib.util
import json
import os
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any, Self

from mailbot.testing.availability import ServerStartError, ServerUnavailable
from mailbot.testing.host import LOOPBACK, START_ATTEMPTS, reserved_port


def find_aiosmtpd() -> None:
    """ServerUnavailable unless aiosmtpd (a test-only dependency) is importable."""
    if importlib.util.find_spec("aiosmtpd") is None:
        raise ServerUnavailable("aiosmtpd not installed: pip install aiosmtpd")


@dataclass(frozen=True)
class CapturedMessage:
    """One message accepted by SmtpCapture."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    message: EmailMessage
    auth_user: str | None = None
    path: Path | None = None


class _CaptureHandler:
    """aiosmtpd handler hooks (aiosmtpd fixes their names); state lives in the SmtpCapture."""

    def __init__(self, capture: SmtpCapture) -> None:
        self.capture = capture

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        # Enforced here rather than with aiosmtpd's auth_required, which warns without TLS.
        if (self.capture.auth or self.capture.token_check) and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        rejection = self.capture._rejection_for(address)
        if rejection is not None:
            return rejection
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        failure = self.capture._take_failure()
        if failure is not None:
            return failure
        # auth_data is the LoginPassword our authenticator returned (None without AUTH).
        login = getattr(session.auth_data, "login", None)
        seq = self.capture._record(
            envelope.mail_from,
            tuple(envelope.rcpt_tos),
            envelope.original_content,
            login.decode(errors="replace") if isinstance(login, bytes) else None,
        )
        # Taken, as a real server takes a message before it answers: a client that stops waiting for the
        # answer does not know it was.
        if self.capture.file_copy is not None:
            await asyncio.get_running_loop().run_in_executor(
                None, self.capture.file_copy, envelope.original_content
            )
        if self.capture.final_reply_delay:
            await asyncio.sleep(self.capture.final_reply_delay)
        return f"250 2.0.0 Ok: queued as {seq:08X}"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
        from aiosmtpd.smtp import AuthResult, LoginPassword

        ok = isinstance(auth_data, LoginPassword) and self.capture.auth.get(
            auth_data.login.decode(errors="replace")
        ) == auth_data.password.decode(errors="replace")
        # handled=False makes aiosmtpd answer "535 5.7.8 Authentication credentials invalid".
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> Any:
        """SASL XOAUTH2 as Gmail and Exchange Online take it: ``user=…^Aauth=Bearer …^A^A``, checked with the
        authority; a refusal is a base64 JSON challenge, then 535 once the client answers it."""
        from aiosmtpd.smtp import AuthResult, LoginPassword

        blob = base64.b64decode(args[1]) if len(args) > 1 else await server.challenge_auth("")
        fields = dict(f.split("=", 1) for f in bytes(blob).decode(errors="replace").split("\x01") if "=" in f)
        user, token = fields.get("user", ""), fields.get("auth", "").removeprefix("Bearer ")
        check = self.capture.token_check
        if check is not None and check(token, user):
            return AuthResult(success=True, auth_data=LoginPassword(user.encode(), b""))
        await server.challenge_auth(json.dumps({"status": "401", "schemes": "bearer", "scope": ""}))
        return AuthResult(success=False, handled=False, message="535 5.7.3 Authentication unsuccessful")


def _smtp_reply(code: int, text: str) -> str:
    if not 400 <= code <= 599:
        raise ValueError(f"failure code must be 4xx (temporary) or 5xx (permanent), not {code}")
    return f"{code} {text}"


class SmtpCapture:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that records every accepted message.

    Failure injection: ``fail_next`` answers the end of the next n DATA commands with
    the given code (nothing is recorded for them); ``reject_recipient`` answers RCPT TO
    for one address with the given code, until ``reset_failures``. ``final_reply_delay``
    (seconds) makes it take each message at once but answer the final "." that much later;
    ``file_copy``, if set, is called with each message taken (to put a copy in a Sent folder).
    """

    host = LOOPBACK

    def __init__(
        self,
        outdir: Path | None = None,
        auth: Mapping[str, str] | None = None,
        token_check: Callable[[str, str], bool] | None = None,
    ) -> None:
        """``auth`` (user -> password) and ``token_check(token, user)`` (XOAUTH2) each make AUTH required."""
        self.outdir = None if outdir is None else Path(outdir)
        self.auth: dict[str, str] = dict(auth or {})
        self.token_check = token_check
        self.port = 0
        self._lock = threading.Lock()
        self._messages: list[CapturedMessage] = []
        self._failures: list[str] = []
        self._rejections: dict[str, str] = {}
        self._controller: Any = None
        self.final_reply_delay = 0.0
        self.file_copy: Callable[[bytes], object] | None = None

    @property
    def messages(self) -> list[CapturedMessage]:
        """A snapshot of the messages accepted so far, oldest first."""
        with self._lock:
            return list(self._messages)

    def clear(self) -> None:
        """Forget the recorded messages (.eml files already written stay)."""
        with self._lock:
            self._messages.clear()

    def fail_next(self, n: int = 1, code: int = 451, text: str = "4.3.0 Try again later") -> None:
        """Answer the next ``n`` DATA commands with ``code text`` instead of accepting."""
        reply = _smtp_reply(code, text)
        with self._lock:
            self._failures.extend([reply] * n)

    def reject_recipient(self, address: str, code: int = 550, text: str = "5.1.1 No such user") -> None:
        """Answer RCPT TO:<address> (case-insensitive) with ``code text``."""
        reply = _smtp_reply(code, text)
        with self._lock:
            self._rejections[address.lower()] = reply

    def reset_failures(self) -> None:
        with self._lock:
            self._failures.clear()
            self._rejections.clear()

    # The three methods below are called by _CaptureHandler on the server thread.

    def _take_failure(self) -> str | None:
        with self._lock:
            return self._failures.pop(0) if self._failures else None

    def _rejection_for(self, address: str) -> str | None:
        with self._lock:
            return self._rejections.get(address.lower())

    def _record(self, mail_from: str, rcpt_tos: tuple[str, ...], raw: bytes, auth_user: str | None) -> int:
        """Keep the message; returns its number, which the server's answer gives as its queue id."""
        message = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(message, EmailMessage)
        with self._lock:
            path = self._write_eml(len(self._messages) + 1, raw)
            self._messages.append(CapturedMessage(mail_from, rcpt_tos, raw, message, auth_user, path))
            return len(self._messages)

    def _write_eml(self, seq: int, raw: bytes) -> Path | None:
        if self.outdir is None:
            return None
        # mkstemp keeps names unique even if several captures share one outdir.
        fd, name = tempfile.mkstemp(prefix=f"{seq:04d}-", suffix=".eml", dir=self.outdir)
        with os.fdopen(fd, "wb") as out:
            out.write(raw)
        return Path(name)

    def start(self) -> None:
        if self.outdir is not None:
            self.outdir.mkdir(parents=True, exist_ok=True)
        for attempt in range(1, START_ATTEMPTS + 1):
            try:
                with reserved_port() as port:  # until the server listens: asyncio binds with SO_REUSEADDR
                    self._start_controller(port)
                return
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE or attempt == START_ATTEMPTS:
                    raise ServerStartError(f"SMTP capture could not listen: {exc}") from exc

    def resume(self) -> None:
        """Listen again on the port it had before ``stop``: the end of an outage, as a client sees one."""
        with reserved_port(self.port):
            self._start_controller(self.port)

    def _start_controller(self, port: int) -> None:
        find_aiosmtpd()
        from aiosmtpd.controller import Controller

        self.port = port
        handler = _CaptureHandler(self)
        controller = Controller(
            handler,
            hostname=self.host,
            port=self.port,
            server_hostname="localhost",  # the default getfqdn() can stall on DNS
            authenticator=handler.authenticate if self.auth or self.token_check else None,
            auth_require_tls=False,
        )
        try:
            controller.start()
        except OSError:
            controller.loop.close()  # the failed server thread never closes its loop
            raise
        self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
