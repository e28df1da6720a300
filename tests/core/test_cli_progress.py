"""The progress bar writes to the standard error of the moment, not the one at import time (a closed
stream made `telerad retrieve` fail with "I/O operation on closed file")."""

from __future__ import annotations

import io
import sys

import pytest

from app.cli.progress import TerminalProgress
from app.tasks import Progress


def test_progress_writes_to_the_current_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    old = io.StringIO()
    monkeypatch.setattr(sys, "stderr", old)
    old.close()  # the stream of an earlier run, gone
    now = io.StringIO()
    monkeypatch.setattr(sys, "stderr", now)
    TerminalProgress("retrieve")(Progress(done=3, total=3))
    assert "retrieve" in now.getvalue()
