"""Refresh docs/digest.png, the screenshot in the README, from the test that draws the digest in headless
Chromium (tests/test_digest.py): the test writes only into its tmp_path; this copies the picture out.

    .venv/bin/python benchmarks/screenshot_digest.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEST = "tests/test_digest.py::test_the_digest_renders_in_headless_chromium"


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="mailbot-screenshot-") as tmp:
        run = subprocess.run(
            [sys.executable, "-m", "pytest", TEST, "-q", "--basetemp", tmp, "-p", "no:cacheprovider"],
            cwd=ROOT,
            env={**os.environ, "MAILBOT_REQUIRE_SERVERS": "1"},
            check=False,
        )
        shots = sorted(Path(tmp).glob("**/digest.png"))
        if run.returncode != 0 or not shots:
            print("the screenshot test failed; docs/digest.png is unchanged", file=sys.stderr)
            return 1
        (ROOT / "docs").mkdir(exist_ok=True)
        shutil.copyfile(shots[0], ROOT / "docs" / "digest.png")
    print(f"wrote {ROOT / 'docs' / 'digest.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
