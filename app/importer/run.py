"""Import files, folders, ZIP archives and DICOMDIR media into the study cache."""

from __future__ import annotations

import logging
import threading
import time
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from app.importer.sources import Item, ZipLimits, collect
from app.importer.summary import ImportCancelled, ImportSummary
from app.store import Cache, StoreResult, read_input
from app.tasks import Cancelled, ProgressFn, check_cancel, report

if TYPE_CHECKING:
    from app.audit import AuditLog

log = logging.getLogger(__name__)
BATCH_SIZE = 128  # inputs per group commit (one syncfs pair per batch)
BATCH_BYTES = 256 * 1024**2  # ... or fewer, when they hold this much data


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


def _read_item(item: Item, archives: dict[Path, zipfile.ZipFile], limits: ZipLimits) -> bytes | StoreResult:
    """The bytes of one input, or a "rejected" result."""
    try:
        if item.member is None:
            return read_input(item.path)
        return _read_member(archives, item, limits)
    except (OSError, ValueError, zipfile.BadZipFile, RuntimeError) as exc:
        log.warning("import of one input failed: %s", exc)
        return StoreResult("rejected", f"read/store error: {exc}")


def _store_one(cache: Cache, data: bytes, source_node: str | None, label: str) -> StoreResult:
    try:
        return cache.store_bytes(data, source_node, source=label)
    except (OSError, ValueError, RuntimeError) as exc:
        log.warning("import of one input failed: %s", exc)
        return StoreResult("rejected", f"read/store error: {exc}")


def _store_batch(cache: Cache, batch: list[tuple[Item, bytes | StoreResult]],
                 source_node: str | None) -> list[StoreResult]:
    """Store the readable inputs with one group commit (one by one if the batch as a whole fails)."""
    readable = [(item, data) for item, data in batch if isinstance(data, bytes)]
    try:
        stored = cache.store_many([(data, source_node, item.label) for item, data in readable])
    except (OSError, ValueError, RuntimeError) as exc:
        log.warning("batch store failed (%s); storing its inputs one by one", exc)
        stored = [_store_one(cache, data, source_node, item.label) for item, data in readable]
    results = iter(stored)
    return [data if isinstance(data, StoreResult) else next(results) for _item, data in batch]


def _run_batches(cache: Cache, items: Sequence[Item], summary: ImportSummary,
                 archives: dict[Path, zipfile.ZipFile], limits: ZipLimits, source_node: str | None,
                 batch_size: int, on_read: Callable[[int, str], None], cancel: threading.Event | None) -> None:
    """Read inputs into batches and store each; a cancel stops reading, stores the batch, then raises."""
    batch: list[tuple[Item, bytes | StoreResult]] = []
    pending_bytes = 0
    try:
        for item in items:
            check_cancel(cancel)
            data = _read_item(item, archives, limits)
            batch.append((item, data))
            pending_bytes += len(data) if isinstance(data, bytes) else 0
            on_read(summary.seen + len(batch), item.label)
            if len(batch) >= batch_size or pending_bytes >= BATCH_BYTES:
                _flush(cache, batch, summary, source_node)
                pending_bytes = 0
    finally:
        _flush(cache, batch, summary, source_node)


def _flush(cache: Cache, batch: list[tuple[Item, bytes | StoreResult]], summary: ImportSummary,
           source_node: str | None) -> None:
    for (item, _data), result in zip(batch, _store_batch(cache, batch, source_node)):
        summary.add(item.label, result)
    batch.clear()


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
    batch_size: int = BATCH_SIZE,
) -> ImportSummary:
    """Import everything under ``paths``; raise :class:`ImportCancelled` (a ``Cancelled``) if cancelled.

    Inputs are stored ``batch_size`` at a time with one group commit (:meth:`Cache.store_many`);
    progress is reported per input as it is read. On cancel, the inputs already read are stored
    (the batch is finished) and nothing more is read. With ``audit``, one DICOM "Import"
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
        _run_batches(cache, work.items, summary, archives, limits, source_node, batch_size,
                     lambda done, label: report(progress, done, total, label), cancel)
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
