"""The systemd units in deploy/: systemd's own checker accepts them, and the hardening stays in place."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mailbot.testing import skip_or_fail
from tests.conftest import ROOT

DEPLOY = ROOT / "deploy"
UNITS = ("mailbot.service", "mailbot-health.service", "mailbot-health.timer")
INSTALLED = "/opt/mailbot/venv/bin/mailbot"  # where docs/deploy.md installs the command
# Exposure as `systemd-analyze security` scores it, times ten: 20 is 2.0 of 10 ("OK" is below 4.0).
MOST_EXPOSURE = "20"


@pytest.fixture
def units(tmp_path: Path) -> Path:
    """The units, with the command pointed at one that exists here: verify refuses a missing ExecStart."""
    if shutil.which("systemd-analyze") is None:
        skip_or_fail("systemd-analyze not found (Debian package systemd; scripts/install-system-packages.sh)")
    for name in UNITS:
        text = (DEPLOY / name).read_text(encoding="utf-8")
        (tmp_path / name).write_text(text.replace(INSTALLED, sys.executable), encoding="utf-8")
    return tmp_path


def test_systemd_accepts_the_units(units: Path) -> None:
    done = subprocess.run(
        ["systemd-analyze", "verify", *(str(units / name) for name in UNITS)], capture_output=True, text=True
    )
    # verify exits 0 even for a line it ignores, so any word about our units is a failure.
    about_ours = [
        line for line in (done.stdout + done.stderr).splitlines() if str(units) in line or "mailbot" in line
    ]
    assert done.returncode == 0 and about_ours == [], done.stdout + done.stderr


@pytest.mark.parametrize("name", ["mailbot.service", "mailbot-health.service"])
def test_the_services_are_hardened(units: Path, name: str) -> None:
    done = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", f"--threshold={MOST_EXPOSURE}", str(units / name)],
        capture_output=True, text=True,
    )  # fmt: skip
    overall = [line for line in done.stdout.splitlines() if "Overall exposure" in line]
    assert done.returncode == 0, overall or done.stderr


def test_the_service_runs_as_its_own_user_with_the_required_settings() -> None:
    settings = unit_settings(DEPLOY / "mailbot.service")
    assert settings["User"] == ["mailbot"] and settings["Restart"] == ["on-failure"]
    assert settings["ProtectSystem"] == ["strict"] and settings["ProtectHome"] == ["yes"]
    assert settings["StateDirectory"] == ["mailbot"] and settings["ConfigurationDirectory"] == ["mailbot"]
    assert settings["NoNewPrivileges"] == ["yes"] and settings["PrivateTmp"] == ["yes"]
    assert settings["RestrictAddressFamilies"] == ["AF_INET AF_INET6 AF_UNIX"]
    assert settings["EnvironmentFile"] == ["-/etc/mailbot/mailbot.env"]
    assert settings["ExecStart"] == [f"{INSTALLED} --config /etc/mailbot/config.toml run"]


def test_the_timer_runs_the_health_check() -> None:
    health = unit_settings(DEPLOY / "mailbot-health.service")
    assert health["Type"] == ["oneshot"]
    assert health["ExecStart"] == [f"{INSTALLED} --config /etc/mailbot/config.toml health"]
    assert unit_settings(DEPLOY / "mailbot-health.timer")["OnUnitActiveSec"] == ["15min"]


def unit_settings(path: Path) -> dict[str, list[str]]:
    """Each key of a unit file with its values in order (a key may be given more than once)."""
    settings: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings
