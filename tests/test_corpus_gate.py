"""Tests that read the shared corpus are skipped, with the reason, where it is absent (also in `make test`,
which requires servers: the corpus is not one, nor part of the repository), and fail under
MAILBOT_REQUIRE_CORPUS=1.

Each case runs pytest in a subprocess on a one-test file that asks for the ``corpus_dir`` fixture, with
MAILBOT_CORPUS_DIR pointing at a folder that is, or is not, there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mailbot.testing.availability import REQUIRE_ENV
from tests.corpus import CORPUS_ENV, REQUIRE_CORPUS_ENV

ROOT = Path(__file__).resolve().parent.parent
READS_THE_CORPUS = """
def test_reads_the_corpus(corpus_dir):
    assert corpus_dir.is_dir()
"""


def run_pytest(
    tmp_path: Path, corpus: Path, require: bool, servers: bool = True
) -> subprocess.CompletedProcess[str]:
    test_file = tmp_path / "test_reads_the_corpus.py"
    test_file.write_text(READS_THE_CORPUS, encoding="utf-8")
    unset = {REQUIRE_ENV, REQUIRE_CORPUS_ENV, "PYTEST_ADDOPTS"}
    env = {name: value for name, value in os.environ.items() if name not in unset}
    env[CORPUS_ENV] = str(corpus)
    if servers:
        env[REQUIRE_ENV] = "1"  # as make test runs
    if require:
        env[REQUIRE_CORPUS_ENV] = "1"
    # The suite's own conftest is loaded as a plugin, so the one-test file gets the real corpus_dir fixture.
    command = [sys.executable, "-m", "pytest", "-p", "tests.conftest", "-p", "no:cacheprovider", "-rsE"]
    return subprocess.run(
        [*command, str(test_file)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


# pytest reports a fixture that fails as an error at set-up, as it does for the server fixtures in CI.
@pytest.mark.parametrize(
    ("require", "summary"), [(False, "1 skipped"), (True, "1 error")], ids=["skips", "fails-when-required"]
)
def test_a_missing_corpus(tmp_path: Path, require: bool, summary: str) -> None:
    missing = tmp_path / "no-corpus-here"
    result = run_pytest(tmp_path, missing, require)
    assert summary in result.stdout, result.stdout + result.stderr
    assert f"third-party corpus not found at {missing}" in result.stdout
    assert result.returncode == (1 if require else 0)


def test_a_missing_corpus_is_skipped_without_servers_required_too(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, tmp_path / "no-corpus-here", require=False, servers=False)
    assert "1 skipped" in result.stdout and result.returncode == 0, result.stdout + result.stderr


def test_a_corpus_where_the_variable_points(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    result = run_pytest(tmp_path, corpus, require=True)
    assert "1 passed" in result.stdout, result.stdout + result.stderr
    assert result.returncode == 0
