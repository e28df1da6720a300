"""Prepare the open study's MPR volume in the background once its 2D series is in memory.

The reading area starts it per study; the MPR tab then takes the volume (or waits for it) instead of
loading on the first click. One volume is kept: a new study drops the previous one.
"""

from __future__ import annotations

from typing import Any, Callable, Optional


class MprPrefetcher:
    """Per study: idle -> loading (after the viewer's first ``seriesLoaded``) -> ready (volume or None)."""

    def __init__(self, bridge: Any) -> None:
        self.bridge = bridge
        self.cache: Any = None
        self.viewer: Any = None
        self.study_uid: Optional[str] = None
        self.state = "idle"
        self.volume: Any = None
        self.error = ""
        self._waiters: list[tuple[Callable[[Any], None], Callable[[str], None]]] = []
        self._handle: Any = None

    def watch(self, viewer: Any, cache: Any) -> None:
        """Follow ``viewer`` (app.viewer.viewer_widget.ViewerWidget) showing studies of ``cache``."""
        self.viewer, self.cache = viewer, cache
        viewer.seriesLoaded.connect(self._series_loaded)

    def start(self, study_uid: str) -> None:
        """A study opens: forget the previous volume; prepare this one once a 2D series is loaded."""
        if self._handle is not None and not self._handle.done:
            self._handle.cancel()
        self.study_uid, self.state, self.volume, self.error, self._handle = study_uid, "idle", None, "", None
        self._waiters.clear()

    def _series_loaded(self, index: int) -> None:
        viewer = self.viewer
        if self.state != "idle" or self.study_uid is None or index >= len(viewer.viewports):
            return
        series = viewer.viewports[index].model.series
        if series is None or series.study_uid != self.study_uid:
            return
        loaded = [getattr(v.model.frames, "_volume_obj", None) for v in viewer.viewports if v.model.frames is not None]
        from app.viewer.mpr.prefetch import prepare_mpr_volume

        self.state, study = "loading", self.study_uid
        self._handle = self.bridge.submit("Preparing the MPR volume", prepare_mpr_volume, self.cache, study,
                                          [v for v in loaded if v is not None],
                                          on_success=lambda vol: self._done(study, vol, ""),
                                          on_failure=lambda exc: self._done(study, None, str(exc)))

    def _done(self, study_uid: str, volume: Any, error: str) -> None:
        if study_uid != self.study_uid:
            return  # another study opened meanwhile
        self.state, self.volume, self.error = "ready", volume, error
        waiters, self._waiters = self._waiters, []
        for on_volume, on_missing in waiters:
            self._deliver(on_volume, on_missing)

    def _deliver(self, on_volume: Callable[[Any], None], on_missing: Callable[[str], None]) -> None:
        if self.volume is not None:
            on_volume(self.volume)
        else:
            on_missing(f"MPR: {self.error}" if self.error
                       else "MPR: this study has no volume (needs 8 or more parallel slices)")

    def take(self, study_uid: str, on_volume: Callable[[Any], None], on_missing: Callable[[str], None]) -> bool:
        """Hand the prepared volume of ``study_uid`` (now, or when it is ready); False if none is coming."""
        if study_uid != self.study_uid or self.state == "idle" or self.error:
            return False  # not started, or failed: the caller loads it (and reports its own error)
        if self.state == "ready":
            self._deliver(on_volume, on_missing)
        else:
            self._waiters.append((on_volume, on_missing))
        return True
