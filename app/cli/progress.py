"""Terminal progress for long CLI work, and Ctrl-C turned into a cancel event."""

from __future__ import annotations

import signal
import sys
import threading
import time
from contextlib import contextmanager
from typing import Iterator, TextIO

from app.tasks import Progress


class TerminalProgress:
    """Prints a progress bar on a TTY, or a line every few seconds otherwise."""

    def __init__(self, label: str, stream: TextIO | None = None, width: int = 30) -> None:
        stream = sys.stderr if stream is None else stream  # at call time: sys.stderr may have been replaced
        self.label, self.stream, self.width = label, stream, width
        self.tty = stream.isatty()
        self._last = 0.0

    def __call__(self, p: Progress) -> None:
        now = time.monotonic()
        final = p.total and p.done >= p.total
        if not final and now - self._last < (0.1 if self.tty else 5.0):
            return
        self._last = now
        frac = p.done / p.total if p.total else 0.0
        bar = "#" * int(frac * self.width)
        line = f"{self.label} [{bar:<{self.width}}] {p.done}/{p.total or '?'}"
        if self.tty:
            self.stream.write("\r" + line[:120].ljust(120) + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


@contextmanager
def cancel_on_sigint() -> Iterator[threading.Event]:
    """Yield an event that Ctrl-C sets (the first Ctrl-C cancels; work stops at the next check)."""
    event = threading.Event()

    def handler(signum: int, frame: object) -> None:
        sys.stderr.write("\ncancelling...\n")
        event.set()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield event
    finally:
        signal.signal(signal.SIGINT, previous)
