"""The crash-safe study cache: content files under ``root`` plus a SQLite index.

Write order for every object: temp file in ``root/tmp`` -> fsync -> rename -> fsync dir ->
one index transaction. :meth:`Cache.open` repairs whatever a crash left (see reconcile).
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import datetime, timezone
from pathlib import Path

import sqlite_utils

from app.store import queries
from app.store.crash import crashpoint
from app.store.files import OBJECTS, QUARANTINE, TMP, fsync_dir, object_relpath, quarantine_relpath, write_atomic
from app.store.index import index_instance
from app.store.lifecycle import CacheLock, delete_study_rows_and_files, open_database
from app.store.models import (
    InstanceRecord,
    QuarantineRecord,
    ReconcileReport,
    SeriesSummary,
    StoreResult,
    StudySummary,
)
from app.store.prepare import Prepared, Rejected, prepare

log = logging.getLogger(__name__)
CLEAN_MARKER = "clean-shutdown"
MAX_OBJECT_BYTES = 4 * 1024**3 + 64 * 1024**2  # declared pixels are capped at 4 GiB


def utc_now() -> str:
    """Current UTC time as ISO 8601 with milliseconds."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class CacheClosedError(RuntimeError):
    """The cache was used after :meth:`Cache.close`."""


class NotACacheError(RuntimeError):
    """The folder holds other files: refusing to treat (and clean) it as a cache."""


class Cache:
    """Thread-safe study cache; create with :meth:`Cache.open`."""

    def __init__(self, root: Path, db: sqlite_utils.Database, lock: CacheLock) -> None:
        self.root = root
        self._db: sqlite_utils.Database | None = db
        self._file_lock = lock
        self._lock = threading.RLock()
        self.reconcile_report = ReconcileReport()

    # -- life cycle -------------------------------------------------------------------------
    @classmethod
    def open(cls, root: Path) -> Cache:
        """Create/open the cache at ``root``: lock, migrate, reconcile (see ``reconcile_report``)."""
        from app.store.reconcile import reconcile

        root = Path(root).expanduser().resolve()
        if root.is_dir() and any(root.iterdir()) and not (root / OBJECTS).is_dir():
            raise NotACacheError(f"{root} is not empty and is not a study cache")
        for sub in ("", OBJECTS, QUARANTINE, TMP):
            (root / sub).mkdir(parents=True, exist_ok=True)
        lock = CacheLock.acquire(root)
        try:
            marker = root / CLEAN_MARKER
            unclean = (root / "cache.sqlite").exists() and not marker.exists()
            marker.unlink(missing_ok=True)
            fsync_dir(root)
            db, report = open_database(root, check=unclean)
            report.unclean_shutdown = unclean
            cache = cls(root, db, lock)
            cache.reconcile_report = reconcile(cache, report)
        except BaseException:
            lock.release()
            raise
        return cache

    def close(self) -> None:
        """Checkpoint, close the index and write the clean-shutdown marker. Idempotent."""
        with self._lock:
            if self._db is None:
                return
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._db.close()
            self._db = None
            marker = self.root / CLEAN_MARKER
            with open(marker, "wb") as fh:
                fh.write(utc_now().encode())
                os.fsync(fh.fileno())
            fsync_dir(self.root)
            self._file_lock.release()

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def db(self) -> sqlite_utils.Database:
        """The index connection (hold :attr:`lock` while using it)."""
        if self._db is None:
            raise CacheClosedError("cache is closed")
        return self._db

    @property
    def lock(self) -> threading.RLock:
        """Serialises every index access and file move."""
        return self._lock

    # -- storing ----------------------------------------------------------------------------
    def store_file(self, path: Path, source_node: str | None = None) -> StoreResult:
        """Store one file from disk (the path is recorded only as data, for quarantine)."""
        try:
            if Path(path).stat().st_size > MAX_OBJECT_BYTES:
                return StoreResult("rejected", f"file larger than {MAX_OBJECT_BYTES} bytes")
            data = Path(path).read_bytes()
        except OSError as exc:
            return StoreResult("rejected", f"cannot read file: {exc.strerror or exc}")
        return self.store_bytes(data, source_node, source=str(path))

    def store_bytes(self, data: bytes, source_node: str | None = None, *, source: str | None = None) -> StoreResult:
        """Validate and store one object (thread-safe). ``source`` is a label kept as data."""
        try:
            prepared = prepare(data)
        except Rejected as exc:
            return StoreResult("rejected", exc.reason, skip=exc.skip)
        with self._lock:
            return self._store(prepared, source_node, source)

    def _store(self, p: Prepared, source_node: str | None, source: str | None) -> StoreResult:
        h = p.header
        db = self.db
        row = db.execute(
            "SELECT i.sha256, i.state, i.path, st.study_uid FROM instances i JOIN series se ON se.id = i.series_ref"
            " JOIN studies st ON st.id = se.study_ref WHERE i.sop_uid = ?",
            [h.sop_instance_uid],
        ).fetchone()
        result = dict(sop_instance_uid=h.sop_instance_uid, study_instance_uid=h.study_instance_uid,
                      patient_id=h.patient_id)
        if row is not None and row[0] == p.sha256:
            if row[1] == "ok" and (self.root / row[2]).is_file():
                return StoreResult("duplicate", "identical instance already stored", **result)
            write_atomic(self.root, object_relpath(h.sop_instance_uid), p.content)
            with db.atomic():
                db.execute("UPDATE instances SET state = 'ok' WHERE sop_uid = ?", [h.sop_instance_uid])
            return StoreResult("imported", "restored a missing file", **result)
        if row is not None:
            reason = "SOP Instance UID already stored with different content"
            self._quarantine(p, reason, source, source_node, flag=(row[3], h.study_instance_uid))
            return StoreResult("quarantined", reason, **result)
        rel = object_relpath(h.sop_instance_uid)
        write_atomic(self.root, rel, p.content)
        try:
            with db.atomic():
                index_instance(db, h, path=rel.as_posix(), size=len(p.content), sha256=p.sha256,
                               source_node=source_node, now=utc_now())
                crashpoint("before_commit")
        except BaseException:
            (self.root / rel).unlink(missing_ok=True)
            raise
        crashpoint("after_commit")
        log.debug("stored instance %s", h.sop_instance_uid)
        return StoreResult("imported", None, **result)

    def _quarantine(self, p: Prepared, reason: str, source: str | None, source_node: str | None,
                    flag: tuple[str, ...]) -> None:
        rel = quarantine_relpath(p.sha256).as_posix()
        db = self.db
        known = db.execute("SELECT 1 FROM quarantine WHERE path = ?", [rel]).fetchone()
        if known is None or not (self.root / rel).is_file():
            write_atomic(self.root, quarantine_relpath(p.sha256), p.content)
        with db.atomic():
            if known is None:
                db["quarantine"].insert({
                    "path": rel, "sha256": p.sha256, "sop_uid": p.header.sop_instance_uid,
                    "study_uid": p.header.study_instance_uid, "reason": reason, "source": source,
                    "source_node": source_node, "time": utc_now(),
                })
            for study_uid in flag:
                db.execute("UPDATE studies SET conflict = 1 WHERE study_uid = ?", [study_uid])
        log.warning("quarantined a conflicting copy of instance %s", p.header.sop_instance_uid)

    # -- queries ----------------------------------------------------------------------------
    def list_studies(self) -> list[StudySummary]:
        """All studies, newest first."""
        with self._lock:
            return queries.list_studies(self.db)

    def get_study(self, study_uid: str) -> StudySummary | None:
        """One study, or None."""
        with self._lock:
            found = queries.list_studies(self.db, study_uid)
        return found[0] if found else None

    def list_series(self, study_uid: str) -> list[SeriesSummary]:
        """Series of a study ordered by series number."""
        with self._lock:
            return queries.list_series(self.db, study_uid)

    def list_instances(self, series_uid: str) -> list[InstanceRecord]:
        """Instances of a series ordered by instance number (absolute paths)."""
        with self._lock:
            return queries.list_instances(self.db, self.root, series_uid)

    def get_instance(self, sop_uid: str) -> InstanceRecord | None:
        """One instance by SOP Instance UID (absolute path), or None."""
        with self._lock:
            return queries.get_instance(self.db, self.root, sop_uid)

    def study_of_series(self, series_uid: str) -> str | None:
        """The study a series belongs to, or None if unknown."""
        with self._lock:
            return queries.study_of_series(self.db, series_uid)

    def list_quarantine(self) -> list[QuarantineRecord]:
        """Quarantined files."""
        with self._lock:
            return queries.list_quarantine(self.db, self.root)

    # -- deleting ---------------------------------------------------------------------------
    def delete_study(self, study_uid: str) -> bool:
        """Remove a study's rows and files (and its patient if now empty); False if unknown."""
        with self._lock:
            db = self.db
            row = db.execute("SELECT id FROM studies WHERE study_uid = ?", [study_uid]).fetchone()
            if row is None:
                return False
            with db.atomic():  # survives a crash: reconcile finishes the deletion
                db.execute("UPDATE studies SET deleting = 1 WHERE id = ?", [row[0]])
            delete_study_rows_and_files(db, self.root, int(row[0]))
            return True
