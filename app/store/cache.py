"""The crash-safe study cache: content files under ``root`` plus a SQLite index.

Write order for every object: temp file in ``root/tmp`` -> fsync -> rename -> fsync dir ->
one index transaction (:meth:`Cache.store_many` does the same for a batch: one fsync per directory and
one transaction for all). :meth:`Cache.open` repairs whatever a crash left (see reconcile).
"""

from __future__ import annotations

import logging
import os
from app.db import errors as db_errors
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Union

import sqlite_utils

from app.clock import utc_iso as utc_now
from app.config import open_private, private_dir
from app.crypto import KeyMissingError
from app.db.connection import disk_full, is_read_only
from app.store import queries, schema
from app.store.batch import Entry, Plan, execute, plan_entry, plan_quarantine
from app.store.files import OBJECTS, QUARANTINE, TMP, fsync_dir
from app.store.lifecycle import CacheLock, delete_study_rows_and_files, open_database
from app.store.models import (
    InstanceRecord,
    QuarantineRecord,
    ReconcileReport,
    SeriesSummary,
    StoreResult,
    StudySummary,
)
from app.store.prepare import Rejected, prepare
from app.store.staging import discard
from app.tasks import ProgressFn

log = logging.getLogger(__name__)
CLEAN_MARKER = "clean-shutdown"
MAX_OBJECT_BYTES = 4 * 1024**3 + 64 * 1024**2  # declared pixels are capped at 4 GiB
# (data, source_node) or (data, source_node, source label)
StoreItem = Union[tuple[bytes, "str | None"], tuple[bytes, "str | None", "str | None"]]


def read_input(path: Path) -> bytes | StoreResult:
    """The bytes of a file to store, or a ``"rejected"`` result (too large, unreadable). A file of an
    unlocked encrypted data folder (a signed report of ours) is decrypted; any other is read as it is."""
    from app.crypto import DecryptError, keys_for, read_stored

    try:
        if Path(path).stat().st_size > MAX_OBJECT_BYTES:
            return StoreResult("rejected", f"file larger than {MAX_OBJECT_BYTES} bytes")
        return read_stored(path) if keys_for(path) is not None else Path(path).read_bytes()
    except OSError as exc:
        return StoreResult("rejected", f"cannot read file: {exc.strerror or exc}")
    except (DecryptError, KeyMissingError) as exc:
        return StoreResult("rejected", str(exc))


def _checkpoint_and_close(db: sqlite_utils.Database) -> bool:
    """Checkpoint the WAL into the index and close it; False if the disk refused (data kept in the WAL)."""
    try:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return True
    except db_errors.OperationalError as exc:  # full disk, read-only fallback: the WAL stays as it is
        log.warning("cache index not checkpointed at close: %s", exc)
        return False
    finally:
        db.close()


def _write_marker(marker: Path) -> None:
    try:
        with os.fdopen(open_private(marker, os.O_WRONLY | os.O_TRUNC), "wb") as fh:
            fh.write(utc_now().encode())
            os.fsync(fh.fileno())
        fsync_dir(marker.parent)
    except OSError as exc:  # no marker: the next open checks every file, as after a crash
        log.info("clean-shutdown marker not written: %s", exc)
        marker.unlink(missing_ok=True)


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
        self.staging_folders: set[Path] = set()  # in use by import workers (app.store.staging): kept by check

    # -- life cycle -------------------------------------------------------------------------
    @classmethod
    def open(cls, root: Path, *, check: bool = False) -> Cache:
        """Create/open the cache at ``root``: lock, migrate, reconcile (see ``reconcile_report``).

        After a clean shutdown the store is not walked (files and index agreed when it closed); after an
        unclean one, or with ``check``, every file is compared with the index (:meth:`check`)."""
        from app.store.reconcile import reconcile

        root = Path(root).expanduser().resolve()
        if root.is_dir() and any(root.iterdir()) and not (root / OBJECTS).is_dir():
            raise NotACacheError(f"{root} is not empty and is not a study cache")
        for sub in ("", OBJECTS, QUARANTINE, TMP):
            private_dir(root / sub)
        lock = CacheLock.acquire(root)
        try:
            marker = root / CLEAN_MARKER
            had_marker = marker.exists()
            unclean = (root / "cache.sqlite").exists() and not had_marker
            marker.unlink(missing_ok=True)
            fsync_dir(root)
            full = disk_full(root)
            try:
                db, report = open_database(root, check=(unclean or check) and not full)
            except KeyMissingError:
                if had_marker:  # locked, not crashed: the next open needs no walk
                    _write_marker(marker)
                raise
            report.unclean_shutdown = unclean
            cache = cls(root, db, lock)
            if full or is_read_only(db):  # nothing can be repaired on a full disk: read as it is
                log.warning("the disk holding %s is full: the cache is read as it is, not checked", root)
                cache.reconcile_report = report
            else:
                cache.reconcile_report = reconcile(cache, report, full=unclean or check or report.database_rebuilt)
        except BaseException:
            lock.release()
            raise
        return cache

    def check(self, *, progress: "ProgressFn | None" = None,
              cancel: "threading.Event | None" = None) -> ReconcileReport:
        """Compare every stored file with the index and repair (``telerad check``): orphans adopted or
        quarantined, missing files marked, temp files removed. Cancellable between files."""
        from app.store.reconcile import reconcile

        with self._lock:
            report = ReconcileReport(integrity=schema.integrity(self.db))
            self.reconcile_report = reconcile(self, report, full=True, progress=progress, cancel=cancel)
            return self.reconcile_report

    def close(self) -> None:
        """Checkpoint, close the index and write the clean-shutdown marker. Idempotent.

        On a full disk the checkpoint and the marker may fail: the index stays consistent (its WAL is
        kept), the lock is released, and the next open walks the store as after a crash."""
        with self._lock:
            if self._db is None:
                return
            db, self._db = self._db, None
            try:
                clean = _checkpoint_and_close(db)
                if clean:
                    _write_marker(self.root / CLEAN_MARKER)
            finally:
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
        data = read_input(path)
        if isinstance(data, StoreResult):
            return data
        return self.store_bytes(data, source_node, source=str(path))

    def store_bytes(self, data: bytes, source_node: str | None = None, *, source: str | None = None) -> StoreResult:
        """Validate and store one object (thread-safe). ``source`` is a label kept as data."""
        return self.store_many([(data, source_node)], source=source)[0]

    def store_many(self, items: Iterable[StoreItem], *, source: str | None = None) -> list[StoreResult]:
        """Group commit: store ``(data, source_node)`` items (or ``(data, source_node, source)`` to give
        one its own label) with ``store_bytes``'s per-item rules (duplicate, conflict -> quarantine,
        rejection). Each file is fsync'd and renamed, each touched directory fsync'd once, then ONE
        transaction: results are returned only when all of them are durable. Thread-safe."""
        entries: list[Entry | StoreResult] = []
        for item in items:
            label = item[2] if len(item) > 2 else source  # type: ignore[misc]
            try:
                entries.append((prepare(item[0]), item[1], label))
            except Rejected as exc:
                entries.append(StoreResult("rejected", exc.reason, skip=exc.skip))
        return self.store_prepared(entries)

    def store_prepared(self, entries: list[Entry | StoreResult]) -> list[StoreResult]:
        """:meth:`store_many` for objects already prepared, some perhaps staged by import workers
        (app.store.staging): their temp files are moved into place, or removed. Results (a
        ``StoreResult`` entry is passed through) are returned when all are durable."""
        try:
            with self._lock:
                db, now, plan = self.db, utc_now(), Plan()
                results = [e if isinstance(e, StoreResult) else plan_entry(db, self.root, plan, e, now)
                           for e in entries]
                execute(db, self.root, plan, now)
        finally:
            discard(entries)
        log.debug("stored a batch of %d objects", len(results))
        return results

    def quarantine_bytes(self, data: bytes, reason: str, source_node: str | None = None, *,
                         source: str | None = None) -> StoreResult:
        """Keep a valid object aside (e.g. an unsolicited C-STORE): durable file under ``quarantine/`` and
        a quarantine row, never a study/series/instance row. Status ``"quarantined"``, or ``"rejected"``
        (with the reason) when ``data`` is not a usable instance, like :meth:`store_bytes`."""
        try:
            p = prepare(data)
        except Rejected as exc:
            return StoreResult("rejected", exc.reason, skip=exc.skip)
        with self._lock:
            db, now, plan = self.db, utc_now(), Plan()
            plan_quarantine(db, self.root, plan, p, reason, source_node, source, now)
            execute(db, self.root, plan, now)
        log.info("quarantined instance %s: %s", p.header.sop_instance_uid, reason)
        return StoreResult("quarantined", reason, p.header.sop_instance_uid, p.header.study_instance_uid,
                           patient_id=p.header.patient_id)

    # -- study flags ------------------------------------------------------------------------
    def mark_study_incomplete(self, study_uid: str, expected: int | None, reason: str) -> bool:
        """Flag a study ``"incomplete"`` (a retrieve ended short); False if the study is not cached."""
        with self._lock, self.db.atomic():
            cursor = self.db.execute(
                "UPDATE studies SET incomplete = 1, expected_instances = ?, incomplete_reason = ?"
                " WHERE study_uid = ? AND deleting = 0", [expected, reason, study_uid])
            return cursor.rowcount > 0

    def clear_study_incomplete(self, study_uid: str) -> bool:
        """Remove the ``"incomplete"`` flag; False if the study is not cached."""
        with self._lock, self.db.atomic():
            cursor = self.db.execute(
                "UPDATE studies SET incomplete = 0, expected_instances = NULL, incomplete_reason = ''"
                " WHERE study_uid = ? AND deleting = 0", [study_uid])
            return cursor.rowcount > 0

    # -- queries ----------------------------------------------------------------------------
    def list_studies(self) -> list[StudySummary]:
        """All studies, newest first."""
        with self._lock:
            return queries.list_studies(self.db)

    def version(self) -> tuple[int, int]:
        """Changes when the index may have (another connection committed, or this one wrote): equal stamps
        mean an equal :meth:`list_studies`."""
        with self._lock:
            return queries.db_version(self.db)

    def study_listing(self, previous: "queries.StudyListing | None" = None) -> "queries.StudyListing":
        """:meth:`list_studies` that re-reads only the studies changed since ``previous`` (a listing from
        this cache): the worklist's refresh at 100,000 studies."""
        with self._lock:
            return queries.study_listing(self.db, previous)

    def study_json(self) -> list[str] | None:
        """Every study's JSON object text (``telerad studies --json``), or None (see app.store.study_json)."""
        from app.store.study_json import study_json_texts

        with self._lock:
            return study_json_texts(self.db)

    def study_rows(self) -> list[tuple]:
        """Field values of every study's :class:`StudySummary`, newest first (no object per study)."""
        with self._lock:
            return queries.study_rows(self.db)

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

    def instance_uids(self, study_uid: str) -> set[str]:
        """SOP Instance UIDs of a study whose files are present (empty if the study is unknown)."""
        with self._lock:
            return queries.instance_uids(self.db, study_uid)

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
