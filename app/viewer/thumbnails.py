"""Series thumbnails (Qt-free): the middle image of each series, windowed by its header, shrunk to ~96 px."""

from __future__ import annotations

import logging
from typing import Any, Optional, Sequence

import numpy as np

log = logging.getLogger(__name__)
SIZE = 96


def shrink(image: np.ndarray, size: int = SIZE) -> np.ndarray:
    """Nearest-neighbour shrink so the longer side is at most ``size`` (uint8, C-contiguous RGB)."""
    step = max(1, int(np.ceil(max(image.shape[:2]) / size)))
    small = image[::step, ::step]
    if small.ndim == 2:
        small = np.repeat(small[..., None], 3, axis=2)
    return np.ascontiguousarray(small[..., :3], dtype=np.uint8)


def series_thumbnails(cache: Any, series: Sequence[Any], progress: Any = None,
                      cancel: Any = None) -> dict[str, Optional[np.ndarray]]:
    """Task: series UID -> thumbnail (None when the series has no displayable image)."""
    from app.dicom.render import render_array

    out: dict[str, Optional[np.ndarray]] = {}
    for s in series:
        if cancel is not None and cancel.is_set():
            break
        instances = cache.list_instances(s.series_instance_uid)
        try:
            out[s.series_instance_uid] = shrink(render_array(instances[len(instances) // 2].path)) if instances else None
        except Exception as exc:  # noqa: BLE001 - SR, PR, broken pixels: no thumbnail, never an error
            log.debug("no thumbnail for a series: %s", exc)
            out[s.series_instance_uid] = None
    return out
