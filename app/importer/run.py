"""Import files, folders, ZIP archives and DICOMDIR media into the study cache."""

from __future__ import annotations

import logging
import threading
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from app.importer.sources import Item, ZipLimits, collect
from app.importer.summary import ImportCancelled, ImportSummary
from app.store import Cache, StoreResult, read_input
from app.store.prepare import Prepared, Rejected, prepare
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




def _entry(data: bytes | Prepared | StoreResult, source_node: str | None, label: str):  # type: ignore[no-untyped-def]
    if isinstance(data, StoreResult):
        return data
    if isinstance(data, Prepared):
        return data, source_node, label
    try:
        return prepare(data), source_node, label
    except Rejected as exc:
        return StoreResult("rejected", exc.reason, skip=exc.skip)


def _store_batch(cache: Cache, batch: list[tuple[Item, bytes | Prepared | StoreResult]], source_node: str | None,
                 reread: Callable[[Item], bytes | StoreResult]) -> list[StoreResult]:
    """Store the inputs with one group commit (one by one if the batch as a whole fails)."""
    try:
        return cache.store_prepared([_entry(data, source_node, item.label) for item, data in batch])
    except (OSError, ValueError, RuntimeError) as exc:
        log.warning("batch store failed (%s); storing its inputs one by one", exc)
    results = []
    for item, data in batch:
        data = reread(item) if isinstance(data, Prepared) else data  # its staged file is gone
        results.append(data if isinstance(data, StoreResult) else _store_one(cache, data, source_node, item.label))
    return results


def _size(data: bytes | Prepared | StoreResult) -> int:
    return len(data) if isinstance(data, bytes) else data.size if isinstance(data, Prepared) else 0


def _run_batches(cache: Cache, inputs: Iterable[tuple[Item, bytes | Prepared | StoreResult]],
                 summary: ImportSummary, source_node: str | None, batch_size: int,
                 on_read: Callable[[int, str], None],
                 reread: Callable[[Item], bytes | StoreResult]) -> None:
    """Store inputs in batches as they are read; a cancel stops reading, stores the batch, then raises."""
    batch: list[tuple[Item, bytes | Prepared | StoreResult]] = []
    pending_bytes = 0
    try:
        for item, data in inputs:  # the iterator checks ``cancel`` before each input
            batch.append((item, data))
            pending_bytes += _size(data)
            on_read(summary.seen + len(batch), item.label)
            if len(batch) >= batch_size or pending_bytes >= BATCH_BYTES:
                _flush(cache, batch, summary, source_node, reread)
                pending_bytes = 0
    finally:
        _flush(cache, batch, summary, source_node, reread)


def _inputs(items: Sequence[Item], read: Callable[[Item], bytes | StoreResult],
            cancel: threading.Event | None) -> Iterator[tuple[Item, bytes | StoreResult]]:
    for item in items:
        check_cancel(cancel)
        yield item, read(item)


def _flush(cache: Cache, batch: list[tuple[Item, bytes | Prepared | StoreResult]], summary: ImportSummary,
           source_node: str | None, reread: Callable[[Item], bytes | StoreResult]) -> None:
    for (item, _data), result in zip(batch, _store_batch(cache, batch, source_node, reread)):
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
    parallel: bool | None = None,
) -> ImportSummary:
    """Import everything under ``paths``; raise :class:`ImportCancelled` (a ``Cancelled``) if cancelled.

    Inputs are stored ``batch_size`` at a time with one group commit (:meth:`Cache.store_prepared`);
    progress is reported per input as it is read. On cancel, the inputs already read are stored
    (the batch is finished) and nothing more is read. ``parallel``: local files are read, validated
    and staged by the worker pool (app.importer.parallel); default: when there are enough of them.
    With ``audit``, one DICOM "Import" (110107) event is recorded per study that received instances
    and one for the whole run.
    """
    from app.importer.parallel import PooledInputs, worth_it
    from app.store.staging import staging_folder

    started = time.monotonic()
    summary = ImportSummary()
    archives: dict[Path, zipfile.ZipFile] = {}

    def read(item: Item) -> bytes | StoreResult:
        return _read_item(item, archives, limits)

    try:
        with ExitStack() as stack:
            work = collect(paths, limits, cancel)
            total = len(work.items) + len(work.refused)
            for label, reason in work.refused:
                summary.refuse(label, reason)
            inputs: Iterable[tuple[Item, bytes | Prepared | StoreResult]] = _inputs(work.items, read, cancel)
            if worth_it(work.items) if parallel is None else parallel:
                folder = stack.enter_context(staging_folder(cache))
                inputs = PooledInputs(work.items, cache.root, folder, read, cancel)
                stack.callback(inputs.close)
            _run_batches(cache, inputs, summary, source_node, batch_size,
                         lambda done, label: report(progress, done, total, label), read)
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
