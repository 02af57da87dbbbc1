"""Files that hold personal data (the SQLite database, the attachment store) are private to the service's
own user: 0600 files in 0700 folders, whatever umask the service starts with."""

from __future__ import annotations

import os
from pathlib import Path


def private_file(path: Path) -> None:
    """Create (or tighten) a file to 0600 in a 0700 folder, whatever the umask."""
    private_directory(path.parent)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    os.chmod(path, 0o600)


def private_directory(path: Path) -> None:
    """Create the folder and any missing parents as 0700 (Path.mkdir applies its mode to the last one only).
    Folders that already exist are left as they are: they may be shared, such as /var/lib or /tmp."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)


def write_private(path: Path, payload: bytes) -> None:
    """Write ``payload`` to a new 0600 file (the umask can only narrow the mode given to open)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(payload)
