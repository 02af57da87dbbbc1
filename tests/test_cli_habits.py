"""The command line's manners, without mail servers: a version, a quick start, quiet when its reader leaves
early, "none" for an empty list, errors on stderr."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mailbot import cli
from mailbot.cli import health
from mailbot.cli.parser import REPORT_FORMATS, build_parser
from mailbot.scheduled import report
from tests.conftest import ROOT

CONFIG = """
[organisation]
name = "Riverside Care Trust"
from_address = "complaints@riverside.example"

[database]
url = "sqlite:///{database}"

[smtp]
host = "smtp.riverside.example"

[[mailbox]]
name = "complaints"
host = "imap.riverside.example"
username = "complaints@riverside.example"
password_env = "IMAP_PW"
"""
# What a command that only prints its help has no need of: each takes a noticeable part of a second to load.
HEAVY = (
    "sqlalchemy",
    "alembic",
    "aiosmtplib",
    "imapclient",
    "jinja2",
    "apscheduler",
    "mailparser",
    "holidays",
)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(database=tmp_path / "mailbot.db"), encoding="utf-8")
    return path


def run_module(*args: str, stdout: int = subprocess.PIPE) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mailbot.cli", *args],
        cwd=ROOT,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_version_is_the_installed_one(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    with pytest.raises(SystemExit) as caught:
        cli.main(["--version"])
    assert caught.value.code == 0 and capsys.readouterr().out == f"mailbot {version('mailbot')}\n"


def test_help_loads_none_of_the_heavy_libraries() -> None:
    probe = (
        "import sys\nfrom mailbot.cli.parser import build_parser\nbuild_parser().format_help()\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r}))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert loaded.stdout == "[]\n"
    assert run_module("--help").returncode == 0


def test_a_reader_that_leaves_early_gets_a_quiet_exit(config: Path) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # as `head -1` does once it has its line
    try:
        done = run_module("--config", str(config), "cases", "list", "--json", stdout=write_end)
    finally:
        os.close(write_end)
    assert done.returncode == 141
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr


@pytest.mark.parametrize("command", [["cases", "list"], ["outbox", "list"], ["shunted", "list"]])
def test_an_empty_list_says_none(
    config: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["--config", str(config), *command]) == 0
    assert capsys.readouterr().out == "none\n"


def test_an_empty_json_list_stays_json(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--config", str(config), "cases", "list", "--json"]) == 0
    assert capsys.readouterr().out == "[]\n"


def test_an_error_goes_to_stderr_and_nothing_to_stdout(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["--config", str(config), "outbox", "release", "7"]) == 1
    out, err = capsys.readouterr()
    # `outbox release` takes several IDs at once (issue 11), all or none: the message says nothing was done
    assert (
        out == ""
        and err == "mailbot: outbox 7: not held or failed (see `mailbot outbox list`); nothing done\n"
    )


def test_policy_explain_without_a_configuration_uses_the_shipped_presets_from_anywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    argv = ["--config", "absent.toml", "policy", "explain", "--policy", "lgsco-hos-code"]
    assert cli.main([*argv, "--received", "2026-12-23 16:30"]) == 0
    assert "Acknowledgement due Mon 4 Jan 2027" in capsys.readouterr().out


def test_health_is_a_command() -> None:
    args = build_parser().parse_args(["health", "--json", "--max-shunted", "2"])
    assert args.func is health.cmd_health and args.json and args.max_shunted == 2
    assert (args.max_quiet_hours, args.max_outbox_minutes, args.recent_hours) == (72, 60, 24)


def test_the_report_formats_offered_are_those_the_report_writes() -> None:
    assert REPORT_FORMATS == report.FORMATS
