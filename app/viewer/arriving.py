"""The viewer follows a retrieve in progress (reader first): the series on screen fill in as slices arrive.

A study opens as soon as its opening slice is in the cache; :class:`ArrivalFollower` then polls the retrieve's
:class:`~app.network.arrivals.Arrivals` on the main thread and, when a series on screen gained slices, swaps in
its new :class:`SeriesInfo` (slices still coming are grey placeholders "slice 57 — arriving"), keeping the slice,
window and zoom the reader is on. The series is rebuilt off the main thread (the task bridge): scrolling and W/L
never wait for the network or the index.
"""

from __future__ import annotations

import logging
from typing import Any, Optional

from PySide6.QtCore import QObject, QTimer, Signal

from app.viewer.frames import FrameSource
from app.viewer.scene_view import ALL
from app.viewer.series_data import ARRIVING, SeriesInfo, image_series, load_series_info, progressive_series

LOG = logging.getLogger(__name__)
KEPT = ("window", "window_index", "invert", "ppm", "center", "rotation", "hflip", "interpolate", "preset_name")


class ArrivalFollower(QObject):
    """Keeps the viewports of ``study_uid`` in step with ``arrivals`` until the retrieve ends."""

    progressed = Signal(str)  # "142 of 300 instances, 4.1 MB/s, 12 s left", at the end "" or "INCOMPLETE: ..."
    finished = Signal()

    def __init__(self, viewer: Any, cache: Any, study_uid: str, arrivals: Any, *, interval_ms: int = 300,
                 bridge: Any = None) -> None:
        super().__init__(viewer)
        self.viewer, self.cache, self.study_uid, self.arrivals, self.bridge = viewer, cache, study_uid, arrivals, bridge
        self._seen: dict[int, tuple[str, int, bool]] = {}
        self._building: set[int] = set()
        self._listed = -1
        self.timer = QTimer(self, interval=interval_ms)
        self.timer.timeout.connect(self.tick)
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def tick(self) -> None:
        """Rebuild (off the main thread) the series on screen that gained slices, then swap them in; at the end
        the complete series (volume geometry, MPR)."""
        snap = self.arrivals.snapshot()
        for view in list(getattr(self.viewer, "viewports", [])):
            info = view.model.series
            if info is not None and info.study_uid == self.study_uid:
                self._follow(view, info, snap.received, snap.done)
        if snap.received != self._listed:
            self._listed = snap.received
            try:
                self._list_new_series()
            except Exception as exc:  # noqa: BLE001 - e.g. the cache closed under a closing window
                LOG.warning("series list not refreshed during the retrieve: %s", exc)
                self.stop()
                return
        short = snap.expected is not None and snap.received < snap.expected
        ended = f"INCOMPLETE: {snap.label} instances" if short else ""
        self.progressed.emit(ended if snap.done else snap.message())
        if snap.done and not self._building:
            self.timer.stop()
            self.finished.emit()

    def _list_new_series(self) -> None:
        """A series that arrived after the study opened joins the series list (with its thumbnail)."""
        content = getattr(self.viewer, "_content", None)
        series = image_series(self.cache, self.study_uid)
        if content is None or content.study_uid != self.study_uid or len(series) <= len(content.series):
            return
        content.series = series
        self.viewer.series_list.fill(series, content.priors)
        if hasattr(self.viewer, "_thumbnails"):
            self.viewer._thumbnails(content)

    def _follow(self, view: Any, info: SeriesInfo, received: int, done: bool) -> None:
        key = (info.series_uid, received, done)
        if self._seen.get(id(view)) == key or id(view) in self._building:
            return
        self._seen[id(view)] = key
        self._building.add(id(view))
        pending = self.arrivals.pending(info.series_uid)  # after the end: what the retrieve did not bring

        def swap(result: Optional[tuple[SeriesInfo, str]]) -> None:
            self._building.discard(id(view))
            if result is None or view.model.series is None or view.model.series.series_uid != info.series_uid:
                return  # nothing new, or the viewport shows something else meanwhile
            view.model.arrival_note = result[1]
            swap_series(view, result[0])
            if done and self.bridge is not None and view.model.frames is not None:
                self.bridge.submit("Loading series", view.model.frames.load_all)  # whole, once (volume for MPR)

        if self.bridge is None:
            swap(rebuild(self.cache, info, pending, done))
        else:
            handle = self.bridge.submit("Showing the arrived slices", rebuild, self.cache, info, pending, done,
                                        on_success=swap, on_failure=lambda exc: self._failed(view, exc))
            if handle.done:  # the bridge is shut down: the window is closing
                self.stop()

    def _failed(self, view: Any, exc: BaseException) -> None:
        LOG.warning("series not refreshed during the retrieve: %s", exc)
        self._building.discard(id(view))
        self._seen.pop(id(view), None)  # tried again on the next tick


def rebuild(cache: Any, info: SeriesInfo, pending: list[tuple[str, Optional[int]]], done: bool,
            **_: Any) -> Optional[tuple[SeriesInfo, str]]:
    """(the series as cached now, with placeholders for ``pending``; its overlay note), None if unchanged."""
    records = [r for r in cache.list_instances(info.series_uid) if r.state == "ok"]
    have = {r.sop_instance_uid for r in records}
    pending = [p for p in pending if p[0] not in have]  # listed when the tick saw them missing: some came since
    if not pending and ARRIVING not in info.extra and info.frame_count >= len(records):
        return None
    meta = {"series_uid": info.series_uid, "study_uid": info.study_uid, "modality": info.modality,
            "description": info.description, "number": info.number}
    if not pending:
        return load_series_info(cache, info.series_uid), ""
    note = f"{'Incomplete' if done else 'Arriving'}: {len(records)} of {len(records) + len(pending)}"
    return progressive_series(records, pending, meta, "not retrieved" if done else "arriving"), note


def swap_series(view: Any, info: SeriesInfo) -> None:
    """Show ``info`` in ``view`` on the same slice (by SOP UID), with the same window, zoom and pan."""
    model = view.model
    old, note = model.state, model.arrival_note
    sop: Optional[str] = model.sop_uid() if model.series is not None else None
    frame = info.sop_uids.index(sop) if sop in info.sop_uids else None
    kept = {k: getattr(old, k) for k in KEPT}
    segmentations, presentation = model.segmentations, model.presentation
    view.set_series(info, FrameSource(info), frame)
    for k, v in kept.items():
        setattr(model.state, k, v)
    model.segmentations, model.presentation, model.arrival_note = segmentations, presentation, note
    view.refresh(ALL)
