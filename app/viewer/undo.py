"""Undo/redo of a study's measurements (Qt-free): snapshots taken after each finished edit."""

from __future__ import annotations

from typing import Any

from app.viewer.measurements import Measurement, StudyAnnotations


class MeasurementHistory:
    """Per study: a list of measurement snapshots and the position of the one shown."""

    def __init__(self) -> None:
        self._stacks: dict[str, list[list[dict[str, Any]]]] = {}
        self._pos: dict[str, int] = {}

    def record(self, ann: StudyAnnotations) -> bool:
        """Remember the current measurements if they changed; True when a step was added."""
        snap = [m.to_dict() for m in ann.measurements]
        stack = self._stacks.setdefault(ann.study_uid, [[]])
        pos = self._pos.get(ann.study_uid, 0)
        if stack[pos] == snap:
            return False
        del stack[pos + 1:]
        stack.append(snap)
        self._pos[ann.study_uid] = len(stack) - 1
        return True

    def undo(self, ann: StudyAnnotations) -> bool:
        return self._go(ann, -1)

    def redo(self, ann: StudyAnnotations) -> bool:
        return self._go(ann, 1)

    def _go(self, ann: StudyAnnotations, step: int) -> bool:
        stack = self._stacks.get(ann.study_uid)
        pos = self._pos.get(ann.study_uid, 0) + step
        if stack is None or not 0 <= pos < len(stack):
            return False
        self._pos[ann.study_uid] = pos
        ann.measurements = [Measurement.from_dict(d) for d in stack[pos]]
        return True
