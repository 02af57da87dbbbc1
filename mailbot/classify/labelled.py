"""Labelled sets written as one TOML file: each ``[[mail]]`` a message built from its fields, with the label a
coordinator gave it. Compact to write and review; tests/data/front_door/frozen.toml and
tests/data/labelled_more.toml are such sets.

Schema: ``[set]`` with optional ``trusted_servers`` (the receiving servers whose header fields the set's
mails carry; the evaluation trusts them as the configuration's own) and ``mailbox``; each ``[[mail]]`` has
``id``, ``kind``, ``from``, ``subject``, ``body`` and optionally ``flags``, ``html`` (the mail is HTML, with
``body`` as its text part when both are given), ``received`` (header fields our receiving server wrote at
the top, as [name, value] pairs, in order) and ``headers`` (fields the sender wrote, below From).
"""

from __future__ import annotations

import csv
import hashlib
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from mailbot.classify.result import KINDS
from mailbot.errors import UserError

HEADER = ("file", "kind", "flags")

SET_DATE = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)  # every built mail carries the same date
_REQUIRED = ("id", "kind", "from", "subject")


class LabelledSetError(UserError):
    """A labelled set file cannot be read or a mail in it lacks a field; names the file and the mail."""


@dataclass(frozen=True)
class LabelledSet:
    path: Path
    name: str
    trusted_servers: frozenset[str]
    mails: tuple[dict[str, Any], ...]


def load_set(path: Path) -> LabelledSet:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeError) as exc:
        raise LabelledSetError(f"{path}: cannot be read ({exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise LabelledSetError(f"{path}: not valid TOML ({exc})") from exc
    head = document.get("set", {})
    mails = tuple(document.get("mail", ()))
    if not mails:
        raise LabelledSetError(f"{path}: no [[mail]] tables")
    for index, entry in enumerate(mails, start=1):
        if missing := [key for key in _REQUIRED if key not in entry]:
            raise LabelledSetError(
                f"{path}: mail #{index} ({entry.get('id', '?')}) lacks {', '.join(missing)}"
            )
    servers = frozenset(str(s).lower() for s in head.get("trusted_servers", ()))
    return LabelledSet(path, str(head.get("name", path.stem)), servers, mails)


def as_message(entry: dict[str, Any], mailbox: str = "complaints@riverside.example") -> bytes:
    """The mail as it would arrive: our server's fields on top, then the sender's."""
    message = EmailMessage(policy=SMTP)
    for name, value in entry.get("received", ()):
        message[name] = value
    message["From"] = entry["from"]
    message["To"] = mailbox
    message["Subject"] = entry["subject"]
    message["Date"] = format_datetime(SET_DATE)
    message["Message-ID"] = f"<{entry['id']}.{_digest(entry)}@labelled.example>"
    for name, value in entry.get("headers", ()):
        message[name] = value
    body, html = entry.get("body"), entry.get("html")
    if html and body:
        message.set_content(body)
        message.add_alternative(html, subtype="html")
    elif html:
        message.set_content(html, subtype="html")
    else:
        message.set_content(body or "")
    return message.as_bytes()


def _digest(entry: dict[str, Any]) -> str:
    return hashlib.sha256(repr(sorted(entry.items())).encode()).hexdigest()[:12]


class EvaluationError(UserError):
    """The labels file or a labelled mail cannot be used; the message names the file and, where there is
    one, the line."""


@dataclass(frozen=True)
class Label:
    """One row of the labels file: what a complaints coordinator says the mail is."""

    file: str
    kind: str
    flags: frozenset[str]
    line: int


# --- reading the labels file ----------------------------------------------------------------------------


def read_labels(path: Path, known_flags: frozenset[str] | None = None) -> tuple[Label, ...]:
    """Rows of the labels file; any bad row raises EvaluationError naming the file and line."""
    rows = list(_csv_rows(path))
    if not rows or tuple(field.strip().lower() for field in rows[0][1]) != HEADER:
        raise EvaluationError(
            f"{path}:{rows[0][0] if rows else 1}: the first row must be the header {','.join(HEADER)}"
        )
    labels = tuple(_label(path, line, fields, known_flags) for line, fields in rows[1:])
    if not labels:
        raise EvaluationError(f"{path}: no labelled mails after the header")
    _check_unique(path, labels)
    return labels


def _csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) for each row that is not blank or a # note."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeError) as exc:
        raise EvaluationError(f"{path}: cannot be read ({exc})") from exc
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip() and not line.lstrip().startswith("#"):
            yield number, next(csv.reader([line]))


def _label(path: Path, line: int, fields: list[str], known_flags: frozenset[str] | None) -> Label:
    where = f"{path}:{line}"
    if len(fields) not in (2, 3) or not fields[0].strip():
        raise EvaluationError(f"{where}: expected file,kind,flags (flags may be empty), got {fields}")
    name, kind = fields[0].strip(), fields[1].strip()
    flags = frozenset(fields[2].split()) if len(fields) == 3 else frozenset()
    if kind not in KINDS:
        raise EvaluationError(f"{where}: unknown kind {kind!r} for {name}; accepted: {sorted(KINDS)}")
    if known_flags is not None and (unknown := sorted(flags - known_flags)):
        raise EvaluationError(
            f"{where}: unknown flag(s) {unknown} for {name}; the rule chain sets: {sorted(known_flags)}"
        )
    return Label(name, kind, flags, line)


def _check_unique(path: Path, labels: tuple[Label, ...]) -> None:
    first: dict[str, int] = {}
    for label in labels:
        if label.file in first:
            raise EvaluationError(
                f"{path}:{label.line}: {label.file} is already labelled on line {first[label.file]}"
            )
        first[label.file] = label.line
