"""Reading a case and its complete file, on real servers: ``cases show --full`` and ``--json`` carry each
message's text and attachments; ``cases file`` writes one self-contained HTML page, and a PDF printed by
headless Chromium that, read back with pdftotext and drawn as a picture, shows every message."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from mailbot.app import App
from mailbot.db.models import Case
from mailbot.testing import Dovecot, SmtpCapture, skip_or_fail
from tests.privacy_scenario import EXTENSION, JANE, NOTE, PHOTO, TOKENS, World, build, invoke
from tests.test_digest import png_colours
from tests.test_routing_e2e import STAFF


@pytest.fixture
def app(make_app: Callable[..., App]) -> App:
    return make_app(extra=STAFF)


@pytest.fixture
def world(app: App, dovecot: Dovecot, smtp_server: SmtpCapture, monkeypatch: pytest.MonkeyPatch) -> World:
    return build(app, dovecot, smtp_server, monkeypatch)


def texts_of(app: App, ref: str) -> list[str]:
    """Every message's and letter's own words on the case, as the database holds them."""
    with app.sessions() as session:
        case = session.scalars(select(Case).where(Case.ref == ref)).one()
        return [entry.new_text for entry in case.correspondence]


def words(text: str) -> str:
    return " ".join(text.split())


def test_show_full_prints_each_message_with_its_attachments_and_quoted_on_request(
    app: App, world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = invoke(app, capsys, "cases", "show", world.jane[0], "--full")

    assert status == 0
    assert TOKENS["message"] in out and TOKENS["letter"] in out and EXTENSION in out
    assert re.search(
        rf"attachment: care-diary-{TOKENS['attachment']}\.txt \(text/plain, \d+ bytes, sha256 ", out
    )
    assert "[1] received" in out and f"from {JANE}" in out
    status, quoted, _ = invoke(app, capsys, "cases", "show", world.jane[0], "--full", "--quoted")
    assert "the whole text as received, with what it quotes" in quoted and len(quoted) > len(out)


def test_show_json_gains_text_and_attachments_per_item(
    app: App, world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = invoke(app, capsys, "cases", "show", world.jane[0], "--json")

    first = json.loads(out)["correspondence"][0]
    assert status == 0 and TOKENS["message"] in first["text"]
    assert {a["filename"] for a in first["attachments"]} == {
        f"care-diary-{TOKENS['attachment']}.txt",
        "photo.png",
    }
    assert set(first["attachments"][0]) == {"filename", "content_type", "size", "sha256"}


def test_the_html_case_file_is_complete_and_self_contained(
    app: App, world: World, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / f"{world.jane[0]}.html"
    status, printed, _ = invoke(app, capsys, "cases", "file", world.jane[0], "--out", str(out))

    assert status == 0 and "case file written" in printed
    page = out.read_text(encoding="utf-8")
    flat = words(html.unescape(page))
    for text in texts_of(app, world.jane[0]):
        assert words(text) in flat
    for heading in ("Summary", "Parties", "Stages against the policy's deadlines", "Extensions",
                    "Outcomes and learning", "Chronology", "Audit trail", "Attachments"):  # fmt: skip
        assert f">{heading}" in page
    assert EXTENSION in flat and NOTE in flat and "upheld" in flat
    assert "data:image/png;base64," in page and 'download="photo.png"' in page
    assert "default-src 'none'" in page  # nothing in it can run or fetch anything
    assert all(link.startswith("data:") for link in re.findall(r'(?:src|href)="([^"]*)"', page))
    assert oct(out.stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # one drawing is enough
def test_the_pdf_case_file_is_printed_by_chromium_and_shows_every_message(
    app: App, world: World, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pdftotext, pdftoppm = shutil.which("pdftotext"), shutil.which("pdftoppm")
    if not (pdftotext and pdftoppm):
        skip_or_fail(
            "poppler-utils is not installed (scripts/install-system-packages.sh); the PDF is not read"
        )
    out = tmp_path / f"{world.jane[0]}.pdf"

    status, _, err = invoke(app, capsys, "cases", "file", world.jane[0], "--out", str(out))

    assert status == 0, err
    assert out.read_bytes().startswith(b"%PDF-")
    text = subprocess.run(
        [pdftotext, "-layout", str(out), "-"], capture_output=True, check=True, text=True
    ).stdout
    flat = words(text)
    assert f"Case file {world.jane[0]}" in flat
    for message in texts_of(app, world.jane[0]):
        for line in (line for line in message.splitlines() if len(line.strip()) > 3):
            assert words(line) in flat, f"{line!r} is not in the PDF"
    assert "SHA-256" in flat and EXTENSION in flat
    picture = tmp_path / "page"
    subprocess.run([pdftoppm, "-png", "-f", "1", "-l", "1", "-r", "60", str(out), str(picture)], check=True)
    [png] = tmp_path.glob("page*.png")
    assert len(png_colours(png.read_bytes())) > 20  # text and tables drawn, not a blank page


def test_a_case_file_needs_a_html_or_pdf_name(
    app: App, world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = invoke(app, capsys, "cases", "file", world.jane[0], "--out", "casefile.docx")
    assert status == 2 and "name a .html or .pdf file" in err
    assert PHOTO  # the photo is what the HTML test finds drawn inline


def test_the_case_file_shows_no_character_that_reorders_what_is_read(tmp_path: Path) -> None:
    """A sender's name written to read backwards ("Tom", U+202E, " reganaM" shows as "Tom Manager") is shown
    in the case file as written, without the override, as letters and notices show it."""
    from mailbot.casefile.pages import environment

    (tmp_path / "probe.html").write_text("<p>{{ name }}</p><p>{{ note }}</p>", encoding="utf-8")
    probe = environment(tmp_path).get_template("probe.html")
    page = probe.render(name="Tom\u202e reganaM", note="\u2067x\u2069")
    assert page == "<p>Tom reganaM</p><p>x</p>"
