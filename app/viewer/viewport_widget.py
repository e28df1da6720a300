"""One viewport on screen: a VTK render window inside Qt plus a slice scroll bar.

Qt events become :class:`~app.viewer.interaction.Pointer` gestures in physical pixels
(logical position x devicePixelRatio), so 1:1 zoom is one image pixel per screen pixel.
VTK's own interactor styles are bypassed: all behaviour lives in the Qt-free model.
With ``defer_vtk`` the viewport starts on a plain-Qt surface (_qt.paint_area: the first image
without loading VTK); ``build_vtk()`` swaps the VTK surface in, keeping the model (slice, W/L, view).
"""

from __future__ import annotations

from typing import Any, Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QScrollBar, QWidget

from app.viewer._qt.surface_input import SERIES_MIME  # noqa: F401 (re-exported: drag and drop of series)
from app.viewer.interaction import ALL, FRAME, MEASURE, VIEW, WINDOW, Interaction
from app.viewer.viewport_model import ViewportModel


class ViewportWidget(QWidget):
    """A viewport: model + VTK scene + scroll bar. Emits what the viewer needs for sync."""

    activated = Signal(object)  # self
    doubleClicked = Signal(object)
    frameChanged = Signal(object)  # self (user scrolled)
    windowChanged = Signal(object)
    viewChanged = Signal(object)
    measured = Signal(object)
    seriesDropped = Signal(object, str)
    contextRequested = Signal(object, object)  # self, global QPoint (a right click without drag)
    painted = Signal(object)  # self: the plain-Qt surface put an image on screen (defer_vtk)

    def __init__(self, model: Optional[ViewportModel] = None, parent: Optional[QWidget] = None,
                 defer_vtk: bool = False) -> None:
        super().__init__(parent)
        self.model = model or ViewportModel()
        self.interaction = Interaction(self.model)
        self.vtk: Any = None
        self.scene: Any = None
        self._finalized = False
        self.scroll = QScrollBar(Qt.Orientation.Vertical)
        self.scroll.setRange(0, 0)
        self.scroll.valueChanged.connect(self._scrolled)
        self._box = QHBoxLayout(self)
        self._box.setContentsMargins(0, 0, 0, 0)
        self._box.setSpacing(0)
        if defer_vtk:
            from app.viewer._qt.paint_area import PaintArea

            self.surface: Any = PaintArea(self)
            self.surface.painted.connect(lambda: self.painted.emit(self))
            self._box.addWidget(self.surface, 1)
        else:
            self._box.addWidget(self._new_vtk(), 1)
        self._box.addWidget(self.scroll)
        if self.vtk is not None:
            self.vtk.Initialize()

    def _new_vtk(self) -> Any:
        from vtkmodules.vtkRenderingCore import vtkRenderer

        from app.viewer._qt.vtk_area import VTKArea
        from app.viewer.scene_view import SceneView, configure_render_window

        self.vtk = self.surface = VTKArea(self)
        rw = self.vtk.GetRenderWindow()
        configure_render_window(rw)
        self.renderer = vtkRenderer()
        rw.AddRenderer(self.renderer)
        self.scene = SceneView(self.renderer, self.model, scale=self.vtk.pixel_ratio())
        return self.vtk

    @property
    def vtk_ready(self) -> bool:
        """True once the VTK surface shows this viewport (False on the plain-Qt first image)."""
        return self.vtk is not None

    def build_vtk(self) -> None:
        """Swap the VTK surface in for the plain-Qt one (same model: slice, W/L, zoom, pan kept)."""
        if self.vtk is not None or self._finalized:
            return
        old = self.surface
        focused = old.hasFocus()
        vtk = self._new_vtk()
        vtk.resize(old.size())
        self._box.replaceWidget(old, vtk)
        vtk.Initialize()
        if self.model.has_image:
            self.model.resize(*vtk.physical_size())
            self.refresh(ALL)
        if focused:
            vtk.setFocus()
        old.hide()
        old.deleteLater()

    # -- content -----------------------------------------------------------------------------
    def set_series(self, info: Any, frames: Any = None, frame: Optional[int] = None) -> None:
        self.model.set_series(info, frames, frame)
        self.interaction.model = self.model
        self.scroll.blockSignals(True)
        self.scroll.setRange(0, max(info.frame_count - 1, 0))
        self.scroll.setValue(self.model.state.frame)
        self.scroll.setPageStep(max(1, info.frame_count // 10))
        self.scroll.blockSignals(False)
        self.scroll.setVisible(info.frame_count > 1)
        self.model.resize(*self.surface.physical_size())
        self.refresh(ALL)

    def _scrolled(self, value: int) -> None:
        if self.model.has_image and self.model.state.set_frame(value):
            self.refresh({FRAME})
            self.frameChanged.emit(self)

    def apply(self, changes: set[str]) -> None:
        """Redraw after a gesture and tell the viewer what changed."""
        if not changes:
            return
        self.refresh(changes)
        if FRAME in changes:
            self.frameChanged.emit(self)
        if WINDOW in changes:
            self.windowChanged.emit(self)
        if VIEW in changes:
            self.viewChanged.emit(self)
        if MEASURE in changes:
            self.measured.emit(self)

    def refresh(self, changes: Any = ALL) -> None:
        """Update the scene and render now (main thread)."""
        if self._finalized:
            return
        if FRAME in changes and self.scroll.value() != self.model.state.frame:
            self.scroll.blockSignals(True)
            self.scroll.setValue(self.model.state.frame)
            self.scroll.blockSignals(False)
        if self.vtk is None:
            self.surface.update()  # the plain-Qt surface draws the model on its next paint
            return
        self.scene.update(changes)
        self.vtk.GetRenderWindow().Render()

    def grab_rgb(self) -> Any:
        """What the viewport shows, as (H, W, 3) uint8 (vtkWindowToImageFilter; before VTK, the Qt surface)."""
        if self.vtk is None:
            from app.viewer._qt.paint_area import grab_rgb

            return grab_rgb(self.surface)
        from app.viewer.offscreen_view import grab_render_window

        self.vtk.GetRenderWindow().Render()
        return grab_render_window(self.vtk.GetRenderWindow())

    def set_active(self, active: bool) -> None:
        self.setStyleSheet("ViewportWidget { border: 1px solid #3a7; }" if active else "")

    def finalize(self) -> None:
        """Release the VTK window (call before the widget is destroyed)."""
        if not self._finalized:
            self._finalized = True
            if self.vtk is not None:
                self.vtk.Finalize()
