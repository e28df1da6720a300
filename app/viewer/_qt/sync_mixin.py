"""Synchronised scrolling, linked window/level, reference lines and cine for ViewerWidget."""

from __future__ import annotations

from typing import Any

from app.viewer.interaction import FRAME, MEASURE, WINDOW
from app.viewer.sync import link_offset, reference_lines, synced_frame


class SyncMixin:
    """Expects ``viewports``, ``sync_enabled``, ``reflines_action``, ``_cine_timer``, ``active``."""

    viewports: list[Any]
    sync_enabled: bool
    link_window: bool = True

    def _pairs(self, source: Any) -> list[Any]:
        return [v for v in self.viewports if v is not source and v.model.has_image]

    def relink(self) -> None:
        """Remember each pair's offset (different frames of reference keep their offset)."""
        self._offsets = {}
        for a in self.viewports:
            for b in self._pairs(a):
                if a.model.has_image:
                    self._offsets[(id(a), id(b))] = link_offset(a.model.series, a.model.state.frame,
                                                                b.model.series, b.model.state.frame)

    def on_frame_changed(self, source: Any) -> None:
        if self.sync_enabled and source.model.has_image:
            for target in self._pairs(source):
                offset = getattr(self, "_offsets", {}).get((id(source), id(target)), 0.0)
                index = synced_frame(source.model.series, source.model.state.frame, target.model.series, offset)
                if index is not None and target.model.state.set_frame(index):
                    target.refresh({FRAME})
        self.update_reference_lines()

    def on_window_changed(self, source: Any) -> None:
        if not (self.sync_enabled and self.link_window and source.model.has_image):
            return
        window = source.model.state.window
        for target in self._pairs(source):
            same = target.model.series.modality == source.model.series.modality and \
                getattr(target, "window_group", "") == getattr(source, "window_group", "")  # brain with brain
            if same and not target.model.series.is_color:
                target.model.state.set_window(window, source.model.state.preset_name)
                target.model.state.invert = source.model.state.invert
                target.refresh({WINDOW})

    def update_reference_lines(self) -> None:
        enabled = self.reflines_action.isChecked() if hasattr(self, "reflines_action") else True
        shown = [(v.model.series, v.model.state.frame) for v in self.viewports if v.model.has_image]
        for v in self.viewports:
            if not v.model.has_image:
                continue
            lines = reference_lines(v.model.series, v.model.state.frame, shown) if enabled else []
            if lines != v.model.reference_lines:
                v.model.reference_lines = lines
                v.refresh({MEASURE})

    def set_sync(self, on: bool) -> None:
        self.sync_enabled = bool(on)
        if on:
            self.relink()

    # -- cine ------------------------------------------------------------------------------------
    def set_cine(self, on: bool) -> None:
        view = self.active
        if view is None or not view.model.has_image:
            return
        view.model.state.cine_playing = bool(on)
        if on:
            self._cine_timer.start(max(int(1000.0 / view.model.cine_fps()), 5))
        else:
            self._cine_timer.stop()
            view.refresh({FRAME})

    def _cine_tick(self) -> None:
        view = self.active
        if view is None or not view.model.has_image:
            self._cine_timer.stop()
            return
        view.model.state.cine_step()
        view.refresh({FRAME})
        self.on_frame_changed(view)
