"""Headless rendering of a layout of viewports to an RGB array (offscreen VTK, no Qt, no X).

Also the screenshot helper for on-screen VTK render windows (vtkWindowToImageFilter).
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np
import vtkmodules.vtkRenderingOpenGL2  # noqa: F401
from vtkmodules.util import numpy_support
from vtkmodules.vtkRenderingCore import vtkRenderer, vtkRenderWindow, vtkWindowToImageFilter

from app.viewer.layout import GAP
from app.viewer.scene_view import SceneView, configure_render_window
from app.viewer.viewport_model import ViewportModel



def grab_render_window(rw: Any) -> np.ndarray:
    """(H, W, 3) uint8 RGB of what ``rw`` shows (top row first), via vtkWindowToImageFilter."""
    grab = vtkWindowToImageFilter()
    grab.SetInput(rw)
    grab.SetInputBufferTypeToRGB()
    grab.ReadFrontBufferOff()
    grab.Update()
    image = grab.GetOutput()
    w, h, _ = image.GetDimensions()
    arr = numpy_support.vtk_to_numpy(image.GetPointData().GetScalars()).reshape(h, w, -1)
    return np.ascontiguousarray(arr[::-1, :, :3])


def cell_boxes(rows: int, cols: int, width: int, height: int) -> list[tuple[int, int, int, int]]:
    """(x, y, w, h) of each viewport, row-major from the top-left, with gaps between them."""
    cw, ch = (width - GAP * (cols - 1)) // cols, (height - GAP * (rows - 1)) // rows
    return [(c * (cw + GAP), r * (ch + GAP), cw, ch) for r in range(rows) for c in range(cols)]


def _offscreen_window() -> Any:
    """An offscreen render window: EGL when there is no X display (no X warning), else default."""
    import os

    rw: Any = None
    if not os.environ.get("DISPLAY"):
        from vtkmodules.vtkRenderingOpenGL2 import vtkEGLRenderWindow

        rw = vtkEGLRenderWindow()
    else:
        rw = vtkRenderWindow()
    rw.SetOffScreenRendering(1)
    return rw


def render_layout(models: Sequence[Optional[ViewportModel]], rows: int, cols: int,
                  width: int = 1024, height: int = 1024) -> np.ndarray:
    """Render ``models`` (row-major; None = empty viewport) into one RGB image, offscreen."""
    rw = _offscreen_window()
    configure_render_window(rw)
    rw.SetSize(width, height)
    scenes = []
    for (x, y, w, h), model in zip(cell_boxes(rows, cols, width, height), models):
        ren = vtkRenderer()
        # VTK viewports are fractions with the origin at the bottom-left
        ren.SetViewport(x / width, 1.0 - (y + h) / height, (x + w) / width, 1.0 - y / height)
        rw.AddRenderer(ren)
        if model is not None:
            model.resize(w, h)
            scene = SceneView(ren, model)
            scene.update()
            scenes.append(scene)
    rw.Render()
    image = grab_render_window(rw)
    rw.Finalize()
    return image


def save_png(image: np.ndarray, path: Any) -> None:
    """Write ``image`` as PNG (encrypted inside an unlocked encrypted data folder: key images)."""
    import io
    from pathlib import Path

    from PIL import Image

    from app.crypto import seal_for

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    Path(path).write_bytes(seal_for(path, buf.getbuffer()))
