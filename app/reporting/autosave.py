"""Debounced draft autosave: the editor calls ``edit`` per keystroke; text is on disk within ``delay_s``."""

from __future__ import annotations

import logging
import threading
from typing import Optional

from app.reporting.store import ReportStore

log = logging.getLogger(__name__)

MAX_DELAY_S = 1.0


class DraftAutosaver:
    """Coalesces edits of one report and persists them at most ``delay_s`` after the first pending edit.

    A pending edit is written by a background thread, so a SIGKILL loses at most ``delay_s`` of typing
    (plus the duration of one SQLite commit). ``flush()`` writes immediately; ``close()`` flushes and stops.
    """

    def __init__(self, store: ReportStore, report_id: str, delay_s: float = 0.5) -> None:
        if not 0 < delay_s <= MAX_DELAY_S:
            raise ValueError(f"delay_s must be in (0, {MAX_DELAY_S}]")
        self.store, self.report_id, self.delay_s = store, report_id, delay_s
        self._pending: dict[str, str] = {}
        self._cond = threading.Condition()
        self._closed = False
        self.error: Optional[BaseException] = None
        self._thread = threading.Thread(target=self._run, name="draft-autosave", daemon=True)
        self._thread.start()

    def edit(self, section: str, text: str) -> None:
        """Record the full new text of ``section`` (cheap; does not touch the disk)."""
        with self._cond:
            if self._closed:
                raise RuntimeError("autosaver is closed")
            self._pending[section] = text
            self._cond.notify()

    def flush(self) -> None:
        """Write pending edits now, in the caller's thread."""
        with self._cond:
            pending, self._pending = self._pending, {}
        if pending:
            self.store.update_sections(self.report_id, pending)

    def close(self) -> None:
        """Flush and stop the background thread."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join()
        self.flush()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
            # Edits are pending: wait out the debounce window (ended early by close), then write.
            with self._cond:
                self._cond.wait_for(lambda: self._closed, timeout=self.delay_s)
                if self._closed:
                    return
            try:
                self.flush()
            except Exception as exc:  # e.g. the report got signed elsewhere; keep the error for the UI
                log.warning("draft autosave failed: %s", exc)
                self.error = exc
                return
