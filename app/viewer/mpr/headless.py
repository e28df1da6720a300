"""MPR layout to PNG without a display: `telerad screenshot STUDY_UID --mpr --out PNG`.

The plane views are resliced exactly as on screen (:class:`MprScene`) and drawn with Pillow
(crosshair, orientation labels, slab and window text); the 3D pane is rendered by VTK in an
offscreen vtkRenderWindow (EGL without X) when the OpenGL probe allows it, else it carries
the probe's fallback message. No Qt is needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import numpy as np

from app.dicom.geometry import VolumeGeometry
from app.viewer.mpr.planes import COLOURS, VIEWS, crosshair_direction, edge_labels

if TYPE_CHECKING:  # pragma: no cover
    from app.store import Cache

LAYOUT = {"axial": (0, 0), "coronal": (1, 0), "sagittal": (0, 1)}  # (column, row) in a 2x2 grid


def render_mpr_png(cache: "Cache", study_uid: str, out: Path | str, size: tuple[int, int] = (1200, 900)) -> None:
    """Write the MPR layout of ``study_uid``'s best volume series to ``out`` (PNG).

    Raises ValueError when the study has no series usable as a volume, GeometryError /
    DecodeError from loading.
    """
    from app.viewer.mpr.loader import load_mpr_volume, pick_series

    series_uid = pick_series(cache, study_uid)
    if series_uid is None:
        raise ValueError(f"study {study_uid} has no series that forms a volume (MPR needs >= 8 parallel slices)")
    volume = load_mpr_volume(cache, series_uid)
    render_volume_png(volume.array, volume.geometry, out, window=volume.window, modality=volume.modality, size=size)


def render_volume_png(array: np.ndarray, geometry: VolumeGeometry, out: Path | str, *,
                      window: Optional[tuple[float, float]] = None, modality: str = "",
                      size: tuple[int, int] = (1200, 900), volume_rendering: Optional[bool] = None,
                      slab: tuple[str, float] = ("none", 0.0)) -> np.ndarray:
    """Render the layout of a loaded volume to ``out``; returns the (h, w, 3) picture.

    ``volume_rendering``: None asks the OpenGL probe; False leaves the 3D pane out.
    """
    from PIL import Image

    from app.viewer.mpr.scene import MprScene

    pw, ph = size[0] // 2, size[1] // 2
    canvas = np.zeros((ph * 2, pw * 2, 3), np.uint8)
    scene = MprScene(np.ascontiguousarray(array), geometry, window)
    scene.state.set_slab(*slab)
    try:
        for view in VIEWS:
            col, row = LAYOUT[view]
            canvas[row * ph:(row + 1) * ph, col * pw:(col + 1) * pw] = _annotated(scene, view, pw, ph)
    finally:
        scene.release()
    canvas[ph:, pw:] = _volume_pane(array, geometry, modality, pw, ph, volume_rendering)
    Image.fromarray(canvas).save(str(out))
    return canvas


def _font(size: int):  # type: ignore[no-untyped-def]
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def _annotated(scene: "object", view: str, width: int, height: int) -> np.ndarray:
    from PIL import Image, ImageDraw

    state = scene.state  # type: ignore[attr-defined]
    image = scene.image(view, width, height)  # type: ignore[attr-defined]
    pane = Image.fromarray(image.pixels).convert("RGB")
    draw = ImageDraw.Draw(pane)
    plane = state.plane(view)
    cx, cy = state.grid(view, width, height).lps_to_pixel(state.centre)
    big = 2 * (width + height)
    for other in VIEWS:
        d = None if other == view else crosshair_direction(plane, state.plane(other))
        if d is not None:
            for s in (1, -1):
                draw.line([(cx + s * 10 * d[0], cy + s * 10 * d[1]), (cx + s * big * d[0], cy + s * big * d[1])],
                          fill=COLOURS[other], width=1)
    draw.rectangle([0, 0, width - 1, height - 1], outline=COLOURS[view], width=2)
    labels = edge_labels(plane)
    font = _font(16)
    yellow = (255, 255, 160)
    draw.text((width / 2, 4), labels["top"], fill=yellow, font=font, anchor="mt")
    draw.text((width / 2, height - 4), labels["bottom"], fill=yellow, font=font, anchor="mb")
    draw.text((6, height / 2), labels["left"], fill=yellow, font=font, anchor="lm")
    draw.text((width - 6, height / 2), labels["right"], fill=yellow, font=font, anchor="rm")
    title = view.capitalize() + (" (oblique)" if state.oblique else "")
    if state.slab_mode != "none" and state.slab_mm > 0:
        title += f"  {state.slab_mode.upper()} {state.slab_mm:g} mm"
    small = _font(13)
    draw.text((8, 24), title, fill=COLOURS[view], font=small)
    c, w = state.window
    draw.text((8, height - 20), f"W {w:.0f}  L {c:.0f}", fill=(220, 220, 220), font=small)
    return np.asarray(pane)


def _volume_pane(array: np.ndarray, geometry: VolumeGeometry, modality: str, width: int, height: int,
                 enabled: Optional[bool]) -> np.ndarray:
    from PIL import Image, ImageDraw

    message = ""
    software = True
    if enabled is None:
        from app.viewer.gl_probe import capabilities

        caps = capabilities()
        enabled, software, message = caps.volume_rendering, caps.software, caps.message
    if enabled:
        try:
            return render_volume_offscreen(array, geometry, modality, width, height, software)
        except Exception as exc:  # noqa: BLE001 - a driver failure must not lose the MPR panes
            message = f"3D rendering failed: {exc}"
    pane = Image.new("RGB", (width, height))
    ImageDraw.Draw(pane).multiline_text((10, 10), _wrap(message or "3D view off", 60), fill=(200, 200, 200),
                                        font=_font(13))
    return np.asarray(pane)


def render_volume_offscreen(array: np.ndarray, geometry: VolumeGeometry, modality: str, width: int, height: int,
                            software: bool = True) -> np.ndarray:
    """(h, w, 3) volume rendering with the modality's default preset (offscreen vtkRenderWindow)."""
    import vtkmodules.vtkRenderingOpenGL2  # noqa: F401
    from vtkmodules.util.numpy_support import vtk_to_numpy
    from vtkmodules.vtkCommonCore import vtkLogger
    from vtkmodules.vtkRenderingCore import vtkRenderer, vtkRenderWindow, vtkWindowToImageFilter

    from app.viewer.mpr.volume_scene import VolumeScene
    from app.viewer.mpr.vr_presets import default_preset

    vtkLogger.SetStderrVerbosity(vtkLogger.VERBOSITY_ERROR)  # no X: VTK warns, then uses EGL
    window = vtkRenderWindow()
    window.SetOffScreenRendering(1)
    window.SetSize(width, height)
    renderer = vtkRenderer()
    window.AddRenderer(renderer)
    scene = VolumeScene(renderer, np.ascontiguousarray(array), geometry, default_preset(modality), software=software)
    try:
        window.Render()
        grab = vtkWindowToImageFilter()
        grab.SetInput(window)
        grab.Update()
        img = grab.GetOutput()
        w, h, _ = img.GetDimensions()
        pixels = vtk_to_numpy(img.GetPointData().GetScalars()).reshape(h, w, -1)[::-1, :, :3]
        return np.ascontiguousarray(pixels[:height, :width])
    finally:
        scene.release()
        window.Finalize()


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width))
