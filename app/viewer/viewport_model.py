"""One viewport's content without Qt or VTK: series, frames, view state and what to draw.

The VTK scene (scene_view) reads this model; pointer gestures (interaction) change it.
Sizes are physical pixels (Qt logical size x devicePixelRatio), so 1:1 zoom puts one image
pixel on one screen pixel on HiDPI screens.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from app.dicom.codecs import DecodeError
from app.dicom.syntaxes import native_little_endian
from app.viewer.annotations import CornerText, corner_text, header_text, orientation_labels
from app.viewer.calibration import Calibration, calibration_of, display_spacing
from app.viewer.display import effective_window, frame_to_uint8
from app.viewer.frames import FrameSource
from app.viewer.measurements import Measurement, Result, StudyAnnotations, evaluate
from app.viewer.presets import auto_window, is_auto
from app.viewer.series_data import SeriesInfo, is_placeholder_reason
from app.viewer.slab import Slab, slab_values
from app.viewer.slab import applies as slab_applies
from app.viewer.state import ImageGeometry, ViewState, Window
from app.viewer.transform import ViewTransform


class ViewportModel:
    """Series + frame source + view state + study annotations of one viewport."""

    def __init__(self, annotations: Optional[StudyAnnotations] = None) -> None:
        self.series: Optional[SeriesInfo] = None
        self.frames: Optional[FrameSource] = None
        self.state = ViewState()
        self.annotations = annotations
        self.width, self.height = 512, 512
        self.active: Optional[Measurement] = None  # being drawn or edited
        self.reference_lines: list[tuple[tuple[float, float], tuple[float, float]]] = []
        self.overlay_rgba: Optional[np.ndarray] = None  # (H, W, 4) overlay planes / SEG / GSPS
        self.presentation: Any = None  # app.viewer.gsps.Presentation applied to this series
        self.segmentations: list[Any] = []  # app.viewer.seg.Segmentation shown as outlines
        self.show_overlays = True
        self.hover_text = ""  # value under the cursor (Interaction.move sets it)
        self.arrival_note = ""  # "Arriving: 142 of 300" while a retrieve fills this series in
        self.slab = Slab()  # thick-slab MIP / MinIP / average (app.viewer.slab)
        self.ai_findings: dict[str, str] = {}  # AI finding label ("ICH") -> pending / accepted / rejected
        self._range: dict[int, float] = {}
        self._overlay_cache: dict[int, Optional[np.ndarray]] = {}
        self._per_series: dict[Any, Any] = {}  # header-derived values that do not change per frame

    # -- content -----------------------------------------------------------------------------
    def set_series(self, info: SeriesInfo, frames: Optional[FrameSource] = None, frame: Optional[int] = None) -> None:
        self.series, self.frames = info, frames or FrameSource(info)
        self.state = ViewState(frame_count=info.frame_count)
        self.state.set_frame(info.frame_count // 2 if frame is None else frame)
        self.active, self._range, self.presentation = None, {}, None
        self.segmentations, self._overlay_cache, self._per_series = [], {}, {}

    def _memo(self, key: Any, make: Any) -> Any:
        """Per-series memo (headers are immutable once parsed): scrolling re-reads nothing."""
        found = self._per_series.get(key)
        if found is None:
            found = self._per_series[key] = make()
        return found

    @property
    def has_image(self) -> bool:
        return self.series is not None

    def resize(self, width: int, height: int) -> None:
        self.width, self.height = max(int(width), 1), max(int(height), 1)

    @property
    def ref(self) -> Any:
        assert self.series is not None
        return self.series.refs[self.state.frame]

    def sop_uid(self) -> str:
        assert self.series is not None
        return self.series.sop_uids[self.state.frame]

    def values(self) -> np.ndarray:
        """Modality values (or RGB) of the current frame; a blank placeholder if it cannot be decoded."""
        assert self.frames is not None
        if slab_applies(self):
            return slab_values(self)
        try:
            return self.frames.get(self.state.frame)
        except DecodeError:
            return self._memo(("placeholder", self.state.frame), self._placeholder)

    def frame_error(self) -> Optional[str]:
        """Why the current frame cannot be shown (None when it can)."""
        if self.frames is None:
            return None
        self.values()
        return self.frames.errors.get(self.state.frame)

    def _placeholder(self) -> np.ndarray:
        ref = self.ref
        rows, cols = int(ref.rows or 0), int(ref.cols or 0)
        if not (0 < rows <= 4096 and 0 < cols <= 4096):  # the header may be what is broken
            rows = cols = 256
        return np.zeros((rows, cols), np.int16)

    def calibration(self) -> Calibration:
        assert self.series is not None and self.frames is not None
        series, frames, ref = self.series, self.frames, self.ref
        own = series.is_volume or not ref.path  # a slice still arriving has no file yet: the series header's
        key = ("cal", "") if own else ("cal", ref.path, ref.frame)
        return self._memo(key, lambda: calibration_of(series.header if own else frames.dataset(ref.path), ref.frame))

    def image_geometry(self) -> ImageGeometry:
        ref = self.ref
        rows, cols = (ref.rows, ref.cols) if ref.rows else self.values().shape[:2]
        sx, sy = display_spacing(self.calibration())
        return ImageGeometry(cols, rows, sx, sy)

    def transform(self) -> ViewTransform:
        return self.state.transform(self.image_geometry(), self.width, self.height)

    # -- display -----------------------------------------------------------------------------
    def value_range(self) -> float:
        """max - min of the current frame (W/L drag sensitivity)."""
        i = self.state.frame
        if i not in self._range:
            v = self.values()
            self._range[i] = float(np.max(v)) - float(np.min(v)) if v.size else 1.0
        return self._range[i]

    def current_window(self) -> Optional[Window]:
        """The window in force (None when a VOI LUT Sequence or a presentation LUT applies)."""
        assert self.frames is not None
        values = self.values()
        params = self._params()
        if params is None:
            return None
        if values.ndim == 3:
            return self.state.window or (127.5, 256.0)
        if is_auto(self.state.window):
            self.state.window = auto_window(values)
        if self.presentation is not None and self.state.window is None:
            return None
        return effective_window(params, values, self.state.window, self.state.window_index)

    def render_into(self, out: np.ndarray) -> Optional[Window]:
        """Write the display pixels of the current frame into ``out`` (uint8, frame shape)."""
        assert self.frames is not None
        values = self.values()
        params = self._params()
        if params is None:  # a broken image is black; a slice still arriving grey (series_data.ARRIVING)
            out[...] = 56 if is_placeholder_reason(self.frame_error()) else 0
            return None
        if is_auto(self.state.window):
            self.state.window = auto_window(values)
        if self.presentation is not None and self.state.window is None and values.ndim == 2:
            return self.presentation.render(values, self.state.invert, out)
        return frame_to_uint8(values, params, self.state.window, self.state.invert, out, self.state.window_index)

    def _params(self) -> Any:
        """Display parameters of a frame that can be shown; None (and a recorded reason) otherwise."""
        assert self.frames is not None
        if self.frame_error() is not None:
            return None
        try:
            return self.frames.params(self.state.frame)
        except DecodeError as exc:
            self.frames.errors[self.state.frame] = exc.reason
            return None

    def display_shape(self) -> tuple[int, ...]:
        return self.values().shape

    # -- overlays ----------------------------------------------------------------------------
    def set_ai_findings(self, findings: dict[str, str]) -> None:
        """The study's AI findings and the reader's decisions (label -> pending / accepted / rejected): named in
        the top-right corner; the SEG segments of a rejected finding are no longer drawn."""
        if findings != self.ai_findings:
            self.ai_findings, self._overlay_cache = dict(findings), {}

    def _drawn(self, seg: Any, frames: list[Any]) -> list[Any]:
        """``frames`` of ``seg`` without the segments that mark a finding the reader rejected."""
        rejected = {label for label, decision in self.ai_findings.items() if decision == "rejected"}
        return [f for f in frames if seg.findings.get(f.segment) not in rejected] if rejected else frames

    def overlay_layer(self) -> Optional[np.ndarray]:
        """RGBA layer of the current frame: overlay planes and SEG outlines (None if nothing)."""
        from app.viewer.seg import compose_rgba, overlay_plane_masks

        if not self.show_overlays or self.series is None or self.frames is None:
            return None
        i = self.state.frame
        if i not in self._overlay_cache:
            ref = self.ref
            shape = self.values().shape[:2]
            own = ref.path == str(getattr(self.series.header, "filename", ""))
            ds = self.series.header if own else self.frames.dataset(ref.path) \
                if ref.path and _may_have_overlays(ref) else None
            planes = overlay_plane_masks(ds, ref.frame, shape) if ds is not None and _has_overlays(ds) else []
            segs, colours = [], {}
            for seg in self.segmentations:
                segs += self._drawn(seg, seg.masks_for(self.sop_uid(), ref.ipp, shape))
                colours.update(seg.colours)
            self._overlay_cache[i] = compose_rgba(shape, planes, segs, colours)
        return self._overlay_cache[i]

    def graphics(self) -> list[Any]:
        """GSPS graphics/text of the current image (image-pixel coordinates)."""
        return list(self.presentation.graphics) if self.presentation is not None and self.show_overlays else []

    def frame_label(self) -> str:
        assert self.series is not None
        return f"Im: {self.state.frame + 1}/{self.series.frame_count}"

    def corner_text(self, window: Optional[Window]) -> CornerText:
        assert self.series is not None
        cal = self.calibration()
        header = self.series.header
        thickness = self._memo("thickness", lambda: str(header.get("SliceThickness") or ""))
        extra = f"Cine {self.cine_fps():.0f} fps" if self.state.cine_playing else ""
        if self.presentation is not None and self.state.window is None:
            extra = f"GSPS: {self.presentation.label}"
        if slab_applies(self):
            extra = "\n".join(x for x in (extra, self.slab.label) if x)
        text = corner_text(
            self._memo("header_text", lambda: header_text(header)), state=self.state, t=self.transform(), window=window,
            frame_label=self.frame_label(), position=self.series.position(self.state.frame) if self.series.is_volume else None,
            thickness=float(thickness) if thickness else None,
            calibration_note="" if cal.source == "PixelSpacing" else cal.notice, extra_right=extra,
        )
        if self.hover_text:
            text.bottom_left = f"{text.bottom_left}\n{self.hover_text}"
        return self._retrieve_notes(text)

    def _retrieve_notes(self, text: CornerText) -> CornerText:
        """"LOSSY" for an image that arrived lossy-compressed; the retrieve's "142 of 300" while slices come."""
        from app.viewer.series_data import is_lossy_image

        assert self.series is not None
        if "LOSSY" not in text.bottom_right and is_lossy_image(self.ref, self.series.header):
            text.bottom_right = f"{text.bottom_right}\nLOSSY".strip()
        if self.arrival_note:
            text.bottom_right = f"{self.arrival_note}\n{text.bottom_right}".strip()
        if self.ai_findings:
            text.top_right = "\n".join([text.top_right, *ai_lines(self.ai_findings)]).strip("\n")
        return text

    def orientation(self) -> dict[str, str]:
        assert self.series is not None
        header, iop, t = self.series.header, self.ref.iop, self.transform()
        po = self._memo("po", lambda: tuple(str(v) for v in (header.get("PatientOrientation") or ())))
        # the labels depend on the directions only: rotation and flip, not zoom or pan
        return self._memo(("orientation", iop, t.rotation, t.hflip), lambda: orientation_labels(iop, t, list(po)))

    def cine_fps(self) -> float:
        if self.state.cine_fps > 0:
            return self.state.cine_fps
        ms = self.series.frame_time_ms() if self.series is not None else None
        return 1000.0 / ms if ms else 10.0

    # -- measurements ------------------------------------------------------------------------
    def measurements(self) -> list[Measurement]:
        """Measurements on the current image (plus the one being drawn)."""
        found = [] if self.annotations is None or self.series is None else \
            self.annotations.on_image(self.sop_uid(), self.ref.frame)
        if self.active is not None and self.active not in found:
            found = [*found, self.active]
        return found

    def result(self, m: Measurement) -> Result:
        assert self.series is not None
        values = self.values() if m.kind in ("ellipse", "rect", "probe") else None
        return evaluate(m, self.calibration(), values, self.series.modality)

    def new_measurement(self, kind: str) -> Measurement:
        assert self.series is not None
        return Measurement(kind, series_uid=self.series.series_uid, sop_uid=self.sop_uid(), frame=self.ref.frame)


AI_DECISION_TEXT = {"pending": "not reviewed", "accepted": "accepted", "rejected": "rejected"}


def ai_lines(findings: dict[str, str]) -> list[str]:
    """``AI: suspected ICH (not reviewed)`` per finding, in the order given."""
    return [f"AI: suspected {label} ({AI_DECISION_TEXT.get(decision, decision)})"
            for label, decision in findings.items()]


def _has_overlays(ds: Any) -> bool:
    return any((g, 0x3000) in ds for g in range(0x6000, 0x6020, 2))


def _may_have_overlays(ref: Any) -> bool:
    """Cheap pre-check before parsing a slice's header for overlay planes (~2 ms per file).

    False only when the raw bytes before Pixel Data of a little-endian file hold no
    (60xx,3000) tag; anything else (compressed, big endian, multi-frame) says True.
    """
    if ref.frame != 0 or ref.pixel_offset is None or ref.transfer_syntax not in native_little_endian():
        return True
    from app.dicom.stored import open_pixels

    try:
        with open_pixels(ref.path) as f:  # encrypted at rest: only the chunks before Pixel Data
            head = f.read(ref.pixel_offset)
    except (OSError, ValueError):  # ValueError: app.crypto.DecryptError (damaged)
        return True
    at = head.find(b"\x60\x00\x30", 1)  # (60xx,3000) Overlay Data, little endian: xx 60 00 30
    while at != -1:
        if head[at - 1] <= 0x1E:
            return True
        at = head.find(b"\x60\x00\x30", at + 1)
    return False
