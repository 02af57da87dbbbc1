"""Printing a page to PDF with headless Chromium (Debian's ``chromium``): a real rendering engine, the one
that draws the digest in the tests, so the PDF shows what a person sees in a browser."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from mailbot.errors import MailbotError
from mailbot.private_files import write_private

BROWSERS = ("chromium", "chromium-browser")
TIMEOUT_SECONDS = 180


class PdfError(MailbotError):
    """The PDF could not be printed; says why and what to do instead."""


def find_chromium() -> str:
    for name in BROWSERS:
        found = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").is_file() else None)
        if found:
            return found
    raise PdfError(
        "a PDF needs Debian's chromium (apt-get install chromium fonts-liberation); "
        "or write the case file as .html and print it from a browser"
    )


def print_pdf(html: str, out: Path) -> None:
    """Write ``html`` to ``out`` as a PDF. The page goes through a private folder beside ``out``, so the
    case's personal data is written nowhere the person did not choose."""
    chromium = find_chromium()
    with tempfile.TemporaryDirectory(prefix=".casefile-", dir=out.parent) as work:
        page, pdf = Path(work) / "casefile.html", Path(work) / "casefile.pdf"
        write_private(page, html.encode("utf-8"))
        command = [chromium, *_flags(Path(work)), f"--print-to-pdf={pdf}", page.as_uri()]
        try:
            done = subprocess.run(command, capture_output=True, timeout=TIMEOUT_SECONDS, check=False)
        except subprocess.TimeoutExpired:
            raise PdfError(f"chromium took longer than {TIMEOUT_SECONDS} s to print the case file") from None
        if not pdf.is_file() or pdf.stat().st_size == 0:
            tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
            raise PdfError(f"chromium printed no PDF (exit {done.returncode}): {' | '.join(tail)}")
        write_private(out, pdf.read_bytes())


def _flags(work: Path) -> list[str]:
    # Chromium refuses to start its sandbox as root; elsewhere it keeps it. Nothing is fetched or remembered.
    sandbox = ["--no-sandbox"] if os.geteuid() == 0 else []
    return [
        "--headless", "--disable-gpu", *sandbox, "--no-pdf-header-footer", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-crash-reporter", f"--user-data-dir={work / 'profile'}",
    ]  # fmt: skip
