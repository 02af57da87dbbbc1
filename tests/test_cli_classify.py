"""``mailbot classify`` changes nothing: with no database it classifies as if no case existed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailbot import cli

ROOT = Path(__file__).resolve().parent.parent
LABELLED = ROOT / "tests" / "data" / "labelled"
CONFIG = """
[organisation]
name = "Riverside Care Trust"
from_address = "complaints@riverside.example"

[cases]
policies_dir = "{root}/rules/policies"
templates_dir = "{root}/templates"
classify_rules = "{root}/rules/classify.toml"

[database]
url = "sqlite:///{db}"

[smtp]
host = "127.0.0.1"
tls = "none"

[[mailbox]]
name = "complaints"
host = "127.0.0.1"
tls = "none"
username = "complaints"
password_env = "UNUSED"
"""


def test_classify_creates_no_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    database = tmp_path / "var" / "mailbot.db"
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.format(root=ROOT, db=database))
    status = cli.main(
        ["--config", str(config), "classify", "--json", str(LABELLED / "bruises-on-mums-arms.eml")]
    )
    assert status == 0
    (result,) = json.loads(capsys.readouterr().out)
    assert result["kind"] == "concern" and "safeguarding" in result["flags"]  # as labelled in labels.csv
    assert result["case"] is None
    assert not database.exists() and not database.parent.exists()
