"""Where the shared third-party corpus of real-world mail lives: ``../shared/corpus`` beside the repository
(read in place, never copied in), or wherever ``MAILBOT_CORPUS_DIR`` points."""

from __future__ import annotations

import os
from pathlib import Path

CORPUS_ENV = "MAILBOT_CORPUS_DIR"
# The corpus is not part of the repository: where it is absent its tests are skipped with the reason, unless
# this is "1" (a run that must read it), when they fail.
REQUIRE_CORPUS_ENV = "MAILBOT_REQUIRE_CORPUS"
BESIDE_THE_REPOSITORY = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def corpus_location() -> Path:
    """Where the corpus should be. It may be absent: tests that read it ask for the ``corpus_dir`` fixture."""
    return Path(os.environ.get(CORPUS_ENV) or BESIDE_THE_REPOSITORY)
