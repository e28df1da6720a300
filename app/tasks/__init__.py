"""Conventions for long-running core functions: progress callbacks and cancellation.

Core functions are blocking. They take ``cancel: threading.Event | None`` and
``progress: ProgressFn | None`` and call :func:`check_cancel` between units of work.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable, Optional


class Cancelled(Exception):
    """Raised inside a core function when its cancel event is set."""


@dataclass(frozen=True)
class Progress:
    """One progress report: ``done`` of ``total`` units (total 0 = unknown)."""

    done: int
    total: int
    message: str = ""


ProgressFn = Callable[[Progress], None]


def check_cancel(cancel: Optional[threading.Event]) -> None:
    """Raise :class:`Cancelled` if ``cancel`` is set."""
    if cancel is not None and cancel.is_set():
        raise Cancelled()


def report(progress: Optional[ProgressFn], done: int, total: int, message: str = "") -> None:
    """Send a progress report if a callback was given."""
    if progress is not None:
        progress(Progress(done, total, message))
