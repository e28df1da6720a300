"""Test-only kill points for the outbox and signing: ``TELERAD_REPORT_KILLPOINT=name:count`` SIGKILLs the
process at the count-th hit of ``name`` (used by the acceptance tests to kill a sender mid-delivery).

When the variable is unset, :func:`killpoint` is a no-op chosen once at import (zero cost).
Points: ``outbox_before_send`` (row claimed, nothing sent), ``outbox_after_send`` (peer has the file,
row not yet marked sent), ``sign_before_finalize`` (files written, report still unsigned).
"""

from __future__ import annotations

import os
import signal
from typing import Callable

ENV_VAR = "TELERAD_REPORT_KILLPOINT"
POINTS = ("outbox_before_send", "outbox_after_send", "sign_before_finalize")


def _noop(name: str) -> None:
    """Kill points are disabled."""


def _make_killer(spec: str) -> Callable[[str], None]:
    target, _, count_text = spec.partition(":")
    limit = int(count_text or "1")
    hits = {"n": 0}

    def _kill(name: str) -> None:
        if name != target:
            return
        hits["n"] += 1
        if hits["n"] >= limit:
            os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))

    return _kill


_SPEC = os.environ.get(ENV_VAR)
killpoint: Callable[[str], None] = _make_killer(_SPEC) if _SPEC else _noop
