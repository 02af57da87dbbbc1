"""Where the shared third-party corpus of real-world mail lives: ``../shared/corpus`` beside the repository
(read in place, never copied in), or wherever ``MAILBOT_CORPUS_DIR`` points."""

from __future__ import annotations

import os
from pathlib import Path

CORPUS_ENV = "MAILBOT_CORPUS_DIR"
BESIDE_THE_REPOSITORY = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def corpus_location() -> Path:
    """Where the corpus should be. It may be absent: tests that read it ask for the ``corpus_dir`` fixture."""
    return Path(os.environ.get(CORPUS_ENV) or BESIDE_THE_REPOSITORY)
