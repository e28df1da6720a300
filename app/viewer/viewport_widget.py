"""One viewport on screen: a VTK render window inside Qt plus a slice scroll bar.

Qt events become :class:`~app.viewer.interaction.Pointer` gestures in physical pixels
(logical position x devicePixelRatio), so 1:1 zoom is one image pixel per screen pixel.
VTK's own interactor styles are bypassed: all behaviour lives in the Qt-free model.
"""

from __future__ import annotations

from typing import Any, Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QScrollBar, QWidget
from vtkmodules.qt.QVTKRenderWindowInteractor import QVTKRenderWindowInteractor
from vtkmodules.vtkRenderingCore import vtkInteractorStyle, vtkRenderer

from app.viewer.interaction import FRAME, MEASURE, VIEW, WINDOW, Interaction, Pointer
from app.viewer.offscreen_view import grab_render_window
from app.viewer.scene_view import ALL, SceneView, configure_render_window
from app.viewer.viewport_model import ViewportModel

SERIES_MIME = "application/x-telerad-series"
_BUTTONS = {Qt.MouseButton.LeftButton: "left", Qt.MouseButton.MiddleButton: "middle",
            Qt.MouseButton.RightButton: "right"}
_KEYS = {Qt.Key.Key_Up: "Up", Qt.Key.Key_Down: "Down", Qt.Key.Key_Left: "Left", Qt.Key.Key_Right: "Right",
         Qt.Key.Key_PageUp: "PageUp", Qt.Key.Key_PageDown: "PageDown", Qt.Key.Key_Home: "Home",
         Qt.Key.Key_End: "End", Qt.Key.Key_Delete: "Delete", Qt.Key.Key_Escape: "Escape"}


class _VTKArea(QVTKRenderWindowInteractor):
    """The render surface: forwards Qt input to the owning ViewportWidget, never to VTK styles."""

    def __init__(self, owner: "ViewportWidget") -> None:
        super().__init__(owner)
        self._owner = owner
        self.setAcceptDrops(True)
        # a plain style that does nothing (no vtkInteractionStyle in the bundle: Qt input never reaches VTK)
        self.GetRenderWindow().GetInteractor().SetInteractorStyle(vtkInteractorStyle())

    def _pointer(self, ev: Any, button: str = "none") -> Pointer:
        ratio = self._getPixelRatio()
        pos = ev.position()
        mods = ev.modifiers()
        return Pointer(pos.x() * ratio, pos.y() * ratio, button,
                       bool(mods & Qt.KeyboardModifier.ControlModifier), bool(mods & Qt.KeyboardModifier.ShiftModifier))

    def mousePressEvent(self, ev: Any) -> None:  # noqa: N802 (Qt API)
        self._right_at = ev.position() if ev.button() == Qt.MouseButton.RightButton else None
        self.setFocus()
        self._owner.activated.emit(self._owner)
        self._owner.apply(self._owner.interaction.press(self._pointer(ev, _BUTTONS.get(ev.button(), "left"))))

    def mouseMoveEvent(self, ev: Any) -> None:  # noqa: N802
        self._owner.apply(self._owner.interaction.move(self._pointer(ev)))

    def mouseReleaseEvent(self, ev: Any) -> None:  # noqa: N802
        self._owner.apply(self._owner.interaction.release(self._pointer(ev, _BUTTONS.get(ev.button(), "left"))))
        start = getattr(self, "_right_at", None)
        if ev.button() == Qt.MouseButton.RightButton and start is not None and \
                (ev.position() - start).manhattanLength() < 4:  # a right click, not a zoom drag
            self._owner.contextRequested.emit(self._owner, ev.globalPosition().toPoint())

    def mouseDoubleClickEvent(self, ev: Any) -> None:  # noqa: N802
        self._owner.doubleClicked.emit(self._owner)

    def wheelEvent(self, ev: Any) -> None:  # noqa: N802
        steps = ev.angleDelta().y() / 120.0
        self._owner.apply(self._owner.interaction.wheel(steps, self._pointer(ev)))

    def keyPressEvent(self, ev: Any) -> None:  # noqa: N802
        name = _KEYS.get(ev.key()) or ev.text().upper()
        self._owner.apply(self._owner.interaction.key(name))

    def keyReleaseEvent(self, ev: Any) -> None:  # noqa: N802
        pass

    def enterEvent(self, ev: Any) -> None:  # noqa: N802
        pass

    def leaveEvent(self, ev: Any) -> None:  # noqa: N802
        pass

    def resizeEvent(self, ev: Any) -> None:  # noqa: N802
        super().resizeEvent(ev)
        ratio = self._getPixelRatio()
        self._owner.model.resize(round(self.width() * ratio), round(self.height() * ratio))
        self._owner.scene.update(ALL)

    def dragEnterEvent(self, ev: Any) -> None:  # noqa: N802
        if ev.mimeData().hasFormat(SERIES_MIME):
            ev.acceptProposedAction()

    def dropEvent(self, ev: Any) -> None:  # noqa: N802
        uid = bytes(ev.mimeData().data(SERIES_MIME)).decode()
        ev.acceptProposedAction()
        self._owner.seriesDropped.emit(self._owner, uid)


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

    def __init__(self, model: Optional[ViewportModel] = None, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.model = model or ViewportModel()
        self.interaction = Interaction(self.model)
        self.vtk = _VTKArea(self)
        rw = self.vtk.GetRenderWindow()
        configure_render_window(rw)
        self.renderer = vtkRenderer()
        rw.AddRenderer(self.renderer)
        self.scene = SceneView(self.renderer, self.model, scale=self.vtk._getPixelRatio())
        self.scroll = QScrollBar(Qt.Orientation.Vertical)
        self.scroll.setRange(0, 0)
        self.scroll.valueChanged.connect(self._scrolled)
        box = QHBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(0)
        box.addWidget(self.vtk, 1)
        box.addWidget(self.scroll)
        self.vtk.Initialize()
        self._finalized = False

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
        ratio = self.vtk._getPixelRatio()
        self.model.resize(round(self.vtk.width() * ratio), round(self.vtk.height() * ratio))
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
        self.scene.update(changes)
        self.vtk.GetRenderWindow().Render()

    def grab_rgb(self) -> Any:
        """What the VTK area shows, as (H, W, 3) uint8 (vtkWindowToImageFilter)."""
        self.vtk.GetRenderWindow().Render()
        return grab_render_window(self.vtk.GetRenderWindow())

    def set_active(self, active: bool) -> None:
        self.setStyleSheet("ViewportWidget { border: 1px solid #3a7; }" if active else "")

    def finalize(self) -> None:
        """Release the VTK window (call before the widget is destroyed)."""
        if not self._finalized:
            self._finalized = True
            self.vtk.Finalize()
