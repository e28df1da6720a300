"""Prior prefetch: a bounded queue served most-urgent-first by background workers, per-study progress."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Callable, Iterable, Optional

from app.tasks import Cancelled, Progress, ProgressFn
from app.worklist.types import WorklistEntry

if TYPE_CHECKING:
    from app.worklist.model import Worklist

log = logging.getLogger(__name__)

# retrieve(study_uid, progress, cancel): blocking; raises Cancelled when cancel is set.
Retrieve = Callable[[str, Optional[ProgressFn], Optional[threading.Event]], Any]

QUEUED, RUNNING, DONE, FAILED, CANCELLED, DROPPED = "queued", "running", "done", "failed", "cancelled", "dropped"


@dataclass(frozen=True)
class PrefetchState:
    """Where one study's retrieval stands."""

    study_uid: str
    state: str
    for_study: str = ""
    done: int = 0
    total: int = 0
    message: str = ""
    error: str = ""


class PrefetchQueue:
    """At most ``maxsize`` queued studies; when full, a more urgent request evicts the least urgent.

    ``urgency`` is any sortable value, smaller = sooner. ``on_update(state)`` is called from the
    worker threads on every change (the Qt side forwards it through a queued signal).
    """

    def __init__(self, retrieve: Retrieve, *, maxsize: int = 32, workers: int = 1,
                 on_update: Callable[[PrefetchState], None] | None = None) -> None:
        if maxsize < 1 or workers < 1:
            raise ValueError("maxsize and workers must be >= 1")
        self.retrieve, self.maxsize, self.on_update = retrieve, maxsize, on_update
        self._cond = threading.Condition()
        self._heap: list[tuple[Any, int, str]] = []
        self._queued: dict[str, tuple[Any, int]] = {}
        self._states: dict[str, PrefetchState] = {}
        self._running: dict[str, threading.Event] = {}
        self._seq = itertools.count()
        self._stopped = False
        self._threads = [threading.Thread(target=self._work, name=f"telerad-prefetch-{i}", daemon=True)
                         for i in range(workers)]
        for t in self._threads:
            t.start()

    # -- requests ---------------------------------------------------------------------------
    def submit(self, study_uid: str, urgency: Any, for_study: str = "") -> bool:
        """Queue a retrieval (or raise the urgency of a queued one); False if refused."""
        with self._cond:
            if self._stopped or study_uid in self._running or self._state(study_uid) == DONE:
                return False
            if study_uid in self._queued:
                if urgency >= self._queued[study_uid][0]:
                    return True
            elif len(self._queued) >= self.maxsize:
                worst = max(self._queued.items(), key=lambda kv: kv[1])
                if urgency >= worst[1][0]:
                    return False
                del self._queued[worst[0]]
                self._set(PrefetchState(worst[0], DROPPED, self._states[worst[0]].for_study))
            seq = next(self._seq)
            self._queued[study_uid] = (urgency, seq)
            heapq.heappush(self._heap, (urgency, seq, study_uid))
            self._set(PrefetchState(study_uid, QUEUED, for_study))
            self._cond.notify()
            return True

    def cancel(self, study_uid: str) -> bool:
        """Remove a queued study or stop a running one; False if neither."""
        with self._cond:
            if self._queued.pop(study_uid, None) is not None:
                self._set(replace(self._states[study_uid], state=CANCELLED))
                return True
            event = self._running.get(study_uid)
            if event is not None:
                event.set()
                return True
            return False

    def cancel_all(self) -> None:
        with self._cond:
            for uid in list(self._queued) + list(self._running):
                self.cancel(uid)

    def shutdown(self, wait: bool = True) -> None:
        """Cancel everything and stop the workers."""
        with self._cond:
            self.cancel_all()
            self._stopped = True
            self._cond.notify_all()
        if wait:
            for t in self._threads:
                t.join()

    # -- state ------------------------------------------------------------------------------
    def status(self, study_uid: str) -> PrefetchState | None:
        with self._cond:
            return self._states.get(study_uid)

    def states(self) -> dict[str, PrefetchState]:
        with self._cond:
            return dict(self._states)

    def pending(self) -> list[str]:
        """Queued study UIDs in the order they will run."""
        with self._cond:
            return [uid for uid, _ in sorted(self._queued.items(), key=lambda kv: kv[1])]

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until nothing is queued or running; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queued and not self._running, timeout)

    def _state(self, uid: str) -> str:
        s = self._states.get(uid)
        return s.state if s else ""

    def _set(self, state: PrefetchState) -> None:
        self._states[state.study_uid] = state
        if self.on_update is not None:
            try:
                self.on_update(state)
            except Exception:  # a listener must not kill a worker
                log.exception("prefetch listener failed")

    # -- workers ----------------------------------------------------------------------------
    def _next(self) -> tuple[str, threading.Event] | None:
        with self._cond:
            while True:
                while self._heap:
                    urgency, seq, uid = heapq.heappop(self._heap)
                    if self._queued.get(uid) == (urgency, seq):  # skip stale heap rows
                        del self._queued[uid]
                        event = self._running[uid] = threading.Event()
                        self._set(replace(self._states[uid], state=RUNNING))
                        return uid, event
                if self._stopped:
                    return None
                self._cond.wait()

    def _work(self) -> None:
        while (job := self._next()) is not None:
            uid, event = job
            final = self._run(uid, event)
            with self._cond:
                del self._running[uid]
                self._set(final)
                self._cond.notify_all()

    def _run(self, uid: str, event: threading.Event) -> PrefetchState:
        base = self._states[uid]

        def progress(p: Progress) -> None:
            with self._cond:
                self._set(replace(base, state=RUNNING, done=p.done, total=p.total, message=p.message))

        try:
            self.retrieve(uid, progress, event)
        except Cancelled:
            return replace(self._states[uid], state=CANCELLED)
        except Exception as exc:  # reported per study, the queue goes on
            log.warning("prefetch of a study failed: %s", exc)
            return replace(self._states[uid], state=FAILED, error=str(exc))
        return replace(self._states[uid], state=DONE)


def plan_prefetch(entries: Iterable[WorklistEntry], is_local: Callable[[str], bool],
                  per_study: int = 2) -> list[tuple[Any, str, str]]:
    """(urgency, prior_uid, for_study) for the top ``per_study`` non-local priors of every study to read,
    most urgent study first."""
    ordered = sorted((e for e in entries if e.to_read), key=WorklistEntry.reading_key)
    plan: list[tuple[Any, str, str]] = []
    seen: set[str] = set()
    for position, entry in enumerate(ordered):
        for rank, prior in enumerate([p for p in entry.priors if not is_local(p)][:per_study]):
            if prior not in seen:
                seen.add(prior)
                plan.append(((position, rank), prior, entry.study_instance_uid))
    return plan


def prefetch_worklist(worklist: "Worklist", queue: PrefetchQueue, per_study: int = 2) -> int:
    """Queue the relevant remote priors of the worklist; returns how many were accepted."""
    entries = worklist.entries()
    local = {e.study_instance_uid for e in entries if e.local}
    return sum(queue.submit(uid, urgency, for_study)
               for urgency, uid, for_study in plan_prefetch(entries, local.__contains__, per_study))
