"""A CT series with a missing slice still reformats at true distances: the gap is interpolated and said so."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from app.importer import import_paths
from app.store import Cache
from app.viewer.mpr.loader import load_mpr_volume


def test_missing_slice_is_filled_and_reported(tmp_path: Path, shared_data: Path) -> None:
    import pydicom

    source = shared_data / "ct" / "philips_phantom_study2_tilted"
    files = sorted((p for p in source.iterdir() if p.name != "DIRFILE"),
                   key=lambda p: float(pydicom.dcmread(p, stop_before_pixels=True).SliceLocation))
    dropped = files[20]
    kept = tmp_path / "kept"
    kept.mkdir()
    for path in files:
        if path != dropped:
            shutil.copy(path, kept / path.name)
    with Cache.open(tmp_path / "cache") as cache:
        import_paths(cache, [kept])
        (series,) = cache.list_series(cache.list_studies()[0].study_instance_uid)
        volume = load_mpr_volume(cache, series.series_instance_uid, workers=1)
    assert volume.array.shape[0] == 54  # the missing slice's place is kept
    assert "1 of 54 slices interpolated" in volume.notice
    assert not volume.geometry.missing_slices and not volume.geometry.irregular
    neighbours = volume.array[[19, 21]].astype(np.float64)  # sorted order may run either way along the normal
    assert np.abs(volume.array[20] - neighbours.mean(axis=0)).max() <= 1.0
