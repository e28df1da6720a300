"""Qt input of a viewport's drawing surface (VTK or the plain-Qt first image), forwarded to its ViewportWidget.

Qt events become :class:`~app.viewer.interaction.Pointer` gestures in physical pixels (logical position x
device pixel ratio); VTK's own interactor styles are never used.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from app.viewer.interaction import Pointer

SERIES_MIME = "application/x-telerad-series"
_BUTTONS = {Qt.MouseButton.LeftButton: "left", Qt.MouseButton.MiddleButton: "middle",
            Qt.MouseButton.RightButton: "right"}
_KEYS = {Qt.Key.Key_Up: "Up", Qt.Key.Key_Down: "Down", Qt.Key.Key_Left: "Left", Qt.Key.Key_Right: "Right",
         Qt.Key.Key_PageUp: "PageUp", Qt.Key.Key_PageDown: "PageDown", Qt.Key.Key_Home: "Home",
         Qt.Key.Key_End: "End", Qt.Key.Key_Delete: "Delete", Qt.Key.Key_Escape: "Escape"}


class SurfaceInput:
    """Mixed into a QWidget surface: needs ``_owner`` (the ViewportWidget) and ``pixel_ratio()``."""

    _owner: Any

    def pixel_ratio(self) -> float:  # overridden by the VTK surface (its own notion of the ratio)
        return float(self.devicePixelRatioF())  # type: ignore[attr-defined]

    def physical_size(self) -> tuple[int, int]:
        ratio = self.pixel_ratio()
        return round(self.width() * ratio), round(self.height() * ratio)  # type: ignore[attr-defined]

    def _pointer(self, ev: Any, button: str = "none") -> Pointer:
        ratio = self.pixel_ratio()
        pos = ev.position()
        mods = ev.modifiers()
        return Pointer(pos.x() * ratio, pos.y() * ratio, button,
                       bool(mods & Qt.KeyboardModifier.ControlModifier), bool(mods & Qt.KeyboardModifier.ShiftModifier))

    def mousePressEvent(self, ev: Any) -> None:  # noqa: N802 (Qt API)
        self._right_at = ev.position() if ev.button() == Qt.MouseButton.RightButton else None
        self.setFocus()  # type: ignore[attr-defined]
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

    def dragEnterEvent(self, ev: Any) -> None:  # noqa: N802
        if ev.mimeData().hasFormat(SERIES_MIME):
            ev.acceptProposedAction()

    def dropEvent(self, ev: Any) -> None:  # noqa: N802
        uid = bytes(ev.mimeData().data(SERIES_MIME)).decode()
        ev.acceptProposedAction()
        self._owner.seriesDropped.emit(self._owner, uid)
