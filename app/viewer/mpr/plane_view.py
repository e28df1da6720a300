"""One MPR view (Qt): paints the scene's uint8 image 1:1 with QPainter, crosshair, labels, rulers.

Mouse: left drag moves the crosshair centre (or turns the other planes when it grabs a line's
round handle, or draws a ruler in measure mode); wheel moves the plane (shift: 5x; ctrl:
zoom); right drag sets window/level for every view; middle drag pans.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Optional

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QMouseEvent, QPainter, QPaintEvent, QPen, QWheelEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.viewer.mpr.measure import Measurement
from app.viewer.mpr.planes import COLOURS, VIEWS, crosshair_direction, edge_labels

if TYPE_CHECKING:  # pragma: no cover
    from app.viewer.mpr.mpr_widget import MprWidget

HANDLE_FRACTION = 0.3  # rotation handles sit this fraction of the view size from the centre
HANDLE_RADIUS = 7


class PlaneView(QWidget):
    """Shows ``view`` ("axial", "coronal" or "sagittal") of the layout's scene."""

    def __init__(self, view: str, layout: "MprWidget", parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.view = view
        self.mpr = layout
        self.setObjectName(f"mpr_{view}")
        self.setMinimumSize(120, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(False)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._drag: Optional[str] = None
        self._rotating: str = ""
        self._last = QPointF()
        self._ruler: Optional[Measurement] = None
        self._qimage: Optional[QImage] = None  # keeps the buffer the QImage points to alive
        self.paint_count = 0

    # -- geometry helpers -----------------------------------------------------------------
    def full_grid(self):
        return self.mpr.scene.state.grid(self.view, max(self.width(), 1), max(self.height(), 1))

    def centre_px(self) -> tuple[float, float]:
        col, row = self.full_grid().lps_to_pixel(self.mpr.scene.state.centre)
        return col + 0.5, row + 0.5

    def handles(self) -> list[tuple[str, QPointF]]:
        """Rotation handles: (other view, screen point), two per crosshair line."""
        state = self.mpr.scene.state
        plane = state.plane(self.view)
        cx, cy = self.centre_px()
        reach = HANDLE_FRACTION * min(self.width(), self.height())
        out = []
        for other in VIEWS:
            if other == self.view:
                continue
            d = crosshair_direction(plane, state.plane(other))
            if d is not None:
                out += [(other, QPointF(cx + s * reach * d[0], cy + s * reach * d[1])) for s in (1, -1)]
        return out

    def lps_at(self, pos: QPointF) -> np.ndarray:
        return self.full_grid().pixel_to_lps(pos.x() - 0.5, pos.y() - 0.5)

    # -- painting -------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        self.paint_count += 1
        painter = QPainter(self)
        painter.fillRect(self.rect(), Qt.GlobalColor.black)
        if self.mpr.scene is not None:
            self._paint_image(painter)
            self._paint_crosshair(painter)
            self._paint_rulers(painter)
            self._paint_labels(painter)
        painter.end()

    def _paint_image(self, painter: QPainter) -> None:
        """Resliced at device pixels (HiDPI: a 2x screen gets twice the samples, not an upscaled image)."""
        ratio = self.devicePixelRatioF()
        width, height = max(round(self.width() * ratio), 1), max(round(self.height() * ratio), 1)
        image = self.mpr.scene.image(self.view, width, height, preview=self.mpr.interacting)
        h, w = image.pixels.shape
        self._qimage = QImage(image.pixels.data, w, h, w, QImage.Format.Format_Grayscale8)
        self._buffer = image.pixels
        if (w, h) == (width, height):
            self._qimage.setDevicePixelRatio(ratio)
            painter.drawImage(0, 0, self._qimage)
        else:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, not image.preview)
            painter.drawImage(QRectF(0, 0, self.width(), self.height()), self._qimage)

    def _paint_crosshair(self, painter: QPainter) -> None:
        state = self.mpr.scene.state
        plane = state.plane(self.view)
        cx, cy = self.centre_px()
        big = 2.0 * (self.width() + self.height())
        gap = 10.0
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        for other in VIEWS:
            if other == self.view:
                continue
            d = crosshair_direction(plane, state.plane(other))
            if d is None:
                continue
            painter.setPen(QPen(QColor(*COLOURS[other]), 1.2))
            for s in (1, -1):
                painter.drawLine(QPointF(cx + s * gap * d[0], cy + s * gap * d[1]),
                                 QPointF(cx + s * big * d[0], cy + s * big * d[1]))
        for other, point in self.handles():
            painter.setPen(QPen(QColor(*COLOURS[other]), 1.5))
            painter.drawEllipse(point, HANDLE_RADIUS, HANDLE_RADIUS)
        painter.setPen(QPen(QColor(*COLOURS[self.view]), 3))
        painter.drawRect(self.rect().adjusted(1, 1, -2, -2))

    def _paint_rulers(self, painter: QPainter) -> None:
        state = self.mpr.scene.state
        plane = state.plane(self.view)
        grid = self.full_grid()
        painter.setPen(QPen(QColor(255, 170, 0), 1.5))
        for m in [*self.mpr.measurements, *([self._ruler] if self._ruler else [])]:
            if not m.visible_in(plane):
                continue
            a, b = grid.lps_to_pixel(m.p1), grid.lps_to_pixel(m.p2)
            pa, pb = QPointF(a[0] + 0.5, a[1] + 0.5), QPointF(b[0] + 0.5, b[1] + 0.5)
            painter.drawLine(pa, pb)
            painter.drawText(pb + QPointF(6, -6), m.label())

    def _paint_labels(self, painter: QPainter) -> None:
        state = self.mpr.scene.state
        labels = edge_labels(state.plane(self.view))
        font = QFont()
        font.setPointSize(11)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(QColor(255, 255, 160))
        w, h = self.width(), self.height()
        painter.drawText(QRectF(0, 0, w, 22), Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter, labels["top"])
        painter.drawText(QRectF(0, h - 22, w, 22), Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter, labels["bottom"])
        painter.drawText(QRectF(6, 0, 40, h), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, labels["left"])
        painter.drawText(QRectF(w - 46, 0, 40, h), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, labels["right"])
        font.setBold(False)
        font.setPointSize(9)
        painter.setFont(font)
        painter.setPen(QColor(*COLOURS[self.view]))
        title = self.view.capitalize() + (" (oblique)" if state.oblique else "")
        if state.slab_mode != "none" and state.slab_mm > 0:
            title += f"  {state.slab_mode.upper()} {state.slab_mm:g} mm"
        painter.drawText(QPointF(8, 36), title)
        painter.setPen(QColor(220, 220, 220))
        c, wd = state.window or (0.0, 0.0)
        painter.drawText(QPointF(8, h - 10), f"W {wd:.0f}  L {c:.0f}")

    # -- mouse ----------------------------------------------------------------------------
    def _handle_at(self, pos: QPointF) -> str:
        for other, point in self.handles():
            if math.hypot(point.x() - pos.x(), point.y() - pos.y()) <= HANDLE_RADIUS + 4:
                return other
        return ""

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self.mpr.scene is None:
            return
        pos = event.position()
        self._last = pos
        button = event.button()
        if button == Qt.MouseButton.LeftButton and self.mpr.measuring:
            p = self.lps_at(pos)
            self._ruler = Measurement(p, p.copy(), self.mpr.scene.state.plane(self.view).normal)
            self._drag = "ruler"
        elif button == Qt.MouseButton.LeftButton:
            self._rotating = self._handle_at(pos)
            self._drag = "rotate" if self._rotating else "centre"
            if self._drag == "centre":
                self.mpr.begin_interaction()
                self.mpr.scene.state.set_centre(self.lps_at(pos))
                self.mpr.changed("centre")
            else:
                self.mpr.begin_interaction()
        elif button == Qt.MouseButton.RightButton:
            self._drag = "window"
            self.mpr.begin_interaction()
        elif button == Qt.MouseButton.MiddleButton:
            self._drag = "pan"
            self.mpr.begin_interaction()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._drag is None:
            return
        pos = event.position()
        dx, dy = pos.x() - self._last.x(), pos.y() - self._last.y()
        state = self.mpr.scene.state
        if self._drag == "centre":
            state.set_centre(self.lps_at(pos))
            self.mpr.changed("centre")
        elif self._drag == "rotate":
            cx, cy = self.centre_px()
            angle = math.atan2(pos.y() - cy, pos.x() - cx) - math.atan2(self._last.y() - cy, self._last.x() - cx)
            state.rotate(self.view, angle)
            self.mpr.changed("rotate")
        elif self._drag == "window":
            self.mpr.drag_window(dx, dy)
        elif self._drag == "pan":
            mm = self.full_grid().pixel_mm
            state.pan(self.view, dx * mm, dy * mm)
            self.mpr.changed("pan")
        elif self._drag == "ruler" and self._ruler is not None:
            self._ruler.p2 = self.lps_at(pos)
            self.update()
        self._last = pos

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._drag == "ruler" and self._ruler is not None:
            if self._ruler.length_mm > 0.5:
                self.mpr.add_measurement(self._ruler)
            self._ruler = None
            self.update()
        elif self._drag is not None:
            self.mpr.end_interaction()
        self._drag = None

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        if self.mpr.scene is None:
            return
        steps = event.angleDelta().y() / 120.0
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.mpr.scene.state.zoom *= 1.15 ** steps
            self.mpr.changed("zoom")
        else:
            fast = 5.0 if event.modifiers() & Qt.KeyboardModifier.ShiftModifier else 1.0
            self.mpr.scroll(self.view, steps * fast)
        event.accept()
