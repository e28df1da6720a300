"""The one bridge between blocking core functions and the Qt main thread.

Core functions run in a thread pool; their progress, result and failure are delivered
on the main thread through queued signals (Anki's background-op pattern).
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Optional

from PySide6.QtCore import QObject, Signal, Slot

from app.tasks import Cancelled, Progress

log = logging.getLogger(__name__)


class TaskHandle(QObject):
    """One running task: cancel it, or listen to its signals (all delivered on the main thread)."""

    progressed = Signal(object)  # Progress
    succeeded = Signal(object)  # result
    failed = Signal(object)  # BaseException
    cancelled = Signal()
    finished = Signal()

    def __init__(self, label: str, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.label = label
        self.cancel_event = threading.Event()
        self.done = False

    def cancel(self) -> None:
        """Ask the core function to stop at its next check."""
        self.cancel_event.set()

    @Slot()
    def _mark_done(self) -> None:
        self.done = True


class TaskBridge(QObject):
    """Runs ``fn(*args, progress=..., cancel=...)`` off the main thread."""

    task_started = Signal(object)  # TaskHandle
    task_finished = Signal(object)  # TaskHandle

    def __init__(self, workers: int = 4, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="telerad-task")
        self._running: set[TaskHandle] = set()
        self._closed = False

    def submit(
        self,
        label: str,
        fn: Callable[..., Any],
        *args: Any,
        on_success: Optional[Callable[[Any], None]] = None,
        on_failure: Optional[Callable[[BaseException], None]] = None,
        on_progress: Optional[Callable[[Progress], None]] = None,
        **kwargs: Any,
    ) -> TaskHandle:
        """Start ``fn`` in the pool; callbacks run on the main thread. After :meth:`shutdown` (the window
        is closing) nothing starts: the handle comes back cancelled and done."""
        handle = TaskHandle(label, self)
        if self._closed:
            log.debug("task %s not started: the bridge is shut down", label)
            handle.cancel()
            handle.done = True
            return handle
        for signal, slot in ((handle.succeeded, on_success), (handle.failed, on_failure),
                             (handle.progressed, on_progress)):
            if slot is not None:
                signal.connect(slot)
        handle.finished.connect(handle._mark_done)
        handle.finished.connect(lambda: self._finish(handle))
        self._running.add(handle)
        self.task_started.emit(handle)
        self._pool.submit(self._run, handle, fn, args, kwargs)
        return handle

    @staticmethod
    def _run(handle: TaskHandle, fn: Callable[..., Any], args: tuple, kwargs: dict) -> None:
        try:
            result = fn(*args, progress=handle.progressed.emit, cancel=handle.cancel_event, **kwargs)
        except Cancelled:
            handle.cancelled.emit()
        except BaseException as exc:  # delivered to the UI, never lost in a thread
            log.warning("task %s failed: %s", handle.label, exc, exc_info=True)
            handle.failed.emit(exc)
        else:
            handle.succeeded.emit(result)
        handle.finished.emit()

    def _finish(self, handle: TaskHandle) -> None:
        self._running.discard(handle)
        self.task_finished.emit(handle)

    def running(self) -> list[TaskHandle]:
        """Tasks not yet finished."""
        return list(self._running)

    def shutdown(self) -> None:
        """Cancel everything and wait for the workers (called when the window closes)."""
        self._closed = True
        for handle in self._running:
            handle.cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)
