"""Running the outbox: one runner per data dir (an OS file lock, freed when the process dies), orphan
recovery after a crash, one pass (``once``) or passes until every row is sent."""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Callable, Iterator, Optional

from app.reporting.outbox import Outbox
from app.tasks import ProgressFn, check_cancel

LOCK_FILE = "outbox.lock"


class OutboxBusy(RuntimeError):
    """Another process (the workstation or a CLI) is running the outbox of this data dir."""


@dataclass
class RunSummary:
    """What a run did: rows sent, failed attempts, rows recovered from a dead runner, rows left unsent."""

    sent: int = 0
    failed: int = 0
    recovered: int = 0
    pending: int = 0


@contextlib.contextmanager
def runner_lock(home: Path) -> Iterator[IO[bytes]]:
    """Hold ``<home>/outbox.lock`` exclusively (OutboxBusy if another live process holds it)."""
    import fcntl

    import os

    from app.config import open_private, private_dir

    private_dir(Path(home))  # owner-only whatever the umask
    handle = os.fdopen(open_private(Path(home) / LOCK_FILE, os.O_RDWR | os.O_APPEND), "a+b")
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            raise OutboxBusy(f"the outbox of {home} is being run by another process") from exc
        yield handle
    finally:
        handle.close()


def _pending(outbox: Outbox) -> int:
    return sum(1 for i in outbox.items() if i.state != "sent")


def run_outbox(outbox: Outbox, home: Path, *, once: bool = True, cancel: Optional[threading.Event] = None,
               progress: Optional[ProgressFn] = None, max_wait_s: float = 1.0,
               clock: Callable[[], float] = time.time) -> RunSummary:
    """Recover orphans, then send due rows; with ``once=False`` keep waiting for backoffs until every row is
    sent (cancel to stop). Holds the runner lock throughout."""
    summary = RunSummary()
    with runner_lock(home):
        summary.recovered = outbox.recover_orphans()
        while True:
            before = {i.sop_instance_uid: i.attempts for i in outbox.items() if i.state != "sent"}
            summary.sent += outbox.process_due(cancel=cancel, progress=progress)
            after = {i.sop_instance_uid: i.attempts for i in outbox.items()}
            summary.failed += sum(after.get(uid, 0) - n for uid, n in before.items())
            next_at = outbox.next_due_at()
            if once or next_at is None:
                break
            while clock() < next_at:
                check_cancel(cancel)
                wait = min(max_wait_s, max(0.0, next_at - clock()))
                if cancel is not None:
                    cancel.wait(wait)
                else:
                    time.sleep(wait)
    summary.pending = _pending(outbox)
    return summary
