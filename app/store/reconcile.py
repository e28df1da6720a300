"""Start-up repair: make files and index agree again after a crash or manual tampering."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from app.crypto import DecryptError, read_stored
from app.store.files import OBJECTS, QUARANTINE, TMP, fsync_dir, legacy_object_relpath, object_relpath, quarantine_relpath
from app.store.index import index_instance, purge_empty
from app.store.lifecycle import delete_study_rows_and_files
from app.store.models import ReconcileReport
from app.store.prepare import Rejected, prepare
from app.tasks import ProgressFn, check_cancel
from app.tasks import report as reportp

if TYPE_CHECKING:
    from app.store.cache import Cache

log = logging.getLogger(__name__)


def _remove_tree(folder: Path) -> None:
    """rmtree, again if a file appeared meanwhile (an import worker of a killed process finishing its task
    writes into its staging folder until the folder is gone; then it cannot)."""
    for _ in range(4):
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            return
    shutil.rmtree(folder)  # still there: raise the real error


def _clear_tmp(root: Path, keep: set[Path]) -> int:
    removed = 0
    for entry in (root / TMP).iterdir():
        if entry in keep:  # a staging folder in use (app.store.staging)
            continue
        if entry.is_dir() and not entry.is_symlink():
            _remove_tree(entry)
        else:
            entry.unlink()
        removed += 1
    if removed:
        fsync_dir(root / TMP)
    return removed


def _files_under(root: Path, sub: str) -> dict[str, Path]:
    found = {}
    for dirpath, _dirs, names in os.walk(root / sub):
        for name in names:
            path = Path(dirpath) / name
            found[path.relative_to(root).as_posix()] = path
    return found


def _content_sha256(path: Path) -> str:
    """SHA-256 of a stored file's plaintext (of its bytes as they are when it does not decrypt: damaged)."""
    try:
        data = read_stored(path)
    except DecryptError:
        data = path.read_bytes()
    return hashlib.sha256(data).hexdigest()


def _to_quarantine(cache: Cache, path: Path, reason: str, sha: str | None = None) -> None:
    sha = sha or _content_sha256(path)
    rel = quarantine_relpath(sha)
    dest = cache.root / rel
    os.replace(path, dest)
    fsync_dir(dest.parent)
    fsync_dir(path.parent)
    with cache.db.atomic():
        cache.db.execute(
            "INSERT OR IGNORE INTO quarantine (path, sha256, reason, source, time) VALUES (?, ?, ?, ?, ?)",
            [rel.as_posix(), sha, reason, "cache reconcile", _now()],
        )


def _now() -> str:
    from app.store.cache import utc_now

    return utc_now()


def _adopt_orphan(cache: Cache, rel: str, path: Path) -> bool:
    """Index a file that has no row; True if indexed, False if it went to quarantine."""
    try:  # KeyMissingError (encrypted, locked) goes up: nothing is quarantined for want of a key
        data = read_stored(path)
    except DecryptError as exc:
        _to_quarantine(cache, path, f"orphan file in store: {exc}")
        return False
    try:
        prepared = prepare(data)
        h = prepared.header
        if rel not in (object_relpath(h.sop_instance_uid, h.study_instance_uid).as_posix(),
                       legacy_object_relpath(h.sop_instance_uid).as_posix()):
            raise Rejected("file name does not match its SOP Instance UID")
        if prepared.content != data:
            raise Rejected("file is not in canonical form")
    except Rejected as exc:
        _to_quarantine(cache, path, f"orphan file in store: {exc.reason}", hashlib.sha256(data).hexdigest())
        return False
    with cache.db.atomic():
        index_instance(cache.db, prepared.header, path=rel, size=len(prepared.content),
                       sha256=prepared.sha256, source_node=None, now=_now())
    return True


def _reconcile_objects(cache: Cache, report: ReconcileReport, progress: ProgressFn | None,
                       cancel: threading.Event | None) -> None:
    db = cache.db
    rows = {r[0]: r[1] for r in db.execute("SELECT path, state FROM instances")}
    on_disk = _files_under(cache.root, OBJECTS)
    for i, (rel, path) in enumerate(sorted(on_disk.items())):
        if i % 500 == 0:
            check_cancel(cancel)
            reportp(progress, i, len(on_disk), "checking stored files")
        report.walked += 1
        if rel in rows:
            if rows[rel] == "missing":
                db.execute("UPDATE instances SET state = 'ok' WHERE path = ?", [rel])
                report.restored += 1
        elif _adopt_orphan(cache, rel, path):
            report.reindexed += 1
        else:
            report.quarantined += 1
    for rel, state in rows.items():
        if rel not in on_disk and state == "ok":
            db.execute("UPDATE instances SET state = 'missing' WHERE path = ?", [rel])
            report.marked_missing += 1


def _reconcile_quarantine(cache: Cache, report: ReconcileReport) -> None:
    db = cache.db
    rows = {r[0] for r in db.execute("SELECT path FROM quarantine")}
    on_disk = _files_under(cache.root, QUARANTINE)
    for rel in rows - on_disk.keys():
        db.execute("DELETE FROM quarantine WHERE path = ?", [rel])
        report.quarantine_rows_dropped += 1
    for rel in sorted(on_disk.keys() - rows):
        sha = _content_sha256(on_disk[rel])
        db.execute(
            "INSERT INTO quarantine (path, sha256, reason, source, time) VALUES (?, ?, ?, ?, ?)",
            [rel, sha, "found in quarantine without a record", "cache reconcile", _now()],
        )
        report.quarantine_rows_added += 1


def reconcile(cache: Cache, report: ReconcileReport, *, full: bool = True, progress: ProgressFn | None = None,
              cancel: threading.Event | None = None) -> ReconcileReport:
    """Remove temp files and finish deletions; with ``full`` (after a crash, or on demand) also walk the
    store: adopt or quarantine orphans, mark missing files, sync the quarantine records."""
    with cache.lock:
        report.temp_removed = _clear_tmp(cache.root, cache.staging_folders)
        for (study_ref,) in cache.db.execute("SELECT id FROM studies WHERE deleting = 1").fetchall():
            delete_study_rows_and_files(cache.db, cache.root, int(study_ref))
            report.deletions_finished += 1
        if full:
            _reconcile_objects(cache, report, progress, cancel)
            _reconcile_quarantine(cache, report)
            with cache.db.atomic():
                report.empty_removed = purge_empty(cache.db)
    if report.repaired_anything:
        log.warning("cache reconcile repaired the store: %s", report)
    return report
