"""Open a SQLite database the one way the workstation does: WAL, busy timeout, foreign keys, FULL sync."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path
from typing import Iterator, Literal, Sequence

import sqlite_utils

from app.db.migrations import Step, apply_migrations

BUSY_TIMEOUT_S = 30.0
Durability = Literal["FULL", "NORMAL"]
_SYNC_LEVELS = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


class SchemaTooNewError(RuntimeError):
    """The database was written by a newer version of the application."""


def open_database(path: Path, migrations: Sequence[Step] | None, *, label: str,
                  too_new: type[Exception] = SchemaTooNewError, durability: Durability = "FULL",
                  target: int | None = None) -> sqlite_utils.Database:
    """Open (create, migrate) the database at ``path``; usable from any thread (callers hold a lock).

    Autocommit mode: writes go through :func:`transaction`. ``target`` stops migrating at that version
    (tests of old schemas); ``migrations=None`` leaves migrating to the caller (the cache checks the
    file's integrity first)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists()
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
    if new:
        _owner_only(path)
    db = sqlite_utils.Database(conn)
    db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    db.execute("PRAGMA foreign_keys = ON")
    db.enable_wal()
    db.execute(f"PRAGMA synchronous = {durability}")
    if migrations is not None:
        apply_migrations(db, migrations, too_new=too_new, label=label, target=target)
    return db


def _owner_only(path: Path) -> None:
    try:
        os.chmod(path, 0o600)
    except OSError:  # a file system without modes
        pass


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
