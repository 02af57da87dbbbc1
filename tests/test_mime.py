"""intake/mime.py parses every mail to the same tree as ``email.message_from_bytes``: the same parts, headers,
payloads, preambles, epilogues and defects, on the whole corpus and on delimiters written every odd way."""

from __future__ import annotations

import email
import re
from email.message import Message
from pathlib import Path

import pytest

from mailbot.intake import mime


def _tree(message: Message) -> list[object]:
    """Everything the parser decided about a message, part by part."""
    found: list[object] = []
    for part in message.walk():
        payload = part.get_payload()
        found.append(
            (
                list(part.raw_items()),
                payload if isinstance(payload, str) else len(payload),
                part.preamble,
                part.epilogue,
                [type(defect).__name__ for defect in part.defects],
                part.get_unixfrom(),
            )
        )
    return found


def _same_as_stdlib(raw: bytes) -> None:
    assert _tree(mime.message_from_bytes(raw)) == _tree(email.message_from_bytes(raw))
    assert _written(mime.message_from_bytes(raw)) == _written(email.message_from_bytes(raw))


def _written(message: Message) -> bytes | str:
    try:
        return message.as_bytes()
    except (UnicodeError, LookupError, ValueError) as exc:  # the stdlib's own tree fails the same way
        return type(exc).__name__


def _multipart(boundary: str, lines: list[str], newline: str = "\n") -> bytes:
    head = f'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="{boundary}"\n\npreamble\n'
    body = "".join(f"{line}\nContent-Type: text/plain\n\npart {n}\n" for n, line in enumerate(lines))
    return (head + body + f"--{boundary}--\nepilogue\n").replace("\n", newline).encode("latin-1")


ODD_BOUNDARIES = ["simple", "a.b+c(d)e", "=_?*[x]{2}$^|\\", "with space", "--dashes--", "(?P<end>--)", "é"]


@pytest.mark.parametrize("boundary", ODD_BOUNDARIES)
@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_delimiters_written_every_odd_way(boundary: str, newline: str) -> None:
    lines = [f"--{boundary}", f"--{boundary} \t", f"--{boundary}--x", f"--{boundary}x", f" --{boundary}"]
    _same_as_stdlib(_multipart(boundary, lines, newline))


def test_nested_multiparts_and_a_missing_close() -> None:
    inner = 'Content-Type: multipart/alternative; boundary="in"\n\n--in\n\nplain\n--in\n\n<p>html</p>\n'
    raw = f'Content-Type: multipart/mixed; boundary="out"\n\n--out\n{inner}--out\n\nlast\n'.encode()
    _same_as_stdlib(raw)
    _same_as_stdlib(raw + b"--out--\n")


def test_other_patterns_compile_as_before() -> None:
    built_as_the_parser_builds_it = "(?P<sep>" + re.escape("--a.b c") + mime._REST
    assert isinstance(mime._ReForDelimiters.compile(built_as_the_parser_builds_it), mime._Delimiter)
    assert isinstance(mime._ReForDelimiters.compile("(?P<sep>a)b"), re.Pattern)
    assert mime._ReForDelimiters.compile(r"\r\n|\r|\n").pattern == r"\r\n|\r|\n"


def test_headers_only_as_the_stdlib_parser() -> None:
    raw = _multipart("b", ["--b"])
    ours = mime.message_from_bytes(raw, headers_only=True)
    theirs = email.parser.BytesParser().parsebytes(raw, headersonly=True)
    assert _tree(ours) == _tree(theirs)


def test_every_corpus_mail_parses_to_the_same_tree(corpus_dir: Path) -> None:
    paths = sorted(p for p in corpus_dir.rglob("*.eml") if p.is_file())
    assert paths
    for path in paths:
        _same_as_stdlib(path.read_bytes())
