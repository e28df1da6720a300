"""Open a SQLite database the one way the workstation does: WAL, busy timeout, foreign keys, FULL sync."""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
from pathlib import Path
from typing import Iterator, Literal, Sequence

import sqlite_utils

from app.config import PRIVATE_FILE_MODE, open_private, private_dir, restrict
from app.crypto import keys_for
from app.db import cipher, errors
from app.db.migrations import Step, apply_migrations

BUSY_TIMEOUT_S = 30.0
Durability = Literal["FULL", "NORMAL"]
_SYNC_LEVELS = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


class SchemaTooNewError(RuntimeError):
    """The database was written by a newer version of the application."""


class DiskFullError(RuntimeError):
    """The disk holding a database is full and the database cannot even be read."""


LOW_SPACE_BYTES = 1024 * 1024  # below this, a failing open is taken for a full disk


def open_database(path: Path, migrations: Sequence[Step] | None, *, label: str,
                  too_new: type[Exception] = SchemaTooNewError, durability: Durability = "FULL",
                  target: int | None = None, encrypt: bool = True) -> sqlite_utils.Database:
    """Open (create, migrate) the database at ``path``; usable from any thread (callers hold a lock).

    Autocommit mode: writes go through :func:`transaction`. ``target`` stops migrating at that version
    (tests of old schemas); ``migrations=None`` leaves migrating to the caller (the cache checks the
    file's integrity first). In a data folder whose keys are registered (``app.crypto``) the file is a
    SQLCipher database (a plaintext one is converted first); ``encrypt=False`` for the files that must
    open before a sign-in and hold no PHI (accounts, audit log)."""
    path = Path(path)
    private_dir(path.parent)
    keys = keys_for(path) if encrypt else None
    new = not path.exists()
    if not new:
        cipher.prepare(path, keys, label)  # refuses a locked encrypted file; encrypts a plaintext one
    _owner_only(path, new)  # before WAL opens: SQLite gives -wal/-shm the main file's mode
    conn = cipher.connect(path, keys, label)
    db = sqlite_utils.Database(conn)
    try:
        db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("PRAGMA secure_delete = ON")  # deleted rows (a deleted study's PHI) are zeroed, not left
        db.enable_wal()
        db.execute(f"PRAGMA synchronous = {durability}")
    except errors.OperationalError as exc:
        conn.close()
        if new or keys is not None or not disk_full(path.parent):
            raise
        db = _read_only(path, exc)
    if migrations is not None:
        apply_migrations(db, migrations, too_new=too_new, label=label, target=target)
    return db


def disk_full(folder: Path) -> bool:
    """True if the file system holding ``folder`` has (almost) no space left for us."""
    try:
        st = os.statvfs(folder)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < LOW_SPACE_BYTES


def _read_only(path: Path, cause: Exception) -> sqlite_utils.Database:
    """A read-only connection on a full disk (SQLite cannot create the WAL index there): ``immutable``
    when the WAL is empty (nothing unflushed), plain read-only over the existing WAL index otherwise.
    Writes through it fail with "attempt to write a readonly database"."""
    wal = path.with_name(path.name + "-wal")
    flag = "mode=ro" if wal.exists() and wal.stat().st_size > 0 else "immutable=1"
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?{flag}", uri=True, isolation_level=None,
                               check_same_thread=False)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        raise DiskFullError(f"the disk holding {path} is full; free some space ({exc})") from cause
    db = sqlite_utils.Database(conn)
    db._telerad_read_only = True  # type: ignore[attr-defined]
    return db


STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS})
# what SQLite says when the disk under a database is full, or through the full-disk read-only fallback
SQLITE_STORAGE_MESSAGES = ("database or disk is full", "disk i/o error", "attempt to write a readonly database")


def storage_failure(exc: BaseException | None) -> BaseException | None:
    """The full / read-only storage error in ``exc`` or its causes (OSError ENOSPC, EDQUOT, EFBIG,
    EROFS; SQLite "disk is full" and alike, :class:`DiskFullError`), or None: a programming error."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, DiskFullError) or (isinstance(exc, OSError) and exc.errno in STORAGE_ERRNOS):
            return exc
        if isinstance(exc, errors.OperationalError) and str(exc).lower() in SQLITE_STORAGE_MESSAGES:
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def is_read_only(db: sqlite_utils.Database) -> bool:
    """True for the read-only connection :func:`open_database` falls back to on a full disk."""
    return bool(getattr(db, "_telerad_read_only", False))


def _owner_only(path: Path, new: bool) -> None:
    """Create the (empty, valid) database file 0600, or restrict an existing one and its WAL files."""
    if new:
        try:
            os.close(open_private(path, os.O_RDWR | os.O_EXCL))
        except FileExistsError:  # another process created it meanwhile
            pass
        return
    for candidate in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if candidate.exists():
            restrict(candidate, PRIVATE_FILE_MODE)


def pragma_synchronous(db: sqlite_utils.Database | sqlite3.Connection) -> str:
    """The connection's durability level as SQLite names it (OFF, NORMAL, FULL, EXTRA)."""
    conn = db.conn if isinstance(db, sqlite_utils.Database) else db
    return _SYNC_LEVELS[int(conn.execute("PRAGMA synchronous").fetchone()[0])]


@contextlib.contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any error; sqlite-utils calls inside it nest as
    savepoints. A transaction already open on the connection is joined (nested use is a savepoint)."""
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.conn.execute("ROLLBACK")
        raise
    db.conn.execute("COMMIT")
