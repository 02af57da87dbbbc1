"""The wheel as an organisation installs it: built from the source, installed into a fresh virtualenv, and
run from a directory outside the checkout with a configuration that names no policies, rules or templates,
so everything it reads must have come inside the wheel."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from importlib import resources
from importlib.metadata import version
from pathlib import Path

import pytest

from mailbot.config.settings import (
    SHIPPED_CLASSIFY_RULES,
    SHIPPED_POLICIES,
    SHIPPED_TEMPLATES,
    ConfigError,
    load_config,
)
from mailbot.testing import Dovecot, SmtpCapture
from tests.conftest import ENVIRON, ROOT, mailbox_table
from tests.mails import mail

# What `pip wheel` must not copy from a working checkout: environments, caches and local state.
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "var", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache"
)
SETUPTOOLS_NEEDED = (77,)  # the first to read pyproject's SPDX `license = "MIT"`


def test_the_installed_wheel_runs_on_what_it_ships(
    tmp_path: Path, dovecot: Dovecot, smtp_server: SmtpCapture
) -> None:
    wheel = build_wheel(tmp_path)
    mailbot = install_in_fresh_virtualenv(wheel, tmp_path / "venv")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    config = write_config_naming_no_data(elsewhere, dovecot, smtp_server)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(mailbot), *args], cwd=elsewhere, env=outside_env(config), capture_output=True, text=True
        )

    assert run("--version").stdout == f"mailbot {version('mailbot')}\n"
    checked = run("check-config")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    shipped = tmp_path / "venv" / "lib"
    for what in ("policies", "templates", "classification rules"):
        [line] = [line for line in checked.stdout.splitlines() if line.startswith(f"{what}: ")]
        assert line.endswith("(shipped)") and Path(line.split(": ")[1].split(" (")[0]).is_relative_to(shipped)

    assert run("poll").returncode == 0  # first contact
    dovecot.deliver(mail(sender="jane.doe@example.net"))
    polled = run("poll")
    assert polled.returncode == 0, polled.stdout + polled.stderr
    [ack] = smtp_server.messages  # rendered from the shipped letter, with dates from the shipped policy
    assert ack.rcpt_tos == ("jane.doe@example.net",)
    assert ack.message["Subject"].endswith("We have received your complaint")
    assert "We aim to send you our response by" in ack.message.get_body(("plain",)).get_content()


def build_wheel(tmp_path: Path) -> Path:
    """``pip wheel`` of a copy of the source (the build writes into the tree it builds), offline."""
    if tuple(int(part) for part in version("setuptools").split(".")[:1]) < SETUPTOOLS_NEEDED:
        pytest.skip(
            f"setuptools {version('setuptools')} cannot build the wheel offline; `make test` installs "
            "setuptools>=77 with the test extra"
        )
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, symlinks=True, ignore=NOT_SOURCE)
    out = tmp_path / "wheels"
    pip(
        sys.executable,
        "wheel",
        str(source),
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
        "-w",
        str(out),
    )
    [wheel] = out.glob("mailbot-*.whl")
    return wheel


def install_in_fresh_virtualenv(wheel: Path, venv: Path) -> Path:
    """A new virtualenv with the wheel installed; the dependencies are lent by a .pth file from the
    environment running the tests (``--system-site-packages`` would lend the base interpreter's instead,
    which lacks them), so nothing is downloaded."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    pip(sys.executable, "--python", python, "install", "--no-index", "--no-deps", str(wheel))
    site = Path(in_venv(python, "import sysconfig; print(sysconfig.get_path('purelib'))"))
    lent = dict.fromkeys([sysconfig.get_path("purelib"), sysconfig.get_path("platlib")])
    (site / "zz-dependencies.pth").write_text("\n".join(lent) + "\n", encoding="utf-8")
    installed = Path(in_venv(python, "import mailbot; print(mailbot.__file__)"))
    assert installed.is_relative_to(site), f"mailbot imported from {installed}, not from the wheel"
    return venv / "bin" / "mailbot"


def in_venv(python: str, code: str) -> str:
    """Run outside the checkout, which would otherwise come first on sys.path as the current directory."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    return subprocess.check_output([python, "-c", code], cwd=Path(python).parent, env=env, text=True).strip()


def pip(python: str, *args: str) -> None:
    done = subprocess.run([python, "-m", "pip", "--quiet", *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def write_config_naming_no_data(directory: Path, dovecot: Dovecot, smtp: SmtpCapture) -> Path:
    path = directory / "config.toml"
    path.write_text(
        f"""
[organisation]
name = "Riverside Care Trust"
from_address = "complaints@riverside.example"

[smtp]
host = "127.0.0.1"
port = {smtp.port}
tls = "none"
{mailbox_table("complaints", dovecot.port)}""",
        encoding="utf-8",
    )
    return path


def outside_env(config: Path) -> dict[str, str]:
    """The environment of a person's shell: no path into the checkout, the configuration by variable."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "MAILBOT_CONFIG")}
    return {**env, **ENVIRON, "MAILBOT_CONFIG": str(config)}


# --- which data a configuration uses ----------------------------------------------------------------------

MINIMAL = """
[organisation]
name = "Riverside Care Trust"
from_address = "complaints@riverside.example"

[smtp]
host = "smtp.riverside.example"

[[mailbox]]
name = "complaints"
host = "imap.riverside.example"
username = "complaints@riverside.example"
password_env = "IMAP_PW"
"""


def test_without_directories_named_the_shipped_copies_are_used(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(MINIMAL, encoding="utf-8")
    (tmp_path / "templates").mkdir()  # a folder beside the file is not used unless named
    cases = load_config(tmp_path / "config.toml", {}).cases
    assert (cases.policies_dir, cases.templates_dir, cases.classify_rules) == (
        SHIPPED_POLICIES, SHIPPED_TEMPLATES, SHIPPED_CLASSIFY_RULES,
    )  # fmt: skip
    # In a checkout the package's links lead to the folders the organisation edits.
    assert SHIPPED_TEMPLATES == ROOT / "templates" and SHIPPED_POLICIES == ROOT / "rules" / "policies"
    assert resources.files("mailbot").joinpath("rules", "classify.toml").is_file()


def test_an_organisations_own_directories_override_the_shipped_ones(tmp_path: Path) -> None:
    own = (
        '[cases]\npolicies_dir = "ours/policies"\ntemplates_dir = "/srv/letters"\nclassify_rules = "c.toml"\n'
    )
    (tmp_path / "config.toml").write_text(MINIMAL + own, encoding="utf-8")
    cases = load_config(tmp_path / "config.toml", {}).cases
    assert cases.policies_dir == tmp_path / "ours" / "policies"  # relative to the configuration file
    assert cases.templates_dir == Path("/srv/letters")
    assert cases.classify_rules == tmp_path / "c.toml"


def test_a_directory_named_empty_is_refused(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(MINIMAL + '[cases]\ntemplates_dir = " "\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"cases\.templates_dir: must not be empty"):
        load_config(tmp_path / "config.toml", {})
