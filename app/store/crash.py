"""Test-only crash points: ``TELERAD_CRASHPOINT=name:count`` kills the process at the count-th hit.

When the variable is unset, :func:`crashpoint` is a no-op function chosen once at import.
"""

from __future__ import annotations

import os
import signal

ENV_VAR = "TELERAD_CRASHPOINT"
POINTS = ("after_temp_write", "after_rename", "before_commit", "after_commit")


def _noop(name: str) -> None:
    """Crash points are disabled."""


def _make_killer(spec: str):  # type: ignore[no-untyped-def]
    target, _, count_text = spec.partition(":")
    limit = int(count_text or "1")
    hits = {"n": 0}

    def _kill(name: str) -> None:
        if name != target:
            return
        hits["n"] += 1
        if hits["n"] >= limit:
            kill_signal = getattr(signal, "SIGKILL", None)
            if kill_signal is None:  # pragma: no cover - Windows
                os._exit(137)
            os.kill(os.getpid(), kill_signal)

    return _kill


_SPEC = os.environ.get(ENV_VAR)
crashpoint = _make_killer(_SPEC) if _SPEC else _noop
