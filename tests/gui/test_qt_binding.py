"""Guards against a Qt binding regression that crashes the app after ~1000 signal emissions."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    fired = Signal(object)


def test_signal_emit_keeps_refcounts(qapp) -> None:  # type: ignore[no-untyped-def]
    """PySide6 6.12.0 drops a reference to True on every emit (Python 3.11): the process aborts later."""
    emitter = _Emitter()
    before = sys.getrefcount(True)
    for i in range(200):
        emitter.fired.emit(i)
    assert sys.getrefcount(True) - before < 50
