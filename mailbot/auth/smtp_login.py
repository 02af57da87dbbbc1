"""SMTP with an OAuth2 token: AUTH XOAUTH2 straight after every connect (and reconnect), with one fresh
token if the server refuses the cached one."""

from __future__ import annotations

import asyncio
from typing import Any

import aiosmtplib

from mailbot.auth import explain_refusal, source_for
from mailbot.auth.tokens import TokenError
from mailbot.config.auth import OAuthSettings


class SmtpTokenError(aiosmtplib.SMTPAuthenticationError):
    """No token, or the server refused it twice: delivery treats it as it treats a refused password."""

    def __str__(self) -> str:
        return self.message  # already names the login and says what to do


class TokenSMTP(aiosmtplib.SMTP):
    def __init__(self, settings: OAuthSettings, **options: Any) -> None:
        super().__init__(**options)
        self.settings = settings

    async def connect(self, **kwargs: Any) -> aiosmtplib.SMTPResponse:
        response = await super().connect(**kwargs)
        try:
            await self._log_in()
        except BaseException:
            self.close()
            raise
        return response

    async def _log_in(self) -> None:
        source = source_for(self.settings)
        try:
            token = await asyncio.to_thread(source.token)
            try:
                await self.auth_xoauth2(self.settings.username, token)
                return
            except aiosmtplib.SMTPAuthenticationError:
                token = await asyncio.to_thread(source.renew)
            await self.auth_xoauth2(self.settings.username, token)
        except TokenError as exc:
            raise SmtpTokenError(530, str(exc)) from None
        except aiosmtplib.SMTPAuthenticationError as exc:
            advice = explain_refusal(self.settings, token, exc.message, "smtp")
            raise SmtpTokenError(
                exc.code, f"smtp: the server refused the token for {self.settings.username}: {advice}"
            ) from None
