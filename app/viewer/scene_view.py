"""VTK props of one viewport, drawn from a ViewportModel (VTK only: used in Qt and headless).

Speed: the frame is windowed in numpy (one table lookup) into a uint8 buffer that a
vtkImageData wraps zero-copy; a scroll or W/L drag only marks it Modified, so VTK uploads
one 8-bit texture and does no colour mapping. The image is a textured 2D quad
(props_view.ImageQuad), half the per-pixel cost of vtkImageSliceMapper on llvmpipe. The
camera (not the data) carries zoom, pan, rotation and flip. Text actors are only touched
when their string or position changes (a changed string re-lays out and re-uploads that
text). Render windows must be created with multisampling off (see
``configure_render_window``): 8x MSAA costs llvmpipe ~10x on a full-window image.
"""

from __future__ import annotations

import math
import textwrap
from typing import TYPE_CHECKING, Any

import numpy as np

from app.viewer.annotations import scale_bar
from app.viewer.interaction import ALL, FRAME, MEASURE, VIEW, WINDOW
from app.viewer.props_view import ImageQuad
from app.viewer.props_view import Lines as _Lines
from app.viewer.props_view import configure_render_window, text_actor
from app.viewer.series_data import is_placeholder_reason
from app.viewer.viewport_model import ViewportModel

if TYPE_CHECKING:  # VTK loads with the first SceneView (props_view), not with this module
    from vtkmodules.vtkRenderingCore import vtkRenderer, vtkTextActor

MEASURE_RGB = (1.0, 0.85, 0.1)
ACTIVE_RGB = (0.2, 0.9, 1.0)
GSPS_RGB = (1.0, 0.5, 0.1)
REFLINE_RGB = (0.3, 1.0, 0.3)
TEXT_RGB = (0.95, 0.95, 0.95)
ERROR_RGB = (1.0, 0.45, 0.4)
__all__ = ["ALL", "SceneView", "configure_render_window"]


class SceneView:
    """Image layer, overlay layer, texts, markers, scale bar, measurements of one viewport."""

    def __init__(self, renderer: vtkRenderer, model: ViewportModel, scale: float = 1.0) -> None:
        self.renderer, self.model, self.scale = renderer, model, scale
        renderer.SetBackground(0, 0, 0)
        renderer.GetActiveCamera().ParallelProjectionOn()
        self._image = ImageQuad(renderer)  # first added, first drawn: under everything else
        self._overlay = ImageQuad(renderer)
        self._overlay.set_interpolate(False)
        fs = int(round(13 * scale))
        self.corners = {
            "tl": text_actor(fs, "left", "top"), "tr": text_actor(fs, "right", "top"),
            "bl": text_actor(fs, "left", "bottom"), "br": text_actor(fs, "right", "bottom"),
        }
        self.markers = {
            "left": text_actor(int(fs * 1.3), "left", "center", (1.0, 0.9, 0.4)),
            "right": text_actor(int(fs * 1.3), "right", "center", (1.0, 0.9, 0.4)),
            "top": text_actor(int(fs * 1.3), "center", "top", (1.0, 0.9, 0.4)),
            "bottom": text_actor(int(fs * 1.3), "center", "bottom", (1.0, 0.9, 0.4)),
        }
        for actor in (*self.corners.values(), *self.markers.values()):
            renderer.AddViewProp(actor)
        self._bar = _Lines(renderer, TEXT_RGB, world=False, width=2.0)
        self._bar_text = text_actor(int(fs * 0.9), "center", "bottom")
        renderer.AddViewProp(self._bar_text)
        self._error = text_actor(fs, "center", "center", ERROR_RGB)  # the placeholder's reason
        renderer.AddViewProp(self._error)
        self._measures = _Lines(renderer, MEASURE_RGB, world=True)
        self._active = _Lines(renderer, ACTIVE_RGB, world=True)
        self._gsps = _Lines(renderer, GSPS_RGB, world=True)
        self._reflines = _Lines(renderer, REFLINE_RGB, world=True, width=1.0)
        self._labels: list[vtkTextActor] = []
        self._texts: dict[vtkTextActor, tuple[str, tuple[float, float]]] = {}
        self.window_used: Any = None
        self.last_window: Any = None
        self.show_text = True

    # -- image -------------------------------------------------------------------------------
    def _update_image(self) -> None:
        model = self.model
        g = model.image_geometry()
        buf = self._image.ensure(model.display_shape(), g.sx, g.sy)
        self.window_used = model.render_into(buf)
        self._image.modified()
        self._image.set_interpolate(model.state.interpolate)
        self._image.set_visible(True)

    def _update_overlay(self) -> None:
        layer = self.model.overlay_layer()
        if layer is None:
            self._overlay.set_visible(False)
            return
        g = self.model.image_geometry()
        np.copyto(self._overlay.ensure(layer.shape, g.sx, g.sy), layer)
        self._overlay.modified()
        self._overlay.set_visible(True)

    # -- camera, texts -------------------------------------------------------------------------
    def _update_camera(self) -> None:
        t = self.model.transform()
        cam = self.renderer.GetActiveCamera()
        cx, cy = t.center
        cam.SetFocalPoint(cx, cy, 0.0)
        cam.SetPosition(cx, cy, 1000.0 if t.hflip else -1000.0)
        ux, uy = t.view_up()
        cam.SetViewUp(ux, uy, 0.0)
        cam.SetParallelScale(t.parallel_scale)
        cam.SetClippingRange(1.0, 2000.0)

    def _set_text(self, actor: vtkTextActor, text: str, pos: tuple[float, float]) -> None:
        """Touch a text actor only when its string or position changed: a new string costs
        a FreeType layout and a texture upload; an unchanged one costs nothing."""
        if self._texts.get(actor) != (text, pos):
            self._texts[actor] = (text, pos)
            actor.SetInput(text)
            actor.SetPosition(*pos)

    def _update_texts(self) -> None:
        model = self.model
        w, h = model.width, model.height
        pad = int(6 * self.scale)
        corners = model.corner_text(self.window_used)
        for key, text, pos in (("tl", corners.top_left, (pad, h - pad)), ("tr", corners.top_right, (w - pad, h - pad)),
                               ("bl", corners.bottom_left, (pad, pad)), ("br", corners.bottom_right, (w - pad, pad))):
            self._set_text(self.corners[key], text if self.show_text else "", pos)
        labels = model.orientation()
        for edge, pos in (("left", (pad, h / 2)), ("right", (w - pad, h / 2)), ("top", (w / 2, h - pad)),
                          ("bottom", (w / 2, pad))):
            self._set_text(self.markers[edge], labels.get(edge, ""), pos)
        self._update_scale_bar()

    def _update_scale_bar(self) -> None:
        model = self.model
        cal = model.calibration()
        if not cal.calibrated or cal.source == "US region":
            self._bar.set([])
            self._set_text(self._bar_text, "", (0.0, 0.0))
            return
        length, label = scale_bar(model.transform())
        w = model.width
        y = int(34 * self.scale)
        x0, x1 = w / 2 - length / 2, w / 2 + length / 2
        tick = 5 * self.scale
        self._bar.set([[(x0, y + tick), (x0, y), (x1, y), (x1, y + tick)], [(w / 2, y), (w / 2, y + tick * 0.6)]])
        self._set_text(self._bar_text, label, (w / 2, y + tick + 2))

    # -- measurements and other graphics -------------------------------------------------------
    def _shape(self, m: Any, t: Any) -> list[list[tuple[float, float]]]:
        w = [t.image_to_world(*p) for p in m.points]
        if m.kind in ("ellipse", "rect") and len(w) >= 2:
            (x0, y0), (x1, y1) = w[0], w[-1]
            if m.kind == "rect":
                return [[(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]]
            cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2, abs(x1 - x0) / 2, abs(y1 - y0) / 2
            return [[(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in np.linspace(0, 2 * math.pi, 65)]]
        if m.kind == "probe" and w:
            x, y = w[0]
            r = 4 / t.ppm
            return [[(x - r, y), (x + r, y)], [(x, y - r), (x, y + r)]]
        if m.kind == "cobb" and len(w) >= 2:
            return [w[:2], w[2:4]]
        if m.kind == "arrow" and len(w) >= 2:
            (x0, y0), (x1, y1) = w[0], w[1]
            ang, size = math.atan2(y1 - y0, x1 - x0), 12 / t.ppm
            head = [(x0 + size * math.cos(ang + s), y0 + size * math.sin(ang + s)) for s in (0.4, -0.4)]
            return [[(x1, y1), (x0, y0)], [head[0], (x0, y0), head[1]]]
        return [w]

    def _label(self, index: int) -> vtkTextActor:
        while len(self._labels) <= index:
            actor = text_actor(int(12 * self.scale), "left", "bottom", MEASURE_RGB)
            actor.GetPositionCoordinate().SetCoordinateSystemToWorld()
            self.renderer.AddViewProp(actor)
            self._labels.append(actor)
        return self._labels[index]

    def _update_measurements(self) -> None:
        model = self.model
        t = model.transform()
        done, drawing, n = [], [], 0
        for m in model.measurements():
            (drawing if m is model.active else done).extend(self._shape(m, t))
            if not m.points:
                continue
            text = model.result(m).label if m.complete else ""
            if text:
                x, y = t.image_to_world(*m.points[-1 if m.kind not in ("arrow",) else 1])
                actor = self._label(n)
                actor.SetInput(text)
                actor.SetPosition(x + 6 / t.ppm, y)
                actor.VisibilityOn()
                n += 1
        for g in model.graphics():
            pts = [t.image_to_world(*p) for p in g.points]
            if g.text:
                actor = self._label(n)
                actor.SetInput(g.text)
                actor.SetPosition(*pts[0])
                actor.VisibilityOn()
                n += 1
        for actor in self._labels[n:]:
            actor.VisibilityOff()
        self._measures.set(done)
        self._active.set(drawing)
        self._gsps.set([[t.image_to_world(*p) for p in (g.points + g.points[:1] if g.closed else g.points)]
                        for g in model.graphics() if not g.text])
        self._reflines.set([[t.image_to_world(*a), t.image_to_world(*b)] for a, b in model.reference_lines])

    # -- entry point ---------------------------------------------------------------------------
    def update(self, changes: frozenset | set = ALL) -> None:
        """Bring the props up to date with the model; ``changes`` limits the work.

        An image that cannot be shown (decode or header failure) becomes a black placeholder
        with its one-line reason; the viewport stays usable (scroll to the next image).
        """
        if not self.model.has_image:
            self._image.set_visible(False)
            self._overlay.set_visible(False)
            self._set_text(self._error, "", (0.0, 0.0))
            return
        try:
            self._update(changes)
            error = self.model.frame_error()
        except Exception as exc:  # noqa: BLE001 - a broken header must never take the viewer down
            self._image.set_visible(False)
            self._overlay.set_visible(False)
            error = getattr(exc, "reason", None) or f"{type(exc).__name__}: {exc}"
        self._show_error(error)

    def _show_error(self, error: str | None) -> None:
        text = "" if error is None else "Cannot display this image:\n" + "\n".join(textwrap.wrap(error, 60)[:6])
        arriving = is_placeholder_reason(error)  # a slice still coming (series_data.ARRIVING): grey, not an error
        if arriving:
            text = error
        self._error.GetTextProperty().SetColor(*((0.85, 0.85, 0.85) if arriving else ERROR_RGB))
        self._set_text(self._error, text, (self.model.width / 2, self.model.height / 2))

    def _update(self, changes: frozenset | set) -> None:
        if FRAME in changes or WINDOW in changes:
            self._update_image()
        if FRAME in changes:
            self._update_overlay()
        if VIEW in changes or FRAME in changes:
            self._update_camera()
        self._update_texts()
        if MEASURE in changes or VIEW in changes or FRAME in changes:
            self._update_measurements()
