"""Import files, folders, ZIP archives and DICOMDIR media into the study cache."""

from __future__ import annotations

import logging
import threading
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from app.importer.sources import Item, ZipLimits, collect
from app.importer.summary import ImportCancelled, ImportSummary
from app.store import Cache, StoreResult
from app.tasks import Cancelled, ProgressFn, check_cancel, report

if TYPE_CHECKING:
    from app.audit import AuditLog

log = logging.getLogger(__name__)


def _read_member(archives: dict[Path, zipfile.ZipFile], item: Item, limits: ZipLimits) -> bytes:
    assert item.member is not None
    archive = archives.get(item.path)
    if archive is None:
        archive = archives[item.path] = zipfile.ZipFile(item.path)
    with archive.open(item.member) as member:  # stops at the declared size, checks the CRC
        data = member.read(limits.max_member_bytes + 1)
    if len(data) > limits.max_member_bytes:
        raise ValueError("ZIP member larger than allowed")
    return data


def _store_item(cache: Cache, item: Item, archives: dict[Path, zipfile.ZipFile],
                limits: ZipLimits, source_node: str | None) -> StoreResult:
    try:
        if item.member is None:
            return cache.store_file(item.path, source_node)
        data = _read_member(archives, item, limits)
        return cache.store_bytes(data, source_node, source=item.label)
    except (OSError, ValueError, zipfile.BadZipFile, RuntimeError) as exc:
        log.warning("import of one input failed: %s", exc)
        return StoreResult("rejected", f"read/store error: {exc}")


def import_paths(
    cache: Cache,
    paths: Sequence[Path],
    *,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    source_node: str | None = None,
    audit: AuditLog | None = None,
    user: str | None = None,
    limits: ZipLimits = ZipLimits(),
) -> ImportSummary:
    """Import everything under ``paths``; raise :class:`ImportCancelled` (a ``Cancelled``) if cancelled.

    Already-stored instances stay stored when cancelled. With ``audit``, one DICOM "Import"
    (110107) event is recorded per study that received instances and one for the whole run.
    """
    started = time.monotonic()
    summary = ImportSummary()
    archives: dict[Path, zipfile.ZipFile] = {}
    try:
        work = collect(paths, limits, cancel)
        total = len(work.items) + len(work.refused)
        for label, reason in work.refused:
            summary.refuse(label, reason)
        for item in work.items:
            check_cancel(cancel)
            summary.add(item.label, _store_item(cache, item, archives, limits, source_node))
            report(progress, summary.seen, total, item.label)
    except Cancelled:
        summary.cancelled = True
    finally:
        for archive in archives.values():
            archive.close()
        summary.seconds = time.monotonic() - started
        if audit is not None:
            from app.importer.auditing import record_import

            record_import(audit, summary, user=user, source_node=source_node)
    if summary.cancelled:
        raise ImportCancelled(summary)
    return summary
