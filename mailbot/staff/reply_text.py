"""What a coordinator wrote in a reply to one of our notices, and nothing of the notice.

A notice to staff opens and closes with a marker line of ours (``[mailbot-notice-start REF]``). A reply's own
words are what lies above the quoted notice and its reply header ("From:", "Oddi wrth:", "On ... wrote:",
whatever the mail client's language: the header is known by our own address or name in it), or, for a reply
written below the quote, what lies below the end marker. Those words are then checked against everything we
have told staff about the case: if six words running of it are there, or the reply has words on both sides of
the quote, or it answers an hourly list of several cases, the relay is held and the coordinator told. We
never send what we cannot be sure is free of internal text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.db.models import Case, Correspondence

START, END, BUNDLE = "mailbot-notice-start", "mailbot-notice-end", "mailbot-bundle"
MARKERS = {"start": START, "end": END, "bundle": BUNDLE}  # for the templates: the words, defined once
SHINGLE = 6  # words running: as many as a coordinator is unlikely to write by chance
HEADER_LINES = 12  # how far above the marker a reply header can reach
_MARKER = re.compile(rf"{START}|{END}|{BUNDLE}", re.IGNORECASE)
_SEPARATOR = re.compile(
    r"^\s*[-_=*~]{3,}"
)  # "____", "-----Original Message-----", "-----Neges Wreiddiol-----"
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Ours:
    """What marks text as ours: the address and name our notices come from, and the word runs of everything
    staff were told about the case that its complainant was not."""

    address: str
    name: str
    internal: frozenset[tuple[str, ...]]


@dataclass(frozen=True)
class ReplyWords:
    text: str
    held: str | None = None  # why these words may not go to the complainant, or None


def own_words(text: str, stripped: str, ours: Ours, names_a_case: bool = True) -> ReplyWords:
    """The coordinator's words in a reply: ``text`` is the whole of it, ``stripped`` the same with the quotes
    a library recognises removed. ``names_a_case``: the subject carries the case reference (a reply to an
    hourly list of several cases does not)."""
    if BUNDLE in text.lower() and not names_a_case:
        return ReplyWords("", "it answers an hourly list of several cases, so it names no single case")
    lines = text.splitlines()
    start = _first(lines, (START, BUNDLE))
    if start is None:  # no notice of ours, or only quoted ("> "): what the quote stripper left is checked
        return _checked(stripped.strip(), ours)
    above = _unquoted(lines[: _header_start(lines, start, ours)])
    # The last end marker, not the first: the notice quotes the complainant's own words, and a complainant
    # who writes the (public) end marker into her mail must not decide where the quote ends.
    end = _last(lines, END, after=start)
    below = _without_signature(_unquoted(lines[end + 1 :])) if end is not None else ""
    if above and below:
        return ReplyWords("", "it has words both above and below the quoted notice, and either may be ours")
    return _checked(above or below, ours)


def _unquoted(lines: list[str]) -> str:
    return "\n".join(line for line in lines if not line.lstrip().startswith(">")).strip()


def _without_signature(text: str) -> str:
    """A signature the mail client put below the quote ("-- " and what follows) is not words to relay."""
    return re.split(r"^-- ?$", text, maxsplit=1, flags=re.MULTILINE)[0].strip()


def _first(lines: list[str], markers: tuple[str, ...], after: int = -1) -> int | None:
    """The first line after ``after`` holding one of the markers, not in a "> " quote."""
    return next(
        (i for i, line in enumerate(lines) if i > after and not line.lstrip().startswith(">")
         and any(marker in line.lower() for marker in markers)),
        None,
    )  # fmt: skip


def _last(lines: list[str], marker: str, after: int) -> int | None:
    """The last line after ``after`` holding the marker, not in a "> " quote."""
    found = _first(list(reversed(lines[after + 1 :])), (marker,))
    return None if found is None else len(lines) - 1 - found


def _header_start(lines: list[str], marker: int, ours: Ours) -> int:
    """Where the reply header above the quoted notice begins: its topmost line that names us within the block
    of lines just above the marker, with any separator line over it; the marker itself if none names us."""
    top = marker
    while top > 0 and not lines[top - 1].strip():
        top -= 1
    block_start = top
    while block_start > 0 and lines[block_start - 1].strip() and top - block_start < HEADER_LINES:
        block_start -= 1
    named = next((i for i in range(block_start, top) if _names_us(lines[i], ours)), None)
    if named is None:
        return marker
    while named > block_start and _SEPARATOR.match(lines[named - 1]):
        named -= 1
    return named


def _names_us(line: str, ours: Ours) -> bool:
    lowered = line.lower()
    return ours.address in lowered or (len(ours.name) >= 5 and ours.name.lower() in lowered)


def _checked(words: str, ours: Ours) -> ReplyWords:
    if _MARKER.search(words):
        return ReplyWords("", "it quotes more than one of our notices")
    leaked = next((run for run in runs(words) if run in ours.internal), None)
    if leaked is not None:
        return ReplyWords("", f"it seems to quote our internal notice (“{' '.join(leaked)}”)")
    return ReplyWords(words)


def runs(text: str) -> set[tuple[str, ...]]:
    """Every run of SHINGLE words in the text, lower case, punctuation and quote marks ignored."""
    words = _WORD.findall(text.lower())
    return {tuple(words[i : i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)}


def ours_on(session: Session, case: Case, address: str, name: str) -> Ours:
    """Everything told to staff about the case, less what its complainant wrote or was sent."""
    letters = session.scalars(select(Correspondence).where(Correspondence.case_id == case.id)).all()
    complainant = case.complainant_address
    to_staff = [c for c in letters if c.direction == "out" and complainant not in c.to_addresses]
    public = [c for c in letters if c not in to_staff and c.kind != "staff_reply"]
    return Ours(address.lower(), name, frozenset(_all_runs(to_staff) - _all_runs(public)))


def _all_runs(letters: Iterable[Correspondence]) -> set[tuple[str, ...]]:
    found: set[tuple[str, ...]] = set()
    for letter in letters:
        found |= runs(f"{letter.subject}\n{letter.new_text}")
    return found
