"""The MPR volume of a study, prepared in the background once its 2D images are up (Qt-free, VTK-free).

When the 2D viewer already holds the chosen series as one volume (the same slices), that volume is
used as is: no second read, no second copy in memory. Otherwise the series is loaded from the cache.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Iterable, Optional

from app.tasks import ProgressFn, check_cancel

if TYPE_CHECKING:  # pragma: no cover
    from app.store import Cache
    from app.viewer.mpr.loader import MprVolume


def _slice_keys(slices: Iterable[Any]) -> set[tuple[str, int]]:
    return {(str(s.path), int(s.frame)) for s in slices}


def reuse_loaded(cache: "Cache", series_uid: str, loaded: Iterable[Any]) -> "Optional[MprVolume]":
    """An MprVolume over a 2D viewer's loaded Volume (app.dicom.volume) of the same slices, or None."""
    from app.dicom.regular import needs_regular_grid
    from app.viewer.mpr.loader import MIN_SLICES, MprVolume, _series_of, header_window, series_slices

    wanted = _slice_keys(series_slices(cache, series_uid))
    for volume in loaded:
        if volume is None or len(wanted) < MIN_SLICES or _slice_keys(volume.slices) != wanted:
            continue
        if needs_regular_grid(volume.geometry):
            return None  # a regridded copy is needed: the plain loader makes it
        modality = next((s.modality for s in _series_of(cache, series_uid)), "")
        return MprVolume(volume.array, volume.geometry, header_window(cache, series_uid), modality, series_uid,
                         volume)
    return None


def prepare_mpr_volume(cache: "Cache", study_uid: str, loaded: Iterable[Any] = (), *,
                       progress: Optional[ProgressFn] = None,
                       cancel: Optional[threading.Event] = None) -> "Optional[MprVolume]":
    """The study's MPR volume (``loaded``: Volumes the 2D viewer holds), or None when it has no volume series."""
    from app.viewer.mpr.loader import load_mpr_volume, pick_series

    series_uid = pick_series(cache, study_uid)
    check_cancel(cancel)
    if series_uid is None:
        return None
    found = reuse_loaded(cache, series_uid, list(loaded))
    return found if found is not None else load_mpr_volume(cache, series_uid, progress=progress, cancel=cancel)
