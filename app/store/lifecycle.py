"""Opening the index (integrity check, rebuild if corrupt), the single-process lock, deletion."""

from __future__ import annotations

import logging
import os
from app.db import errors as db_errors
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

import sqlite_utils

from app.config import open_private
from app.store import schema
from app.store.files import OBJECTS, QUARANTINE, remove_file
from app.store.index import purge_empty
from app.store.models import ReconcileReport

log = logging.getLogger(__name__)
DB_NAME = "cache.sqlite"
LOCK_NAME = "lock"


class CacheLockedError(RuntimeError):
    """Another process has this cache open."""


class CacheLock:
    """An exclusive advisory lock on ``root/lock`` (released by the OS if the process dies)."""

    def __init__(self, handle: IO[bytes] | None) -> None:
        self._handle = handle

    @classmethod
    def acquire(cls, root: Path) -> CacheLock:
        handle = os.fdopen(open_private(root / LOCK_NAME, os.O_RDWR | os.O_APPEND), "a+b")
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            return cls(handle)
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            handle.close()
            raise CacheLockedError(f"cache {root} is in use by another process") from exc
        return cls(handle)

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()  # closing drops the flock
            self._handle = None


def _set_aside(root: Path) -> None:
    """Rename a corrupt index (and its WAL/SHM) out of the way; files are the source of truth."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    for suffix in ("", "-wal", "-shm"):
        path = root / f"{DB_NAME}{suffix}"
        if path.exists():
            os.replace(path, root / f"{DB_NAME}.corrupt-{stamp}{suffix}")


def open_database(root: Path, *, check: bool) -> tuple[sqlite_utils.Database, ReconcileReport]:
    """Connect and migrate; with ``check`` run integrity_check and rebuild a corrupt index."""
    report = ReconcileReport()
    path = root / DB_NAME
    try:
        db = schema.connect(path)
        if check:
            report.integrity = schema.integrity(db)
    except db_errors.DatabaseError as exc:
        db, report.integrity = None, f"unreadable: {exc}"  # type: ignore[assignment]
    if report.integrity not in ("ok", "not checked"):
        log.error("cache index failed its integrity check (%s); rebuilding from files", report.integrity)
        if db is not None:
            db.close()
        _set_aside(root)
        db = schema.connect(path)
        report.database_rebuilt = True
    before = schema.migrate(db)
    if 0 < before < schema.REQUEST_COLUMNS_SINCE:
        from app.store.backfill import backfill_request_columns

        backfill_request_columns(db, root)
    return db, report


def delete_study_rows_and_files(db: sqlite_utils.Database, root: Path, study_ref: int) -> None:
    """Finish deleting a study marked ``deleting``: files first, then rows in one transaction."""
    uid_row = db.execute("SELECT study_uid FROM studies WHERE id = ?", [study_ref]).fetchone()
    if uid_row is None:
        return
    study_uid = uid_row[0]
    files = [r[0] for r in db.execute(
        "SELECT i.path FROM instances i JOIN series se ON se.id = i.series_ref WHERE se.study_ref = ?",
        [study_ref])]
    quarantined = [r[0] for r in db.execute(
        """SELECT path FROM quarantine WHERE study_uid = ? OR sop_uid IN (SELECT i.sop_uid FROM instances i
           JOIN series se ON se.id = i.series_ref WHERE se.study_ref = ?)""", [study_uid, study_ref])]
    for rel in files:
        remove_file(root, rel, OBJECTS)
    for rel in quarantined:
        remove_file(root, rel, QUARANTINE)
    with db.atomic():
        for rel in quarantined:
            db.execute("DELETE FROM quarantine WHERE path = ?", [rel])
        db.execute("DELETE FROM studies WHERE id = ?", [study_ref])
        purge_empty(db)
