"""Worker processes that end with the process that started them.

A ``ProcessPoolExecutor`` worker whose parent is killed (SIGKILL, a crash) waits for work forever, and under
``forkserver`` it keeps the fork server alive too. :func:`exit_with` makes a worker leave at once instead.
"""

from __future__ import annotations

import os
import select
import threading

_watching: set[int] = set()
_lock = threading.Lock()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - another user's process took the pid
        return False
    return True


def _watch(pid: int) -> None:
    try:
        fd = os.pidfd_open(pid)  # Linux: woken exactly when it exits (no pid reuse race)
    except (AttributeError, OSError):
        fd = None
    if fd is not None:
        select.select([fd], [], [])
    else:  # pragma: no cover - other systems: poll
        while _alive(pid):
            threading.Event().wait(1.0)
    os._exit(0)


def exit_with(pid: int) -> None:
    """In a worker: exit (no clean-up: the work is abandoned) as soon as process ``pid`` ends. Idempotent."""
    with _lock:
        if pid in _watching or pid == os.getpid():
            return
        _watching.add(pid)
    if not _alive(pid):
        os._exit(0)
    threading.Thread(target=_watch, args=(pid,), name="exit-with-parent", daemon=True).start()
