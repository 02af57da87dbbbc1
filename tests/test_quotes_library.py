"""The quote-stripper's shortcut (intake/quotes.py: only the first reply, the header search tried only where
a line begins) gives exactly what mail-parser-reply itself gives, on the replies in the shared corpus and on
replies written here; should a new version of the library change how it reads a thread, this fails."""

from __future__ import annotations

from pathlib import Path

import pytest
from mailparser_reply import EmailReplyParser

from mailbot.intake.parse import UnparseableMail, parse_mail
from mailbot.intake.quotes import REPLY_LANGUAGES, _latest_reply
from tests.corpus import corpus_location

CORPUS = corpus_location()
WRITTEN_HERE = [
    "Thanks, that is fine.\n\nOn Mon, 30 Nov 2026 at 09:12, Complaints <c@example.org> wrote:\n"
    "> Dear Ms Hale",
    "Diolch.\n\nAr Llun, 30 Tach 2026 am 09:12, Cwynion <c@example.org> ysgrifennodd:\n> Annwyl",
    "Yes please.\r\n\r\nFrom: Complaints <c@example.org>\r\nSent: 30 November 2026 09:12\r\nTo: Rita\r\n"
    "Subject: RE: Mum\r\n\r\nDear Rita",
    "No quotes at all, just a complaint about the laundry going missing again.",
    "",
    "\n\n> all quoted\n> nothing new\n",
]


def library(text: str) -> str:
    replies = EmailReplyParser(languages=list(REPLY_LANGUAGES)).read(text).replies
    return replies[0].full_body if replies else ""


def corpus_texts() -> list:
    if not CORPUS.is_dir():
        return [pytest.param(None, id="corpus-absent")]
    paths = sorted(p for p in CORPUS.rglob("*") if p.suffix in {".eml", ".msg", ".txt"} and p.is_file())
    return [pytest.param(p, id=str(p.relative_to(CORPUS))) for p in paths]


@pytest.mark.parametrize("text", WRITTEN_HERE)
def test_replies_written_here(text: str) -> None:
    assert _latest_reply(text, REPLY_LANGUAGES) == library(text)


@pytest.mark.usefixtures("corpus_dir")
@pytest.mark.parametrize("path", corpus_texts())
def test_corpus_mail(path: Path) -> None:
    try:
        text = parse_mail(path.read_bytes()).text
    except UnparseableMail:  # a reply's body on its own (email-reply-parser's fixtures)
        text = path.read_text(encoding="utf-8", errors="replace")
    assert _latest_reply(text, REPLY_LANGUAGES) == library(text)
