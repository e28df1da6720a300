"""``encryption.json`` at the top of an encrypted data folder: it says that every database and stored file
below is encrypted (with the public check value of the master key), so a file that does not open without
a key is never taken for a damaged plaintext one (a cache index would be rebuilt)."""

from __future__ import annotations

import json
import os
from pathlib import Path

MARKER = "encryption.json"
_SEARCH_UP = 4  # a database lies at most this deep below the data folder (cache/index.sqlite...)


def write_marker(home: Path, key_check: str) -> None:
    """Mark ``home`` encrypted (atomic, owner-only, durable)."""
    from app.config import open_private

    home = Path(home)
    tmp = home / f".{MARKER}.tmp"
    tmp.unlink(missing_ok=True)
    fd = open_private(tmp, os.O_WRONLY | os.O_EXCL)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"encrypted": True, "cipher": "AES-256-GCM files, SQLCipher 4 databases",
                   "key_check": key_check}, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, home / MARKER)
    dir_fd = os.open(home, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def encrypted_home(path: str | os.PathLike[str]) -> Path | None:
    """The encrypted data folder holding ``path`` (itself or one of its parents), or None."""
    current = Path(os.path.abspath(path))
    for candidate in [current, *list(current.parents)[:_SEARCH_UP]]:
        if (candidate / MARKER).is_file():
            return candidate
    return None


def key_check_of(home: Path) -> str:
    try:
        return str(json.loads((Path(home) / MARKER).read_text(encoding="utf-8")).get("key_check", ""))
    except (OSError, ValueError):
        return ""
