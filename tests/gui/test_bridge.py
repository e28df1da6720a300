"""The task bridge runs core functions off the main thread and reports back on it."""

from __future__ import annotations

import threading

from PySide6.QtCore import QThread

from app.tasks import Progress, check_cancel, report
from app.ui.bridge import TaskBridge


def _work(n: int, progress=None, cancel=None) -> str:  # type: ignore[no-untyped-def]
    for i in range(n):
        check_cancel(cancel)
        report(progress, i + 1, n)
        if cancel is not None:
            cancel.wait(0.01)
    return threading.current_thread().name


def test_result_and_progress_arrive_on_the_main_thread(qtbot) -> None:  # type: ignore[no-untyped-def]
    bridge = TaskBridge()
    seen: dict[str, object] = {"progress": []}
    main = QThread.currentThread()

    def on_progress(p: Progress) -> None:
        assert QThread.currentThread() is main
        seen["progress"].append(p.done)  # type: ignore[union-attr]

    def on_success(worker_name: str) -> None:
        seen["main"] = QThread.currentThread() is main
        seen["worker"] = worker_name

    handle = bridge.submit("count", _work, 5, on_success=on_success, on_progress=on_progress)
    qtbot.waitUntil(lambda: handle.done, timeout=5000)
    assert seen["main"] is True
    assert str(seen["worker"]).startswith("telerad-task")
    assert seen["progress"] == [1, 2, 3, 4, 5]
    bridge.shutdown()


def test_cancel_stops_the_task_and_failures_are_delivered(qtbot) -> None:  # type: ignore[no-untyped-def]
    bridge = TaskBridge()
    events: list[str] = []
    handle = bridge.submit("long", _work, 10_000, on_success=lambda r: events.append("success"))
    handle.cancelled.connect(lambda: events.append("cancelled"))
    handle.cancel()
    qtbot.waitUntil(lambda: handle.done, timeout=5000)
    assert events == ["cancelled"]

    failures: list[BaseException] = []
    bad = bridge.submit("bad", _work, "x", on_failure=failures.append)
    qtbot.waitUntil(lambda: bad.done, timeout=5000)
    assert len(failures) == 1 and isinstance(failures[0], TypeError)
    bridge.shutdown()


def test_nothing_starts_after_shutdown(qtbot) -> None:  # type: ignore[no-untyped-def]
    bridge = TaskBridge()
    bridge.shutdown()
    ran: list[str] = []
    handle = bridge.submit("late", _work, 1, on_success=ran.append)
    qtbot.wait(50)
    assert handle.done and handle.cancel_event.is_set() and ran == []
