"""Attachments on disk, content-addressed by SHA-256, so the same file received twice is kept once.

Files are 0600 and folders 0700 whatever the umask: attachments are complainants' personal data."""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from pathlib import Path

from mailbot.private_files import private_directory

_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


def sanitise_filename(name: str, fallback: str = "attachment") -> str:
    """A name safe to show and to write anywhere: no paths, no control characters, at most 120 chars."""
    name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    name = _UNSAFE.sub("_", name.replace("\\", "/").rsplit("/", 1)[-1]).strip(" ._")
    stem, dot, ext = name.rpartition(".")
    if dot and len(ext) <= 10:
        return f"{stem[: 119 - len(ext)]}.{ext}" if stem else fallback
    return name[:120] or fallback


def blob_path(directory: Path, sha256: str) -> Path:
    return directory / sha256[:2] / sha256[2:4] / sha256


def save_blob(directory: Path, payload: bytes) -> str:
    """Write the bytes under their hash (atomically) and return the hash."""
    digest = hashlib.sha256(payload).hexdigest()
    path = blob_path(directory, digest)
    if path.exists():
        return digest
    private_directory(path.parent)
    temporary = path.with_name(f".{digest}.{os.getpid()}.tmp")
    descriptor = os.open(
        temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600
    )  # private whatever the umask
    with os.fdopen(descriptor, "wb") as out:
        out.write(payload)
    os.replace(temporary, path)
    return digest
