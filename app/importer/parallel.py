"""Inputs read on all cores: local files go to the shared worker pool (app.dicom.volume.get_pool), which
reads, validates and stages each one's canonical file (app.store.staging); ZIP members are read here.
Results come back in input order; the caller stores them in batches (one sync and one commit each)."""

from __future__ import annotations

import logging
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, wait
from pathlib import Path

from app.importer.sources import Item
from app.store import StoreResult
from app.store.prepare import Prepared
from app.store.staging import discard, stage_files, stage_one
from app.tasks import check_cancel

log = logging.getLogger(__name__)
POOL_MIN = 32  # fewer local files are read in this process (handing them out costs more than it saves)
CHUNK = 8  # files per worker task
AHEAD = 8  # tasks queued per worker (the writer syncs a batch meanwhile)

ReadFn = Callable[[Item], "bytes | StoreResult"]


def worth_it(items: Sequence[Item]) -> bool:
    """Whether the worker pool pays for itself: several cores and enough local files."""
    return (os.cpu_count() or 1) > 1 and sum(item.member is None for item in items) >= POOL_MIN


def _tasks(items: Sequence[Item]) -> Iterator[list[Item]]:
    """Consecutive local files in chunks of :data:`CHUNK`; each ZIP member alone (read here)."""
    chunk: list[Item] = []
    for item in items:
        if item.member is not None:
            if chunk:
                yield chunk
                chunk = []
            yield [item]
        else:
            chunk.append(item)
            if len(chunk) == CHUNK:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


class PooledInputs:
    """Iterate ``(item, input)`` in order; :meth:`close` cancels what is queued and waits for what runs."""

    def __init__(self, items: Sequence[Item], root: Path, folder: Path, read: ReadFn,
                 cancel: threading.Event | None) -> None:
        from app.crypto.registry import snapshot
        from app.dicom.volume import get_pool

        self._tasks, self._read, self._cancel = _tasks(items), read, cancel
        self._root, self._folder, self._keys = root, folder, snapshot() or None
        self._pool = get_pool()
        self._queue: deque[tuple[list[Item], Future | None]] = deque()
        self._limit = AHEAD * max(1, os.cpu_count() or 1)
        self._broken = False

    def _fill(self) -> None:
        while len(self._queue) < self._limit:
            chunk = next(self._tasks, None)
            if chunk is None:
                return
            local = chunk[0].member is None and not self._broken
            future = self._pool.submit(stage_files, str(self._root), str(self._folder),
                                       [str(item.path) for item in chunk], self._keys) if local else None
            self._queue.append((chunk, future))

    def _result(self, chunk: list[Item], future: Future | None) -> list[bytes | Prepared | StoreResult]:
        if future is None:
            return [self._here(item) for item in chunk]
        while not future.done():
            check_cancel(self._cancel)
            wait([future], timeout=0.05)
        try:
            return future.result()
        except Exception as exc:  # a worker died (BrokenProcessPool) or failed: read these here
            log.warning("import worker failed (%s: %s); reading its files in this process", type(exc).__name__, exc)
            self._broken = True
            return [self._here(item) for item in chunk]

    def _here(self, item: Item) -> bytes | Prepared | StoreResult:
        if item.member is not None:
            return self._read(item)
        return stage_one(self._root, self._folder, item.path)

    def __iter__(self) -> Iterator[tuple[Item, bytes | Prepared | StoreResult]]:
        self._fill()
        while self._queue:
            chunk, future = self._queue.popleft()
            results = self._result(chunk, future)
            self._fill()
            for pair in zip(chunk, results):
                check_cancel(self._cancel)
                yield pair

    def close(self) -> None:
        """Cancel queued tasks, wait for running ones, remove the temp files no one will store."""
        futures = [f for _chunk, f in self._queue if f is not None]
        for future in futures:
            future.cancel()
        wait(futures)
        for future in futures:
            if not future.cancelled() and future.exception() is None:
                discard(future.result())
        self._queue.clear()
        if self._broken:
            from app.dicom.volume import shutdown_pool

            shutdown_pool()  # the next user gets a fresh pool
