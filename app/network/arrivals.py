"""Progressive availability of a retrieve (Qt-free): which instances are in, which are still coming, MB/s, time left.

A :class:`Arrivals` is handed to a retrieve; the viewer polls it (:meth:`snapshot`) or subscribes (called from the
transfer's threads: hop to the GUI thread yourself). The worklist shows ``snapshot().label`` ("142 of 300").
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Snapshot:
    """A consistent view of a retrieve in progress."""

    received: int
    expected: int | None
    bytes: int
    elapsed: float
    waiting: bool  # the link is down: retrying with backoff
    done: bool

    @property
    def mb_per_s(self) -> float:
        return self.bytes / 1e6 / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def seconds_left(self) -> float | None:
        if not self.expected or not self.received or self.done:
            return None
        rate = self.received / self.elapsed if self.elapsed > 0 else 0.0
        return max(0.0, (self.expected - self.received) / rate) if rate else None

    @property
    def label(self) -> str:
        """``"142 of 300"`` (or ``"142"`` while the total is unknown)."""
        return f"{self.received} of {self.expected}" if self.expected is not None else str(self.received)

    def message(self) -> str:
        """A progress line: ``"142 of 300 instances, 4.1 MB/s, 12 s left"``."""
        text = f"{self.label} instances, {self.mb_per_s:.1f} MB/s"
        left = self.seconds_left
        if self.waiting:
            text += ", link down: retrying"
        elif left is not None:
            text += f", {left:.0f} s left"
        return text


class Arrivals:
    """Thread-safe record of a retrieve's plan (reader order) and of what has arrived."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._order: list[str] = []
        self._series: dict[str, str] = {}
        self._numbers: dict[str, int | None] = {}
        self._arrived: set[str] = set()
        self._expected: int | None = None
        self._bytes = 0
        self._start = time.monotonic()
        self._waiting = self._done = False
        self._listeners: list[Callable[[str, Snapshot], None]] = []

    # -- written by the retrieve -----------------------------------------------------------------
    def plan(self, order: Sequence[tuple[str, str]], already: Sequence[str] = (),
             numbers: Mapping[str, int | None] | None = None) -> None:
        """The fetch order as (series UID, SOP Instance UID); ``already`` = instances cached before;
        ``numbers`` = instance numbers (SOP UID -> number), where the viewer places a slice still coming."""
        with self._lock:
            self._order = [sop for _, sop in order]
            self._series = {sop: series for series, sop in order}
            self._numbers = dict(numbers or {})
            self._arrived |= set(already)
            self._expected = len(set(self._order) | self._arrived)
            self._lock.notify_all()

    def set_expected(self, count: int | None) -> None:
        with self._lock:
            if count is not None and self._expected is None:
                self._expected = count

    def arrived(self, sop_uid: str, size: int = 0) -> None:
        with self._lock:
            self._arrived.add(sop_uid)
            self._bytes += size
            self._lock.notify_all()
        self._emit(sop_uid)

    def set_waiting(self, waiting: bool) -> None:
        with self._lock:
            self._waiting = waiting
        self._emit("")

    def finish(self) -> None:
        with self._lock:
            self._done = True
            self._lock.notify_all()
        self._emit("")

    # -- read by the viewer / worklist -----------------------------------------------------------
    def subscribe(self, listener: Callable[[str, Snapshot], None]) -> None:
        """``listener(sop_uid, snapshot)`` after each arrival ("" for a state change), from a transfer thread."""
        self._listeners.append(listener)

    def snapshot(self) -> Snapshot:
        with self._lock:
            return Snapshot(len(self._arrived), self._expected, self._bytes, time.monotonic() - self._start,
                            self._waiting, self._done)

    def order(self) -> list[str]:
        with self._lock:
            return list(self._order)

    def first(self) -> str | None:
        """The instance the viewer opens on (first in the plan)."""
        with self._lock:
            return self._order[0] if self._order else None

    def has(self, sop_uid: str) -> bool:
        with self._lock:
            return sop_uid in self._arrived

    def missing(self, series_uid: str | None = None) -> list[str]:
        """Planned instances not yet in (of one series if given), in fetch order."""
        with self._lock:
            return [s for s in self._order if s not in self._arrived
                    and (series_uid is None or self._series.get(s) == series_uid)]

    def pending(self, series_uid: str) -> list[tuple[str, int | None]]:
        """(SOP UID, instance number) of the planned instances of ``series_uid`` not yet in."""
        with self._lock:
            return [(s, self._numbers.get(s)) for s in self._order
                    if s not in self._arrived and self._series.get(s) == series_uid]

    def planned_series(self) -> set[str]:
        with self._lock:
            return set(self._series.values())

    def wait_for(self, sop_uid: str | None = None, timeout: float | None = None) -> bool:
        """Block until ``sop_uid`` (default: the opening instance) is in; False on timeout or when it ended without it."""
        end = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while True:
                uid = sop_uid or (self._order[0] if self._order else None)
                if uid is not None and uid in self._arrived:
                    return True
                left = None if end is None else end - time.monotonic()
                if self._done or (left is not None and left <= 0):
                    return False
                self._lock.wait(left)

    def _emit(self, sop_uid: str) -> None:
        snap = self.snapshot()
        for listener in list(self._listeners):
            try:
                listener(sop_uid, snap)
            except Exception:  # a listener must not break a transfer
                LOG.exception("arrivals listener failed")
