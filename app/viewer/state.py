"""The Qt-free view state of one viewport: frame, window/level, zoom, pan, rotation, flip, cine."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from app.viewer.transform import Point, ViewTransform, fit_ppm, image_center

Window = tuple[float, float]  # (centre, width) in modality values

MIN_PPM_FACTOR, MAX_PPM_FACTOR = 0.05, 40.0  # zoom limits relative to the fit scale / 1:1


@dataclass
class ImageGeometry:
    """The displayed frame's size and pixel spacing (mm; 1.0 when uncalibrated)."""

    cols: int
    rows: int
    sx: float = 1.0
    sy: float = 1.0


@dataclass
class ViewState:
    """Everything that decides what a viewport shows (besides the series itself)."""

    frame: int = 0
    frame_count: int = 1
    window: Optional[Window] = None  # None: the header's (or automatic) window
    window_index: int = 0  # which header window (several are allowed)
    invert: bool = False  # user inversion (on top of MONOCHROME1)
    ppm: Optional[float] = None  # screen pixels per mm; None = fit to viewport
    center: Optional[Point] = None  # world point at the viewport centre; None = image centre
    rotation: int = 0  # quarter turns clockwise
    hflip: bool = False
    interpolate: bool = True
    cine_playing: bool = False
    cine_fps: float = 0.0  # 0 = use the series' frame time
    preset_name: str = ""
    extra: dict = field(default_factory=dict)

    # -- frames ------------------------------------------------------------------------------
    def set_frame(self, index: int) -> bool:
        """Clamp and set the frame; True if it changed."""
        index = max(0, min(int(index), self.frame_count - 1))
        changed = index != self.frame
        self.frame = index
        return changed

    def scroll(self, delta: int) -> bool:
        return self.set_frame(self.frame + delta)

    def cine_step(self) -> int:
        """Advance one frame, wrapping round (cine loop)."""
        self.frame = (self.frame + 1) % max(self.frame_count, 1)
        return self.frame

    # -- window ------------------------------------------------------------------------------
    def drag_window(self, current: Window, dx: float, dy: float, value_range: float) -> Window:
        """Mouse drag: right widens the window, down raises the centre (Weasis/RadiAnt feel)."""
        centre, width = current
        step = max(value_range, 1.0) / 1024.0 + width / 256.0
        self.window = (centre + dy * step, max(width + dx * step, 1.0))
        self.preset_name = ""
        return self.window

    def set_window(self, window: Optional[Window], name: str = "") -> None:
        self.window = None if window is None else (float(window[0]), max(float(window[1]), 1.0))
        self.preset_name = name

    # -- geometry ----------------------------------------------------------------------------
    def transform(self, image: ImageGeometry, width: int, height: int) -> ViewTransform:
        """The mapping for ``image`` in a ``width`` x ``height`` (physical pixels) viewport."""
        width, height = max(int(width), 1), max(int(height), 1)
        fit = fit_ppm(image.cols, image.rows, image.sx, image.sy, width, height, self.rotation)
        ppm = fit if self.ppm is None else self.ppm
        center = self.center or image_center(image.cols, image.rows, image.sx, image.sy)
        return ViewTransform(image.cols, image.rows, image.sx, image.sy, width, height, ppm, center,
                             self.rotation % 4, self.hflip)

    def zoom_by(self, factor: float, t: ViewTransform, anchor: Optional[Point] = None) -> None:
        """Multiply the scale, keeping the world point under screen ``anchor`` in place."""
        fit = fit_ppm(t.cols, t.rows, t.sx, t.sy, t.width, t.height, t.rotation)
        ppm = min(max(t.ppm * factor, fit * MIN_PPM_FACTOR), MAX_PPM_FACTOR / min(t.sx, t.sy))
        if anchor is None:
            anchor = (t.width / 2.0, t.height / 2.0)
        wx, wy = t.screen_to_world(*anchor)
        # after scaling, anchor must still show (wx, wy): shift the centre accordingly
        cx = wx - (wx - t.center[0]) * t.ppm / ppm
        cy = wy - (wy - t.center[1]) * t.ppm / ppm
        self.ppm, self.center = ppm, (cx, cy)

    def set_pixel_zoom(self, zoom: float, t: ViewTransform) -> None:
        """Zoom so one image pixel covers ``zoom`` physical screen pixels (1.0 = 1:1)."""
        self.zoom_by(zoom / t.pixel_zoom, t)

    def pan_by(self, du: float, dv: float, t: ViewTransform) -> None:
        """Drag the image by (du, dv) screen pixels."""
        wx, wy = t.screen_vector_to_world(du, dv)
        self.center = (t.center[0] - wx, t.center[1] - wy)
        self.ppm = t.ppm

    def fit(self) -> None:
        self.ppm, self.center = None, None

    # -- orientation -------------------------------------------------------------------------
    def rotate(self, quarter_turns: int) -> None:
        self.rotation = (self.rotation + quarter_turns) % 4

    def flip_horizontal(self) -> None:
        self.hflip = not self.hflip

    def flip_vertical(self) -> None:
        """A vertical mirror is a horizontal one plus half a turn."""
        self.hflip = not self.hflip
        self.rotation = (self.rotation + 2) % 4

    def reset(self) -> None:
        """Back to the header window, fitted, unrotated (frame kept)."""
        self.window, self.window_index, self.invert, self.preset_name = None, 0, False, ""
        self.ppm, self.center, self.rotation, self.hflip = None, None, 0, False
