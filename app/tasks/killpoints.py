"""Test-only kill points: with ``VAR=name:count`` set, the process SIGKILLs itself at the count-th
hit of ``name``. Crash tests use them to stop a child at an exact step. When the variable is
unset, :func:`from_env` returns a no-op chosen once at import, so production pays nothing.
"""

from __future__ import annotations

import os
import signal
from typing import Callable

KillPoint = Callable[[str], None]


def _noop(name: str) -> None:
    """Kill points are disabled."""


def _make_killer(spec: str) -> KillPoint:
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


def from_env(env_var: str) -> KillPoint:
    """The kill-point function configured by ``env_var`` (a no-op when it is unset)."""
    spec = os.environ.get(env_var)
    return _make_killer(spec) if spec else _noop
