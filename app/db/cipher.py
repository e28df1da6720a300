"""SQLCipher for the databases of an encrypted data folder (``sqlcipher3``, SQLCipher 4: AES-256 pages
with an HMAC each, keyed with the raw 256-bit database key of ``app.crypto.DataKeys``)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

from app.crypto import DataKeys, KeyMissingError
from app.crypto.marker import encrypted_home, key_check_of

PLAIN_HEADER = b"SQLite format 3\x00"
TIMEOUT_S = 30.0


def _module() -> Any:
    from app.db.errors import sqlcipher

    if sqlcipher is None:  # pragma: no cover - a declared dependency
        raise KeyMissingError("SQLCipher (the sqlcipher3 package) is not installed: encrypted databases cannot open")
    return sqlcipher


def is_plaintext(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(len(PLAIN_HEADER)) == PLAIN_HEADER


def prepare(path: Path, keys: DataKeys | None, label: str) -> None:
    """Before opening an existing file: refuse an encrypted one without keys, encrypt a plaintext one with keys."""
    if os.path.getsize(path) == 0:
        return
    plain = is_plaintext(path)
    home = encrypted_home(path)
    if keys is None and not plain and home is not None:
        raise KeyMissingError(f"the {label} database is encrypted and the data folder is locked: sign in first")
    if keys is not None and home is not None and keys.check and key_check_of(home) not in ("", keys.check):
        raise KeyMissingError(f"the key given does not belong to this data folder: the {label} database stays closed")
    if keys is not None and plain:
        encrypt_plaintext(path, keys)


def connect(path: Path, keys: DataKeys | None, label: str) -> Any:
    """A connection in autocommit mode usable from any thread; SQLCipher with ``keys``."""
    if keys is None:
        return sqlite3.connect(str(path), timeout=TIMEOUT_S, isolation_level=None, check_same_thread=False)
    conn = _module().connect(str(path), timeout=TIMEOUT_S, isolation_level=None, check_same_thread=False)
    try:
        conn.execute(keys.sqlcipher_pragma())
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # a wrong key or damaged file fails here
    except BaseException:
        conn.close()
        raise
    return conn


def encrypt_plaintext(path: Path, keys: DataKeys) -> None:
    """Convert a plaintext database (and its WAL) into an encrypted one in place: ``sqlcipher_export`` into a
    new file, fsync, atomic rename; the plaintext WAL files are removed. A crash leaves either file whole."""
    from app.config import open_private

    tmp = path.with_name(path.name + ".encrypting")
    tmp.unlink(missing_ok=True)
    os.close(open_private(tmp, os.O_RDWR | os.O_EXCL))
    conn = _module().connect(str(path), timeout=TIMEOUT_S, isolation_level=None)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        conn.execute(f"ATTACH DATABASE ? AS enc KEY \"x'{keys.database.hex()}'\"", [str(tmp)])
        conn.execute("SELECT sqlcipher_export('enc')")
        conn.execute(f"PRAGMA enc.user_version = {version}")
        conn.execute("DETACH DATABASE enc")
    except BaseException:
        conn.close()
        tmp.unlink(missing_ok=True)
        raise
    conn.close()
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
