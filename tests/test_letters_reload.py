"""An organisation edits its letter templates while the bot runs: the edit is used from the next letter a
second or more later, without a restart, though the templates are not looked at on disk for every letter
(outgoing/letters.py ``RECHECK_SECONDS``). Without mail servers: the templates are files in a folder."""

from __future__ import annotations

import os
from pathlib import Path

from mailbot.outgoing.letters import RECHECK_SECONDS, Letters


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def write(path: Path, text: str) -> None:
    """Write a template, its time a minute on from the last write: an edit a person makes, not one within
    the same tick of the file system's clock."""
    before = path.stat().st_mtime if path.exists() else 0.0
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    later = max(before + 60, path.stat().st_mtime)
    os.utime(path, (later, later))


def templates(tmp_path: Path) -> Path:
    root = tmp_path / "templates"
    write(root / "_footer.txt", "Riverside Care\n")
    write(root / "acknowledgement" / "subject.txt", "We have your complaint")
    write(root / "acknowledgement" / "body.txt", "Dear {{ name }},\n{% include '_footer.txt' %}")
    return root


def test_an_edited_letter_and_an_edited_part_it_includes_are_used_a_second_later(tmp_path: Path) -> None:
    root, clock = templates(tmp_path), Clock()
    letters = Letters(root, clock=clock)
    assert letters.render("acknowledgement", {"name": "Jane"}).text == "Dear Jane,\nRiverside Care\n"

    write(root / "acknowledgement" / "body.txt", "Hello {{ name }},\n{% include '_footer.txt' %}")
    write(root / "_footer.txt", "Riverside Care, complaints team\n")
    clock.now += RECHECK_SECONDS / 2
    assert letters.render("acknowledgement", {"name": "Jane"}).text == "Dear Jane,\nRiverside Care\n"

    clock.now += RECHECK_SECONDS / 2
    assert letters.render("acknowledgement", {"name": "Jane"}).text == (
        "Hello Jane,\nRiverside Care, complaints team\n"
    )


def test_an_html_body_or_a_policy_override_added_or_removed_is_noticed_a_second_later(tmp_path: Path) -> None:
    root, clock = templates(tmp_path), Clock()
    letters = Letters(root, clock=clock)
    assert letters.render("acknowledgement", {"name": "Jane"}, policy="lgsco").html is None

    write(root / "acknowledgement" / "body.html", "<p>Dear {{ name }},</p>")
    write(root / "lgsco" / "acknowledgement" / "subject.txt", "Your complaint to the council")
    write(root / "lgsco" / "acknowledgement" / "body.txt", "Dear {{ name }}, under our policy.\n")
    clock.now += RECHECK_SECONDS
    under_policy = letters.render("acknowledgement", {"name": "Jane"}, policy="lgsco")
    plain = letters.render("acknowledgement", {"name": "Jane"})
    assert (under_policy.subject, under_policy.text) == (
        "Your complaint to the council",
        "Dear Jane, under our policy.\n",
    )
    assert plain.html == "<p>Dear Jane,</p>"

    (root / "acknowledgement" / "body.html").unlink()
    for name in ("subject.txt", "body.txt"):
        (root / "lgsco" / "acknowledgement" / name).unlink()
    clock.now += RECHECK_SECONDS
    assert letters.render("acknowledgement", {"name": "Jane"}, policy="lgsco").text == (
        "Dear Jane,\nRiverside Care\n"
    )
    assert letters.render("acknowledgement", {"name": "Jane"}).html is None
