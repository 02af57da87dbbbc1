"""``mailbot auth login NAME``: a person signs in once with a device code, so a mailbox (or SMTP) configured
for delegated Microsoft 365 access has a refresh token; it is saved in ``refresh_token_file``, readable
only by the service's user."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from mailbot.cli.opening import UsageError, config_from

if TYPE_CHECKING:  # imported when the command runs, so `mailbot --help` does not load msal
    from mailbot.config.auth import OAuthSettings
    from mailbot.config.settings import Config


def cmd_auth_login(args: argparse.Namespace) -> int:
    from mailbot.auth.microsoft import device_login

    settings = _delegated_settings(config_from(args), args.name)
    device_login(settings, lambda message: print(message, flush=True))
    print(f"{settings.login}: signed in; the refresh token is saved in {settings.refresh_token_file}")
    return 0


def _delegated_settings(config: Config, name: str) -> OAuthSettings:
    logins = {box.name: box.oauth for box in config.mailboxes} | {"smtp": config.smtp.oauth}
    if name not in logins:
        raise UsageError(f"no mailbox named {name!r} in {config.path} (accepted: {', '.join(logins)})")
    settings = logins[name]
    if settings is None or settings.method != "microsoft365" or not settings.delegated:
        raise UsageError(
            f'{name}: `mailbot auth login` is for auth = "microsoft365" with refresh_token_file set '
            "(delegated access); an app's own access needs no sign-in"
        )
    return settings
