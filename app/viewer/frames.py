"""Pixel values of a series' frames, decoded on demand or loaded all at once (thread-safe).

Grey frames are modality values (int16 when exact, else float32) so the display table and
ROI statistics work in HU; colour frames (RGB, YBR, PALETTE COLOR) are uint8 RGB.
A series that is one volume loads through app.dicom.volume (all cores, shared memory).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from app.dicom.codecs import DecodeError, decode_all, decode_frame, image_errors, read_dataset
from app.dicom.pixels import DisplayParams, color_to_display, display_params, modality_values
from app.dicom.series import DEFER_SIZE
from app.tasks import ProgressFn, check_cancel, report
from app.viewer.series_data import SeriesInfo

if TYPE_CHECKING:  # pragma: no cover
    import threading as _t

_I16 = np.iinfo(np.int16)


def compact_grey(values: np.ndarray) -> np.ndarray:
    """int16 if the values are integers that fit, else float32 (integer uint8/uint16 kept)."""
    if values.dtype in (np.int16, np.uint8):
        return values
    if values.dtype.kind in "ui":
        if values.size and int(values.min()) >= _I16.min and int(values.max()) <= _I16.max:
            return values.astype(np.int16)
        return values if values.dtype == np.uint16 else values.astype(np.float32)
    if values.size and np.array_equal(values, np.rint(values)) and values.min() >= _I16.min and values.max() <= _I16.max:
        return values.astype(np.int16)
    return values.astype(np.float32)


class FrameSource:
    """Frames of one SeriesInfo; ``get`` decodes synchronously when not yet loaded."""

    def __init__(self, info: SeriesInfo, max_cached: int = 64) -> None:
        self.info = info
        self._lock = threading.RLock()
        self._volume: Optional[np.ndarray] = None
        self._volume_obj: Any = None
        self._frames: "OrderedDict[int, np.ndarray]" = OrderedDict()
        self._max_cached = max_cached
        self._datasets: "OrderedDict[str, Any]" = OrderedDict()
        self._params: dict[tuple[str, int], DisplayParams] = {}
        self.errors: dict[int, str] = {}  # frame index -> why it cannot be shown (decoded once)

    # -- headers -----------------------------------------------------------------------------
    def dataset(self, path: str) -> Any:
        """Parsed dataset of ``path`` (pixels deferred), a few kept."""
        with self._lock:
            if path == str(getattr(self.info.header, "filename", "")):
                return self.info.header
            ds = self._datasets.get(path)
            if ds is None:
                with image_errors("cannot read image header"):
                    ds = read_dataset(path, defer_size=DEFER_SIZE)
                self._datasets[path] = ds
                while len(self._datasets) > 4:
                    self._datasets.popitem(last=False)
            return ds

    def params(self, index: int) -> DisplayParams:
        """Display parameters (windows, VOI LUT, photometric) of frame ``index``.

        A volume shares the parsed header's parameters; other series read each file's own.
        """
        ref = self.info.refs[index]
        key = ("", 0) if self.info.is_volume else (ref.path, ref.frame)
        with self._lock:
            found = self._params.get(key)
            if found is None:
                ds = self.info.header if key == ("", 0) else self.dataset(ref.path)
                with image_errors("invalid display attributes"):
                    found = self._params[key] = display_params(ds, key[1])
            return found

    # -- pixels ------------------------------------------------------------------------------
    @property
    def volume(self) -> Optional[np.ndarray]:
        """The whole (z, y, x) volume once a volume series is loaded, else None."""
        return self._volume

    @property
    def fully_loaded(self) -> bool:
        return self._volume is not None or len(self._frames) >= self.info.frame_count

    def peek(self, index: int) -> Optional[np.ndarray]:
        with self._lock:
            if self._volume is not None:
                return self._volume[index]
            return self._frames.get(index)

    def get(self, index: int) -> np.ndarray:
        """Values of frame ``index`` (decoded now if needed; DecodeError on failure)."""
        found = self.peek(index)
        if found is not None:
            return found
        if index in self.errors:
            raise DecodeError(self.errors[index])
        arriving = self.info.extra.get("arriving")  # a slice a retrieve has not delivered yet: a placeholder
        if arriving and index in arriving:
            self.errors[index] = arriving[index]
            raise DecodeError(arriving[index])
        try:
            with image_errors("cannot decode image"):
                values = self._decode(index)
        except DecodeError as exc:
            self.errors[index] = exc.reason
            raise
        with self._lock:
            self._frames[index] = values
            self._frames.move_to_end(index)
            while len(self._frames) > self._max_cached and self._volume is None and not self._keep_all:
                self._frames.popitem(last=False)
        return values

    _keep_all = False

    def _convert(self, stored: np.ndarray, ds: Any, frame: int) -> np.ndarray:
        if self.info.is_color:
            return np.ascontiguousarray(color_to_display(stored, ds))
        if stored.ndim == 3:  # e.g. a grey image stored with 3 samples: show it as colour
            return np.ascontiguousarray(stored.astype(np.uint8))
        return np.ascontiguousarray(compact_grey(np.asarray(modality_values(stored, display_params(ds, frame)))))

    def _decode(self, index: int) -> np.ndarray:
        ref = self.info.refs[index]
        if not self.info.is_color and ref.raw_readable and ref.rescale_slope is not None:
            from app.dicom.volume import slice_values

            return np.ascontiguousarray(compact_grey(np.asarray(slice_values(ref))))
        ds = self.dataset(ref.path)
        return self._convert(decode_frame(ds, ref.frame), ds, ref.frame)

    def _try_get(self, index: int) -> None:
        """Load one frame; a frame that cannot be decoded is kept in ``errors`` (shown as a placeholder)."""
        try:
            self.get(index)
        except DecodeError:
            pass

    def _load_volume(self, progress: Optional[ProgressFn], cancel: Optional["_t.Event"], first: Optional[int]) -> bool:
        """The whole volume through app.dicom.volume; False (load frame by frame) if a slice fails."""
        from app.dicom.volume import load_volume

        try:
            with image_errors("cannot load volume"):
                vol = load_volume(self.info.refs, progress=progress, cancel=cancel, first=first)
        except DecodeError:
            return False
        with self._lock:
            self._volume_obj, self._volume = vol, vol.array
            self._frames.clear()
        return True

    def _load_file(self, path: str, indices: list[int], cancel: Optional["_t.Event"]) -> bool:
        """Every frame of one multi-frame file in one decode; False if that fails."""
        info = self.info
        try:
            with image_errors("cannot decode image"):
                ds = read_dataset(path)
                frames = decode_all(ds)
                frames = frames if frames.ndim > (3 if info.is_color else 2) else frames[None]
                for i in indices:
                    check_cancel(cancel)
                    values = self._convert(frames[info.refs[i].frame], ds, info.refs[i].frame)
                    with self._lock:
                        self._frames[i] = values
        except DecodeError:
            return False
        return True

    def load_all(self, progress: Optional[ProgressFn] = None, cancel: Optional["_t.Event"] = None,
                 first: Optional[int] = None) -> "FrameSource":
        """Load every frame (a volume through the process pool); returns self."""
        info = self.info
        if info.is_volume and not info.is_color and self._load_volume(progress, cancel, first):
            return self
        self._keep_all = True
        by_file: "OrderedDict[str, list[int]]" = OrderedDict()
        for i, ref in enumerate(info.refs):
            by_file.setdefault(ref.path, []).append(i)
        done = 0
        for path, indices in by_file.items():
            check_cancel(cancel)
            if not (len(indices) > 1 and all(self.peek(i) is None for i in indices) and self._load_file(path, indices,
                                                                                                          cancel)):
                for i in indices:
                    self._try_get(i)
            done += len(indices)
            report(progress, done, info.frame_count, "loading frames")
        return self
