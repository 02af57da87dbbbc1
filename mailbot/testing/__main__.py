"""``python -m mailbot.testing --workdir DIR``: run a throwaway Dovecot and SMTP capture server until stopped,
announcing their ports as one JSON line."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from typing import NoReturn

from mailbot.testing.availability import ServerStartError, ServerUnavailable
from mailbot.testing.dovecot import Dovecot
from mailbot.testing.host import LOOPBACK
from mailbot.testing.smtp import SmtpCapture


def _raise_interrupt(signum: int, frame: object) -> NoReturn:
    raise KeyboardInterrupt


def _announcement(imap: Dovecot, smtp: SmtpCapture) -> dict[str, object]:
    user, password = next(iter(imap.users.items()))
    return {
        "imap_port": imap.port,
        "smtp_port": smtp.port,
        "host": LOOPBACK,
        "sent_dir": str(smtp.outdir),
        "user": user,
        "password": password,
    }


def main(argv: list[str] | None = None) -> int:
    """Run Dovecot and an SmtpCapture until SIGTERM/SIGINT, announcing them as one JSON line."""
    parser = argparse.ArgumentParser(prog="python -m mailbot.testing", description=main.__doc__)
    parser.add_argument("--workdir", type=Path, required=True, help="directory for server state and mail")
    args = parser.parse_args(argv)
    workdir: Path = args.workdir.absolute()
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        with Dovecot(workdir / "dovecot") as imap, SmtpCapture(outdir=workdir / "sent") as smtp:
            print(json.dumps(_announcement(imap, smtp)), flush=True)
            while True:
                signal.pause()
    except KeyboardInterrupt:
        pass
    except (ServerUnavailable, ServerStartError) as exc:
        print(f"devservers: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
