"""``mailbot health``: whether the service is keeping up, for a person, a systemd timer or a monitoring
system; exit 0 when healthy, 1 when not, and ``--json`` for machines."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from mailbot.cli.opening import config_from

if TYPE_CHECKING:
    from mailbot.health import Check


def cmd_health(args: argparse.Namespace) -> int:
    from mailbot import health

    limits = health.Thresholds(
        max_quiet_hours=args.max_quiet_hours,
        max_outbox_minutes=args.max_outbox_minutes,
        max_held=args.max_held,
        max_failed=args.max_failed,
        recent_hours=args.recent_hours,
        max_shunted=args.max_shunted,
        max_unacknowledged_hours=args.max_unacknowledged_hours,
    )
    now = datetime.now(UTC)
    checks = health.check_database(config_from(args), limits, now)
    healthy = health.is_healthy(checks)
    print(json.dumps(as_json(checks, healthy, now), indent=2) if args.json else as_text(checks, healthy))
    return 0 if healthy else 1


def as_text(checks: list[Check], healthy: bool) -> str:
    """One line per check in check-config's style, then the verdict."""
    lines = [f"{'ok  ' if check.ok else 'FAIL'} {check.name}: {check.detail}" for check in checks]
    return "\n".join([*lines, "healthy" if healthy else "UNHEALTHY"])


def as_json(checks: list[Check], healthy: bool, now: datetime) -> dict[str, object]:
    return {
        "healthy": healthy,
        "checked_at": now.isoformat(),
        "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail, **c.figures} for c in checks],
    }
