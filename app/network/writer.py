"""A background writer for instances of a retrieve WE asked for (C-GET, C-MOVE, WADO-RS).

The network thread checks each instance (UIDs), hands its bytes to :meth:`BackgroundStore.submit`
and goes on answering the peer while this thread makes them durable, in group commits when the
store callback offers ``many`` (``cache_sink`` does: ``Cache.store_many``).

Trade-off: for these sub-operations the peer hears
"success" once the bytes are queued, before they are durable. Correctness is kept because the
retrieve that asked for them waits for :meth:`close` (every queued instance written or failed)
before it reports; a failure (store error, rejection) counts in ``failed`` and leaves the SOP
Instance UID out of ``received``, so the retrieve is *incomplete* and the next retrieve fetches
exactly the missing instances. Unsolicited stores never come here: the SCP answers them only
after they are durable. The queue is bounded (bytes), so a slow disk slows the peer down
instead of filling memory.

With a ``spool`` (our C-MOVE: :mod:`app.network.spool`) :meth:`BackgroundStore.submit` first writes the
bytes durably there, so "success" is only answered for durable instances; the store callback's ``many``
then gets ``(data, meta, spooled path)`` items (and may move the file into place), and the spooled
file is removed once the instance's final outcome is known.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from app.network.received import ReceivedMeta, StoreCallback, StoreOutcome

if TYPE_CHECKING:
    from app.network.spool import Spool

LOG = logging.getLogger(__name__)

MAX_QUEUED_BYTES = 64 * 1024 * 1024
MAX_BATCH = 32
LINGER = 0.1  # s a spooled batch may wait to fill up: the index follows the acknowledgements by about this
QUEUED = StoreOutcome("queued")

# many(items) -> one outcome per item, all durable when it returns (a group commit); items are
# (data, meta), or (data, meta, spooled path) with a spool
BatchCallback = Callable[[Sequence[Any]], "list[StoreOutcome]"]
Item = tuple[bytes, ReceivedMeta, "Path | None"]
# done(meta, outcome): the final outcome of one instance ("rejected" with a reason on errors)
DoneCallback = Callable[[ReceivedMeta, StoreOutcome], None]


def tally(outcomes: Counter, received: set[str], meta: ReceivedMeta, outcome: StoreOutcome) -> None:
    """Count one final outcome; every one but ``rejected`` is a received instance."""
    outcomes[outcome.status] += 1
    if outcome.status != "rejected":
        received.add(meta.sop_instance_uid)


def stored_count(outcomes: Counter) -> int:
    """Instances now in the cache from ``outcomes`` (new, already there, or kept aside as a conflict)."""
    return sum(outcomes[k] for k in ("imported", "duplicate", "quarantined"))


class BackgroundStore:
    """One writer thread fed through a bounded queue; :meth:`close` drains it."""

    def __init__(self, on_stored: StoreCallback, done: DoneCallback, *, max_bytes: int = MAX_QUEUED_BYTES,
                 max_batch: int = MAX_BATCH, name: str = "telerad-writer", spool: "Spool | None" = None) -> None:
        self._on_stored = on_stored
        self._many: BatchCallback | None = getattr(on_stored, "many", None)
        self._done = done
        self._spool = spool
        self._max_bytes, self._max_batch = max_bytes, max_batch
        self._items: deque[Item] = deque()
        self._queued = 0
        self._closing = False
        self._cond = threading.Condition()
        self.failed = 0  # instances that did not become durable (errors and rejections)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, data: bytes, meta: ReceivedMeta) -> StoreOutcome:
        """Queue one checked instance (blocks while the queue is full); returns ``"queued"``, with a spool
        once the bytes are durable there (OSError if they cannot be written)."""
        with self._cond:
            while self._queued and self._queued + len(data) > self._max_bytes and not self._closing:
                self._cond.wait()
            if self._closing:
                raise RuntimeError("the writer is closed")
        spooled = self._spool.put(data) if self._spool is not None else None
        with self._cond:
            if self._closing:  # closed while spooling: nothing will store it, so it was not received
                if spooled is not None:
                    spooled.unlink(missing_ok=True)
                raise RuntimeError("the writer is closed")
            self._items.append((data, meta, spooled))
            self._queued += len(data)
            self._cond.notify_all()
        return QUEUED

    def close(self, timeout: float | None = None) -> None:
        """Write everything queued, then stop the thread (idempotent)."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout)

    def __enter__(self) -> "BackgroundStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the writer thread ---------------------------------------------------------------------
    def _take(self) -> list[Item]:
        with self._cond:
            while not self._items and not self._closing:
                self._cond.wait()
            if self._spool is not None:  # already durable: wait for a fuller batch (fewer commits and syncs)
                end = time.monotonic() + LINGER
                while len(self._items) < self._max_batch and not self._closing and time.monotonic() < end:
                    self._cond.wait(max(0.0, end - time.monotonic()))
            batch = [self._items.popleft() for _ in range(min(len(self._items), self._max_batch))]
        return batch

    def _run(self) -> None:
        while True:
            batch = self._take()
            if not batch:
                return  # closing and drained
            for (_, meta, spooled), outcome in zip(batch, self._store(batch)):
                if spooled is not None:
                    spooled.unlink(missing_ok=True)  # stored (perhaps moved into place) or failed
                if outcome.status == "rejected":
                    self.failed += 1
                try:
                    self._done(meta, outcome)
                except Exception:
                    LOG.exception("writer completion callback failed")
            with self._cond:
                self._queued -= sum(len(d) for d, _, _ in batch)
                self._cond.notify_all()

    def _store(self, batch: list[Item]) -> list[StoreOutcome]:
        if self._many is not None and (len(batch) > 1 or self._spool is not None):
            items = batch if self._spool is not None else [(data, meta) for data, meta, _ in batch]
            try:
                outcomes = self._many(items)
                if len(outcomes) == len(batch):
                    return outcomes
            except Exception:  # retry one by one: one bad instance must not fail the others
                LOG.warning("group store of %d instances failed; storing one by one", len(batch), exc_info=True)
        return [self._store_one(data, meta) for data, meta, _ in batch]

    def _store_one(self, data: bytes, meta: ReceivedMeta) -> StoreOutcome:
        try:
            outcome = self._on_stored(data, meta)
        except Exception as exc:
            LOG.exception("storing instance %s failed", meta.sop_instance_uid)
            return StoreOutcome("rejected", f"could not store the instance: {type(exc).__name__}")
        return outcome if outcome.status != "queued" else StoreOutcome("rejected", "callback did not store")
