"""A viewport's first image drawn with QPainter, before VTK is loaded (the VTK surface replaces it).

The pixels are the model's (``ViewportModel.render_into``: the same VOI LUT / rescale / photometric path
the VTK scene uploads), placed by the same ViewTransform (zoom, pan, rotation, flip, pixel aspect), with
the scene's corner texts, orientation markers, scale bar, reference lines and overlay layer in the same
style. Measurements and GSPS graphics appear with the VTK surface.
"""

from __future__ import annotations

import textwrap
from typing import Any, Optional

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontInfo, QFontMetricsF, QImage, QPainter, QPen
from PySide6.QtWidgets import QWidget

from app.viewer._qt.surface_input import SurfaceInput
from app.viewer.annotations import scale_bar
from app.viewer.props_view import TEXT_SCALE
from app.viewer.series_data import is_placeholder_reason

TEXT = QColor.fromRgbF(0.95, 0.95, 0.95)
MARKER = QColor.fromRgbF(1.0, 0.9, 0.4)
ERROR = QColor.fromRgbF(1.0, 0.45, 0.4)
ARRIVING = QColor.fromRgbF(0.85, 0.85, 0.85)
REFLINE = QColor.fromRgbF(0.3, 1.0, 0.3)
BOX = QColor(0, 0, 0, round(0.55 * 255))
LINE_SPACING = 1.1  # vtkTextProperty's default: lines this many font sizes apart
STRETCH = 91  # percent: the fontconfig sans (DejaVu) is wider than the Arial that VTK embeds


def to_qimage(pixels: np.ndarray) -> QImage:
    """(H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA uint8 -> QImage (a copy: the array may change)."""
    pixels = np.ascontiguousarray(pixels)
    h, w = pixels.shape[:2]
    fmt = {2: QImage.Format.Format_Grayscale8, 3: QImage.Format.Format_RGB888,
           4: QImage.Format.Format_RGBA8888}[pixels.ndim if pixels.ndim == 2 else pixels.shape[2]]
    return QImage(pixels.data, w, h, pixels.strides[0], fmt).copy()


class PaintArea(SurfaceInput, QWidget):
    """The plain-Qt drawing surface of a ViewportWidget (same input handling as the VTK one)."""

    painted = Signal()  # an image reached the screen (once per paint with an image)

    def __init__(self, owner: Any) -> None:
        super().__init__(owner)
        self._owner = owner
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setMouseTracking(True)
        self.window_used: Any = None

    def resizeEvent(self, ev: Any) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(ev)
        self._owner.model.resize(*self.physical_size())

    def paintEvent(self, ev: Any) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.fillRect(self.rect(), Qt.GlobalColor.black)
        model = self._owner.model
        if model.has_image:
            ratio = self.pixel_ratio()
            painter.scale(1.0 / ratio, 1.0 / ratio)  # physical pixels from here on, as the model's sizes
            error = self._draw(painter, model, ratio)
            self._draw_error(painter, model, ratio, error)
        painter.end()
        if model.has_image:
            self.painted.emit()

    def _draw(self, painter: QPainter, model: Any, scale: float) -> Optional[str]:
        try:
            pixels = np.empty(model.display_shape(), np.uint8)
            self.window_used = model.render_into(pixels)
            t = model.transform()
            self._draw_image(painter, t, to_qimage(pixels), model.state.interpolate)
            layer = model.overlay_layer()
            if layer is not None:
                self._draw_image(painter, t, to_qimage(layer), False)
            self._draw_reference_lines(painter, model, t)
            self._draw_texts(painter, model, t, scale)
            return model.frame_error()
        except Exception as exc:  # noqa: BLE001 - a broken header must never take the viewer down (as SceneView)
            return getattr(exc, "reason", None) or f"{type(exc).__name__}: {exc}"

    @staticmethod
    def _draw_image(painter: QPainter, t: Any, image: QImage, smooth: bool) -> None:
        """Pixel (i, j) centred on world (i * sx, j * sy), shown as the camera of SceneView shows it."""
        painter.save()
        painter.translate(t.width / 2.0, t.height / 2.0)
        painter.rotate(90.0 * (t.rotation % 4))
        painter.scale(-t.ppm if t.hflip else t.ppm, t.ppm)
        painter.translate(-t.center[0], -t.center[1])
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, bool(smooth))
        target = QRectF(-0.5 * t.sx, -0.5 * t.sy, t.cols * t.sx, t.rows * t.sy)
        painter.drawImage(target, image)
        painter.restore()

    @staticmethod
    def _draw_reference_lines(painter: QPainter, model: Any, t: Any) -> None:
        if not model.reference_lines:
            return
        painter.setPen(QPen(REFLINE, 1.0))
        for a, b in model.reference_lines:
            painter.drawLine(QPointF(*t.image_to_screen(*a)), QPointF(*t.image_to_screen(*b)))

    def _draw_texts(self, painter: QPainter, model: Any, t: Any, scale: float) -> None:
        w, h = model.width, model.height
        pad = int(6 * scale)
        fs = int(round(13 * scale))
        corners = model.corner_text(self.window_used)
        for text, x, y, hj, vj in ((corners.top_left, pad, pad, "left", "top"),
                                   (corners.top_right, w - pad, pad, "right", "top"),
                                   (corners.bottom_left, pad, h - pad, "left", "bottom"),
                                   (corners.bottom_right, w - pad, h - pad, "right", "bottom")):
            draw_text(painter, text, x, y, fs, hj, vj, TEXT)
        labels = model.orientation()
        big = int(fs * 1.3)
        for edge, x, y, hj, vj in (("left", pad, h / 2, "left", "center"), ("right", w - pad, h / 2, "right", "center"),
                                   ("top", w / 2, pad, "center", "top"), ("bottom", w / 2, h - pad, "center", "bottom")):
            draw_text(painter, labels.get(edge, ""), x, y, big, hj, vj, MARKER)
        self._draw_scale_bar(painter, model, t, scale, fs)

    @staticmethod
    def _draw_scale_bar(painter: QPainter, model: Any, t: Any, scale: float, fs: int) -> None:
        cal = model.calibration()
        if not cal.calibrated or cal.source == "US region":
            return
        length, label = scale_bar(t)
        w, h = model.width, model.height
        y = h - int(34 * scale)  # SceneView's y is up from the bottom
        x0, x1, tick = w / 2 - length / 2, w / 2 + length / 2, 5 * scale
        painter.setPen(QPen(TEXT, 2.0))
        for (ax, ay), (bx, by) in (((x0, y - tick), (x0, y)), ((x0, y), (x1, y)), ((x1, y), (x1, y - tick)),
                                   ((w / 2, y), (w / 2, y - tick * 0.6))):
            painter.drawLine(QPointF(ax, ay), QPointF(bx, by))
        draw_text(painter, label, w / 2, y - tick - 2, int(fs * 0.9), "center", "bottom", TEXT)

    @staticmethod
    def _draw_error(painter: QPainter, model: Any, scale: float, error: Optional[str]) -> None:
        if error is None:
            return
        arriving = is_placeholder_reason(error)
        text = error if arriving else "Cannot display this image:\n" + "\n".join(textwrap.wrap(error, 60)[:6])
        draw_text(painter, text, model.width / 2, model.height / 2, int(round(13 * scale)), "center", "center",
                  ARRIVING if arriving else ERROR)


def draw_text(painter: QPainter, text: str, x: float, y: float, size: int, h: str, v: str, colour: QColor) -> None:
    """Text as props_view.text_actor draws it: dark translucent box, dark shadow, justified at (x, y) (y down)."""
    if not text:
        return
    font = QFont("Arial")
    pixels = max(6, int(round(size * TEXT_SCALE[0])))
    font.setPixelSize(pixels)
    if not any(name in QFontInfo(font).family() for name in ("Arial", "Liberation Sans", "Arimo")):
        font.setStretch(STRETCH)
    painter.setFont(font)
    metrics = QFontMetricsF(font)
    lines = text.split("\n")
    step = pixels * LINE_SPACING
    width = max(metrics.horizontalAdvance(line) for line in lines)
    height = metrics.height() + step * (len(lines) - 1)
    left = x if h == "left" else x - width if h == "right" else x - width / 2
    top = y if v == "top" else y - height if v == "bottom" else y - height / 2
    painter.fillRect(QRectF(left, top, width, height), BOX)
    for i, line in enumerate(lines):
        lw = metrics.horizontalAdvance(line)
        lx = left if h == "left" else left + width - lw if h == "right" else left + (width - lw) / 2
        baseline = top + i * step + metrics.ascent()
        painter.setPen(Qt.GlobalColor.black)
        painter.drawText(QPointF(lx + 1, baseline + 1), line)
        painter.setPen(colour)
        painter.drawText(QPointF(lx, baseline), line)


def grab_rgb(widget: QWidget) -> np.ndarray:
    """What ``widget`` shows, as (H, W, 3) uint8 at its physical size."""
    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    h, w, stride = image.height(), image.width(), image.bytesPerLine()
    return np.frombuffer(image.constBits(), np.uint8, h * stride).reshape(h, stride)[:, :w * 3].reshape(h, w, 3).copy()
