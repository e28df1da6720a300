"""Which incoming stores we asked for: a C-MOVE registers (study, sender AE) while it runs.

Stores matching no running retrieve are *unsolicited*: the app quarantines them.
"""

from __future__ import annotations

import threading
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator


@dataclass
class Expectation:
    """One running retrieve; counts what arrived for it (by store outcome). With a ``writer``
    (:class:`~app.network.writer.BackgroundStore` on a spool) the SCP hands its stores there."""

    study_uid: str
    sender_aet: str
    outcomes: Counter = field(default_factory=Counter)
    sop_uids: set[str] = field(default_factory=set)
    writer: Any = None


class Expectations:
    """Thread-safe registry shared by the Storage SCP and the C-MOVE SCU."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: list[Expectation] = []

    @contextmanager
    def expect(self, study_uid: str, sender_aet: str, writer: Any = None) -> Iterator[Expectation]:
        """While the block runs, stores of ``study_uid`` from ``sender_aet`` are solicited."""
        exp = Expectation(study_uid, sender_aet.strip(), writer=writer)
        with self._lock:
            self._active.append(exp)
        try:
            yield exp
        finally:
            with self._lock:
                self._active.remove(exp)

    def match(self, study_uid: str, calling_aet: str) -> Expectation | None:
        with self._lock:
            for exp in self._active:
                if exp.study_uid == study_uid and exp.sender_aet == calling_aet.strip():
                    return exp
        return None

    def note(self, study_uid: str, calling_aet: str, sop_uid: str, outcome: str) -> None:
        """Count one stored instance against the matching expectation (if any)."""
        with self._lock:
            for exp in self._active:
                if exp.study_uid == study_uid and exp.sender_aet == calling_aet.strip():
                    exp.outcomes[outcome] += 1
                    if outcome != "rejected":
                        exp.sop_uids.add(sop_uid)
                    return
