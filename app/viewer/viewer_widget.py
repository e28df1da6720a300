"""The viewer the main window embeds: toolbar, series list, grid of viewports.

``open_study(cache, study_uid, bridge)`` applies a hanging protocol (current study and
priors), ``open_series(cache, series_uid, bridge)`` shows one series. Loading runs through
the bridge (``TaskBridge.submit``); without one it runs inline (tests, scripts).
"""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QGridLayout, QHBoxLayout, QVBoxLayout, QWidget

from app.viewer._qt.reading_tools import ReadingToolsMixin
from app.viewer._qt.series_list import UID_ROLE, SeriesList
from app.viewer._qt.sync_mixin import SyncMixin
from app.viewer._qt.toolbar import build_toolbar
from app.viewer.hang import open_cell, sharing
from app.viewer.interaction import ALL
from app.viewer.layout import GAP, parse_layout
from app.viewer.loading import OpenedSeries, StudyContent, attach_extras, load_rest
from app.viewer.measurements import StudyAnnotations
from app.viewer.presets import presets_for
from app.viewer.undo import MeasurementHistory
from app.viewer.viewport_widget import ViewportWidget


class ViewerWidget(ReadingToolsMixin, SyncMixin, QWidget):
    """Diagnostic 2D viewer (see module docstring)."""

    seriesShown = Signal(int)  # viewport index: first image on screen
    seriesLoaded = Signal(int)  # viewport index: every frame in memory
    statusMessage = Signal(str)
    imagePainted = Signal()  # defer_vtk: a viewport's first image is on screen without VTK (build_vtk next)

    def __init__(self, parent: Optional[QWidget] = None, protocols_path: Optional[Path] = None,
                 defer_vtk: bool = False) -> None:
        super().__init__(parent)
        self.protocols_path = protocols_path
        self.defer_vtk = defer_vtk  # viewports start on the plain-Qt surface until build_vtk()
        self.viewports: list[ViewportWidget] = []
        self.active: Optional[ViewportWidget] = None
        self.sync_enabled = True
        self.tool = "window"
        self.study_annotations: dict[str, StudyAnnotations] = {}
        self.history = MeasurementHistory()
        self._cache: Any = None
        self._bridge: Any = None
        self._content: Optional[StudyContent] = None
        self.ai_findings: dict[str, dict[str, str]] = {}  # study UID -> AI finding label -> decision
        self.plan: Any = None  # app.hanging.Plan of the open study
        self._waiting: dict[str, list[tuple[ViewportWidget, Any]]] = {}  # series being opened -> viewports
        self._loading: "weakref.WeakSet[Any]" = weakref.WeakSet()  # frame sources loading or loaded
        self.page = 0
        self._cine_timer = QTimer(self)
        self._cine_timer.timeout.connect(self._cine_tick)
        self.toolbar = build_toolbar(self)
        self.series_list = SeriesList()
        self.series_list.itemDoubleClicked.connect(self._series_double_clicked)
        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(GAP)
        body = QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.addWidget(self.series_list)
        body.addWidget(self.grid_host, 1)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.toolbar)
        box.addLayout(body, 1)
        self.layout_name = "1x1"
        self.set_layout("1x1")

    # -- layout ------------------------------------------------------------------------------
    def set_layout(self, name: str) -> None:
        """Rebuild the grid (keeps the first viewports' content)."""
        rows, cols = parse_layout(name)
        self.layout_name = name
        while len(self.viewports) < rows * cols:
            self.viewports.append(self._new_viewport())
        for extra in self.viewports[rows * cols:]:
            extra.finalize()
            extra.setParent(None)
            extra.deleteLater()
        self.viewports = self.viewports[: rows * cols]
        for i, view in enumerate(self.viewports):
            self.grid.addWidget(view, i // cols, i % cols)
        if self.active not in self.viewports:
            self._activate(self.viewports[0])

    def clear_viewport(self, index: int) -> None:
        """Empty viewport ``index`` (a new one in its place)."""
        rows, cols = parse_layout(self.layout_name)
        old, new = self.viewports[index], self._new_viewport()
        self.viewports[index] = new
        old.finalize()
        old.setParent(None)
        old.deleteLater()
        self.grid.addWidget(new, index // cols, index % cols)
        if self.active is old:
            self._activate(new)

    def build_vtk(self) -> None:
        """Swap VTK in for the plain-Qt first images (each viewport keeps its slice, W/L and view)."""
        self.defer_vtk = False
        for view in self.viewports:
            view.build_vtk()

    def _new_viewport(self) -> ViewportWidget:
        view = ViewportWidget(defer_vtk=self.defer_vtk)
        view.painted.connect(lambda _view: self.imagePainted.emit())
        view.interaction.set_tool(self.tool)
        view.activated.connect(self._activate)
        view.frameChanged.connect(self.on_frame_changed)
        view.windowChanged.connect(self.on_window_changed)
        view.seriesDropped.connect(lambda v, uid: self._open_in(v, uid))
        view.doubleClicked.connect(self._toggle_maximised)
        view.measured.connect(self._record_measurements)
        view.contextRequested.connect(self._context_menu)
        return view

    def _context_menu(self, view: ViewportWidget, where: Any) -> None:
        """Right click: the actions the window put in ``context_actions`` (tools, W/L, view, key image...)."""
        from PySide6.QtWidgets import QMenu

        self._activate(view)
        menu = QMenu(self)
        for group, actions in getattr(self, "context_actions", {}).items():
            sub = menu.addMenu(group)
            sub.addActions(actions)
        self.last_context_menu = menu
        menu.popup(where)

    # -- undo ----------------------------------------------------------------------------------
    def _record_measurements(self, view: ViewportWidget) -> None:
        if view.interaction._drag is None and view.model.annotations is not None:  # a finished edit
            self.history.record(view.model.annotations)

    def undo_measurement(self, redo: bool = False) -> bool:
        """Undo (or redo) the last measurement change of the active viewport's study."""
        ann = self.active.model.annotations if self.active is not None else None
        done = ann is not None and (self.history.redo(ann) if redo else self.history.undo(ann))
        if done:
            self.refresh_measurements(ann)
            if getattr(self, "measurement_list", None) is not None and self.measurement_list.annotations is ann:
                self.measurement_list.fill()
        return bool(done)

    def _activate(self, view: ViewportWidget) -> None:
        self.active = view
        for v in self.viewports:
            v.set_active(v is view and len(self.viewports) > 1)

    def _toggle_maximised(self, view: ViewportWidget) -> None:
        others = [v for v in self.viewports if v is not view]
        hide = any(v.isVisible() for v in others)
        for v in others:
            v.setVisible(not hide)

    # -- opening -----------------------------------------------------------------------------
    def _run(self, label: str, fn: Callable[..., Any], *args: Any, on_success: Callable[[Any], None]) -> Any:
        """Run ``fn`` through the bridge (inline without one); returns the bridge's TaskHandle (or None)."""
        if self._bridge is None:
            on_success(fn(*args))
            return None
        return self._bridge.submit(label, fn, *args, on_success=on_success,
                                   on_failure=lambda exc: self.statusMessage.emit(f"{label} failed: {exc}"))

    def open_study(self, cache: Any, study_uid: str, bridge: Any = None, *, layout: Optional[str] = None,
                   with_priors: bool = True) -> None:
        """Show a study with its hanging protocol (priors side by side when there are any)."""
        self._cache, self._bridge = cache, bridge
        self.study_annotations.setdefault(study_uid, StudyAnnotations(study_uid))
        from app.viewer.hang import content_and_plan

        self._run("Opening study", content_and_plan, cache, study_uid, with_priors, self.protocols_path,
                  on_success=lambda result: self._hang(*result, layout=layout))

    def _hang(self, content: StudyContent, plan: Any, notice: str = "", layout: Optional[str] = None) -> None:
        """Apply a hanging plan (app.hanging): layout, series per viewport, windows, sync, reference lines."""
        from app.viewer.hanging_view import apply_plan

        self._content, self.plan = content, plan
        self.series_list.fill(content.series, content.priors)
        if notice:
            self.statusMessage.emit(notice)
        apply_plan(self, plan, layout)
        self._thumbnails(content)

    def _thumbnails(self, content: StudyContent) -> None:
        """Thumbnails in the series list, rendered after the first images were asked for."""
        from app.viewer.thumbnails import series_thumbnails

        everything = [*content.series, *(s for _, group in content.priors for s in group)]
        self._run("Series thumbnails", series_thumbnails, self._cache, everything,
                  on_success=self.series_list.set_thumbnails)

    def open_series(self, cache: Any, series_uid: str, bridge: Any = None, *, viewport: Optional[int] = None,
                    summary: Any = None) -> None:
        """Show one series in viewport ``viewport`` (default: the active one)."""
        self._cache, self._bridge = cache, bridge
        view = self.active if viewport is None else self.viewports[viewport]
        self._open_in(view, series_uid, summary)

    def _open_in(self, view: ViewportWidget, series_uid: str, summary: Any = None, cell: Any = None) -> None:
        """Open a series in ``view``; ``cell`` (a hanging plan's) also picks the image, window and mirror."""
        summary = summary or self.series_list.summaries.get(series_uid)
        view.cell = cell
        shown = next((v.model for v in self.viewports if v.model.series is not None
                      and v.model.series.series_uid == series_uid), None)
        if shown is not None:  # already on screen (e.g. brain and stroke windows): one decode, one copy in memory
            self._show(view, sharing(shown.series, shown.frames, cell), cell)
            return
        waiting = self._waiting.setdefault(series_uid, [])
        waiting.append((view, cell))
        if len(waiting) == 1:
            handle = self._run("Opening series", open_cell, self._cache, series_uid, summary,
                               cell.sop_uid if cell else "", on_success=lambda opened: self._opened(series_uid, opened))
            if handle is not None:  # failed or cancelled: the next request opens it again
                handle.finished.connect(lambda: self._waiting.pop(series_uid, None))

    def _opened(self, series_uid: str, opened: OpenedSeries) -> None:
        for i, (view, cell) in enumerate(self._waiting.pop(series_uid, [])):
            self._show(view, opened if i == 0 else sharing(opened.info, opened.frames, cell), cell)

    def _show(self, view: ViewportWidget, opened: OpenedSeries, cell: Any = None) -> None:
        if view not in self.viewports or getattr(view, "cell", None) is not cell:
            return  # the viewport was replaced or given something else meanwhile
        from app.viewer.hanging_view import apply_cell

        study_uid = opened.info.study_uid
        view.model.annotations = self.study_annotations.setdefault(study_uid, StudyAnnotations(study_uid))
        view.set_series(opened.info, opened.frames, opened.first)
        apply_cell(view, cell)
        self._attach_extras(view)
        view.refresh(ALL)
        index = self.viewports.index(view)
        self.seriesShown.emit(index)
        if self.sync_enabled:
            self.relink()
        self.update_reference_lines()
        if opened.frames not in self._loading:  # a series shown twice loads once
            self._loading.add(opened.frames)
            self._run("Loading series", load_rest, opened, on_success=lambda _o: self._loaded(opened.frames))

    def _loaded(self, frames: Any) -> None:
        for i, v in enumerate(self.viewports):
            if v.model.frames is frames:
                self.seriesLoaded.emit(i)

    def _attach_extras(self, view: ViewportWidget) -> None:
        """GSPS (first PR referencing the image), SEG objects and AI findings of the study."""
        attach_extras(view.model, self._content)
        view.model.set_ai_findings(self.ai_findings.get(view.model.series.study_uid, {}))

    def set_ai_findings(self, study_uid: str, findings: dict[str, str]) -> None:
        """The study's AI findings with the reader's decisions (label -> pending / accepted / rejected), from
        the window (app.ui.ai_panel): named over its images, a rejected finding's SEG no longer drawn."""
        self.ai_findings[study_uid] = dict(findings)
        for view in self.viewports:
            if view.model.series is not None and view.model.series.study_uid == study_uid:
                view.model.set_ai_findings(findings)
                view.refresh(ALL)

    def _series_double_clicked(self, item: Any) -> None:
        uid = item.data(UID_ROLE)
        if uid and self.active is not None:
            self._open_in(self.active, uid)

    # -- tools and actions ---------------------------------------------------------------------
    def set_tool(self, tool: str) -> None:
        self.tool = tool
        for view in self.viewports:
            view.interaction.set_tool(tool)
        if tool in getattr(self, "tool_actions", {}):
            self.tool_actions[tool].setChecked(True)

    def key_to_active(self, key: str) -> None:
        if self.active is not None:
            self.active.apply(self.active.interaction.key(key))

    def reset_active(self) -> None:
        if self.active is not None and self.active.model.has_image:
            self.active.model.state.reset()
            self.active.apply({"window", "view"})

    def apply_preset(self, window: Any, name: str = "") -> None:
        if self.active is not None and self.active.model.has_image:
            self.active.model.state.set_window(window, name)
            self.active.apply({"window"})

    def apply_preset_key(self, key: str) -> str:
        """Apply the active viewport's preset bound to ``key`` ("0" header, "1".."8", "9" auto); returns its name."""
        view = self.active
        if view is None or not view.model.has_image:
            return ""
        params = view.model.frames.params(view.model.state.frame)
        preset = next((p for p in presets_for(view.model.series.modality, params.windows) if p.shortcut == key), None)
        if preset is None:
            return ""
        self.apply_preset(preset.window, preset.name if preset.window else "")
        self.statusMessage.emit(f"W/L: {preset.name}")
        return preset.name

    def step_series(self, delta: int) -> None:
        """Show the next (``delta`` 1) or previous (-1) series of the list in the active viewport."""
        uids = list(self.series_list.summaries)
        view = self.active
        if not uids or view is None:
            return
        current = view.model.series.series_uid if view.model.series is not None else None
        i = uids.index(current) if current in uids else -1
        self._open_in(view, uids[(i + delta) % len(uids)])

    def fill_presets_menu(self) -> None:
        menu = self.presets_menu
        menu.clear()
        view = self.active
        if view is None or not view.model.has_image:
            return
        params = view.model.frames.params(view.model.state.frame)
        for preset in presets_for(view.model.series.modality, params.windows):
            label = f"{preset.name}\t{preset.shortcut}" if preset.shortcut else preset.name
            menu.addAction(label, lambda p=preset: self.apply_preset(p.window, p.name if p.window else ""))

    def set_overlays(self, on: bool) -> None:
        for view in self.viewports:
            view.model.show_overlays = bool(on)
            view.model._overlay_cache.clear()
            if view.model.has_image:
                view.refresh(ALL)

    def toggle_key_image(self) -> None:
        view = self.active
        if view is not None and view.model.has_image and view.model.annotations is not None:
            marked = view.model.annotations.toggle_key_image(view.model.sop_uid(), view.model.ref.frame)
            self.statusMessage.emit("Key image marked" if marked else "Key image unmarked")

    # -- output ------------------------------------------------------------------------------
    def screenshot(self) -> np.ndarray:
        """The whole grid as (H, W, 3) uint8, each viewport captured with vtkWindowToImageFilter."""
        rows, cols = parse_layout(self.layout_name)
        shots = [v.grab_rgb() for v in self.viewports]
        h = max(s.shape[0] for s in shots)
        w = max(s.shape[1] for s in shots)
        out = np.zeros((rows * h + GAP * (rows - 1), cols * w + GAP * (cols - 1), 3), np.uint8)
        for i, shot in enumerate(shots):
            r, c = divmod(i, cols)
            out[r * (h + GAP): r * (h + GAP) + shot.shape[0], c * (w + GAP): c * (w + GAP) + shot.shape[1]] = shot
        return out

    def export_png(self, path: Path) -> None:
        from app.viewer.offscreen_view import save_png

        save_png(self.screenshot(), path)

    def export_png_dialog(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Export view as PNG", "view.png", "PNG images (*.png)")
        if name:
            self.export_png(Path(name))

    def annotations(self, study_uid: str) -> StudyAnnotations:
        """Measurements and key images of a study (for the report)."""
        return self.study_annotations.setdefault(study_uid, StudyAnnotations(study_uid))

    def shutdown(self) -> None:
        """Stop cine and release every VTK window (call before closing)."""
        self._cine_timer.stop()
        for view in self.viewports:
            view.finalize()
