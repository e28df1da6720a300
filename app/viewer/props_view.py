"""Small VTK building blocks of the scene: render-window settings, image quads, text actors, 2D polylines."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

import numpy as np

if TYPE_CHECKING:  # pragma: no cover - VTK is imported on first use (~0.3 s): set_text_scale runs before
    from vtkmodules.vtkRenderingCore import vtkRenderer, vtkTextActor


def _load_factories() -> None:
    """The text rendering and OpenGL object factories (imported once, before any actor is built)."""
    import vtkmodules.vtkRenderingFreeType  # noqa: F401 - text rendering factory
    import vtkmodules.vtkRenderingOpenGL2  # noqa: F401 - OpenGL factory


def configure_render_window(rw: Any) -> None:
    """Settings that keep software (llvmpipe) rendering fast.

    No MSAA (8x costs llvmpipe ~10x on a full-window image). Frame blit "to current": VTK
    renders into its own framebuffer and, by default (BlitToHardware), copies it to the
    window with an extra full-window depth copy done by a fragment shader; nothing draws
    over our window with depth, and the colour-only blit into the window's (bound) default
    framebuffer shows the same pixels: 1024x768 frames cost ~3.4 ms instead of ~8 ms.
    """
    rw.SetMultiSamples(0)
    rw.SetAlphaBitPlanes(0)
    rw.SetLineSmoothing(0)
    rw.SetFrameBlitModeToBlitToCurrent()


class ImageQuad:
    """A uint8 image (grey, RGB or RGBA) drawn as one textured 2D quad in world coordinates.

    Pixel (i, j) is centred on world (i * sx, j * sy), as vtkImageSliceMapper would place it.
    Why not vtkImageSliceMapper: on llvmpipe its textured polygon costs ~2x per screen pixel
    (13 ms CPU vs 6 ms for a 768x768 quad); the 2D mapper's shader is a plain texture fetch.
    The numpy buffer is wrapped zero-copy: write into ``buf`` and call ``modified()``.
    """

    def __init__(self, renderer: vtkRenderer) -> None:
        _load_factories()
        from vtkmodules.vtkCommonCore import vtkFloatArray, vtkPoints
        from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkImageData, vtkPolyData
        from vtkmodules.vtkRenderingCore import vtkCoordinate, vtkPolyDataMapper2D, vtkTexture, vtkTexturedActor2D

        self.buf: Optional[np.ndarray] = None
        self._spacing = (0.0, 0.0)
        self.image = vtkImageData()
        self.texture = vtkTexture()
        self.texture.SetInputData(self.image)
        self.texture.SetColorModeToDirectScalars()  # the buffer already holds display values
        self.texture.RepeatOff()
        self.texture.EdgeClampOn()
        self._points = vtkPoints()
        self._points.SetNumberOfPoints(4)
        tcoords = vtkFloatArray()
        tcoords.SetNumberOfComponents(2)
        for uv in ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)):
            tcoords.InsertNextTuple2(*uv)
        cells = vtkCellArray()
        cells.InsertNextCell(4, [0, 1, 2, 3])
        self._poly = vtkPolyData()
        self._poly.SetPoints(self._points)
        self._poly.SetPolys(cells)
        self._poly.GetPointData().SetTCoords(tcoords)
        mapper = vtkPolyDataMapper2D()
        mapper.SetInputData(self._poly)
        coord = vtkCoordinate()
        coord.SetCoordinateSystemToWorld()
        mapper.SetTransformCoordinate(coord)
        mapper.SetTransformCoordinateUseDouble(True)  # sub-pixel corners: exact zoom and pan
        self.actor = vtkTexturedActor2D()
        self.actor.SetMapper(mapper)
        self.actor.SetTexture(self.texture)
        self.actor.VisibilityOff()
        renderer.AddViewProp(self.actor)

    def ensure(self, shape: tuple[int, ...], sx: float, sy: float) -> np.ndarray:
        """The uint8 buffer of ``shape`` with pixel spacing (sx, sy), reallocated on change."""
        if self.buf is None or self.buf.shape != shape or self._spacing != (sx, sy):
            from vtkmodules.util import numpy_support

            self.buf = np.zeros(shape, np.uint8)
            rows, cols = shape[:2]
            comps = 1 if len(shape) == 2 else shape[2]
            self.image.SetDimensions(cols, rows, 1)
            arr = numpy_support.numpy_to_vtk(self.buf.reshape(-1, comps) if comps > 1 else self.buf.reshape(-1),
                                             deep=False, array_type=numpy_support.get_vtk_array_type(np.uint8))
            self.image.GetPointData().SetScalars(arr)
            x0, y0, x1, y1 = -0.5 * sx, -0.5 * sy, (cols - 0.5) * sx, (rows - 0.5) * sy
            for i, (x, y) in enumerate(((x0, y0), (x1, y0), (x1, y1), (x0, y1))):
                self._points.SetPoint(i, x, y, 0.0)
            self._points.Modified()
            self._poly.Modified()
            self._spacing = (sx, sy)
        return self.buf

    def modified(self) -> None:
        """The buffer's content changed: upload it on the next render."""
        self.image.GetPointData().GetScalars().Modified()
        self.image.Modified()

    def set_interpolate(self, on: bool) -> None:
        if bool(self.texture.GetInterpolate()) != on:
            self.texture.SetInterpolate(on)

    def set_visible(self, on: bool) -> None:
        if bool(self.actor.GetVisibility()) != on:
            self.actor.SetVisibility(on)


#: overlay text size factor: the screen's DPI (logical DPI / 96) times the user's setting (set_text_scale)
TEXT_SCALE = [1.0]


def set_text_scale(user: float = 1.0, dpi: float = 96.0) -> float:
    """Overlay text size follows the screen's DPI and the user's setting (clamped to 0.5..4)."""
    TEXT_SCALE[0] = min(4.0, max(0.5, float(user) * max(dpi, 48.0) / 96.0))
    return TEXT_SCALE[0]


def text_actor(size: int, h: str, v: str, rgb: tuple = (0.95, 0.95, 0.95)) -> vtkTextActor:
    """A 2D text with a dark shadow and a dark translucent box: it reads on any image, inverted ones included."""
    _load_factories()
    from vtkmodules.vtkRenderingCore import vtkTextActor

    actor = vtkTextActor()
    prop = actor.GetTextProperty()
    prop.SetFontSize(max(6, int(round(size * TEXT_SCALE[0]))))
    prop.SetColor(*rgb)
    prop.SetShadow(1)
    prop.SetShadowOffset(1, -1)
    prop.SetBackgroundColor(0.0, 0.0, 0.0)
    prop.SetBackgroundOpacity(0.55)
    {"left": prop.SetJustificationToLeft, "right": prop.SetJustificationToRight,
     "center": prop.SetJustificationToCentered}[h]()
    {"top": prop.SetVerticalJustificationToTop, "bottom": prop.SetVerticalJustificationToBottom,
     "center": prop.SetVerticalJustificationToCentered}[v]()
    return actor


class Lines:
    """One 2D actor drawing polylines given in world or display coordinates."""

    def __init__(self, renderer: vtkRenderer, rgb: tuple, world: bool, width: float = 1.5) -> None:
        _load_factories()
        from vtkmodules.vtkCommonDataModel import vtkPolyData
        from vtkmodules.vtkRenderingCore import vtkActor2D, vtkCoordinate, vtkPolyDataMapper2D

        self.poly = vtkPolyData()
        self._last: Any = None
        mapper = vtkPolyDataMapper2D()
        mapper.SetInputData(self.poly)
        if world:
            coord = vtkCoordinate()
            coord.SetCoordinateSystemToWorld()
            mapper.SetTransformCoordinate(coord)
        self.actor = vtkActor2D()
        self.actor.SetMapper(mapper)
        self.actor.GetProperty().SetColor(*rgb)
        self.actor.GetProperty().SetLineWidth(width)
        renderer.AddViewProp(self.actor)

    def set(self, polylines: list[list[tuple[float, float]]]) -> None:
        """Replace the polylines (no-op when unchanged: a new VBO is uploaded otherwise)."""
        if polylines == self._last:
            return
        self._last = [list(line) for line in polylines]
        from vtkmodules.vtkCommonCore import vtkPoints
        from vtkmodules.vtkCommonDataModel import vtkCellArray

        points, cells = vtkPoints(), vtkCellArray()
        for line in polylines:
            if len(line) < 2:
                continue
            ids = [points.InsertNextPoint(x, y, 0.0) for x, y in line]
            cells.InsertNextCell(len(ids), ids)
        self.poly.SetPoints(points)
        self.poly.SetLines(cells)
        self.poly.Modified()
