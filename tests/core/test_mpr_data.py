"""MPR on the real shared series, loaded through the cache: tilt, sagittal MR, window, picking.

The 1 mm CT and the -18.5 deg tilted CT are the same phantom in one Frame of Reference, so
reformats of both at the same LPS planes must agree when (and only when) the tilt is handled.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.dicom.geometry import GeometryError, compute_geometry
from app.store import Cache
from app.importer import import_paths
from app.viewer.mpr.geometry import grid_affine, volume_centre
from app.viewer.mpr.loader import load_mpr_volume, pick_series
from app.viewer.mpr.planes import PlaneGrid
from app.viewer.mpr.sampling import sample_grid
from app.viewer.mpr.state import MprState
from tests.core.pixel_helpers import CT_DIR, MR_SAG_DIR, TILTED_DIR, series_refs


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory, shared_data: Path):
    c = Cache.open(tmp_path_factory.mktemp("mpr") / "cache")
    import_paths(c, [shared_data / d for d in (CT_DIR, TILTED_DIR, MR_SAG_DIR)])
    yield c
    c.close()


def _study_of(cache: Cache, folder: str) -> str:
    ordered, _ = compute_geometry(series_refs(folder))
    from pydicom import dcmread

    return str(dcmread(ordered[0].path, stop_before_pixels=True).StudyInstanceUID)


@pytest.fixture(scope="module")
def volumes(cache):
    out = {}
    for name, folder in (("ct", CT_DIR), ("tilted", TILTED_DIR), ("mr", MR_SAG_DIR)):
        series_uid = pick_series(cache, _study_of(cache, folder))
        assert series_uid is not None
        out[name] = load_mpr_volume(cache, series_uid, workers=0)
    return out


def test_cache_volumes_have_the_header_geometry_and_window(volumes):
    for name, folder in (("ct", CT_DIR), ("tilted", TILTED_DIR), ("mr", MR_SAG_DIR)):
        _ordered, expected = compute_geometry(series_refs(folder))
        vol = volumes[name]
        assert vol.array.shape == expected.shape == vol.geometry.shape
        assert np.allclose(grid_affine(vol.geometry), grid_affine(expected))
    assert volumes["tilted"].geometry.tilted and volumes["ct"].modality == "CT"
    assert volumes["ct"].window == (40.0, 80.0)  # the header's W/L (MANIFEST: 40/80)
    from pydicom import dcmread  # MR windows vary per slice: the middle instance's is used

    files = sorted(series_refs(MR_SAG_DIR), key=lambda r: dcmread(r.path, stop_before_pixels=True).InstanceNumber)
    middle = dcmread(files[len(files) // 2].path, stop_before_pixels=True)
    assert volumes["mr"].window == (float(middle.WindowCenter), float(middle.WindowWidth))


def test_tilted_reformats_match_the_untilted_scan_of_the_same_phantom(volumes):
    ct, tilted = volumes["ct"], volumes["tilted"]
    state = MprState(ct.geometry)
    state.set_centre(np.array([*state.centre[:2], 800.0]))  # inside both scans' z ranges
    for view in ("axial", "coronal", "sagittal"):
        grid = state.grid(view, 160, 160)
        ref = sample_grid(ct.array, grid_affine(ct.geometry), grid, fill=-2000)
        good = sample_grid(tilted.array, grid_affine(tilted.geometry), grid, fill=-2000)
        naive = sample_grid(tilted.array, tilted.geometry.affine, grid, fill=-2000)
        both = (ref > -2000) & (good > -2000)
        assert both.mean() > 0.15
        r_good = np.corrcoef(ref[both], good[both])[0, 1]
        both_naive = (ref > -2000) & (naive > -2000)
        r_naive = np.corrcoef(ref[both_naive], naive[both_naive])[0, 1]
        assert r_good > 0.9 and r_naive < 0.7, (view, r_good, r_naive)


def test_sagittal_mr_acquisition_plane_resamples_to_the_original_slice(volumes):
    mr = volumes["mr"]
    g = mr.geometry
    affine = grid_affine(g)
    k = g.shape[0] // 2
    u, v = np.asarray(g.direction[0]), np.asarray(g.direction[1])
    origin = affine[:3, 3] + k * affine[:3, 2]
    grid = PlaneGrid(origin, u * g.spacing[0], v * g.spacing[1], g.shape[2], g.shape[1])
    got = sample_grid(mr.array, affine, grid, linear=True)
    assert np.abs(got - mr.array[k]).max() < 1e-6
    # and the MR reformatted to true axial: the plane is axial in LPS whatever the acquisition
    state = MprState(g)
    assert np.allclose(state.plane("axial").normal, [0, 0, 1])
    assert np.allclose(state.centre, volume_centre(g))
    axial = sample_grid(mr.array, affine, state.grid("axial", 128, 128), fill=0)
    assert axial.std() > 10  # anatomy, not background


def test_series_too_small_for_mpr_is_refused(cache, shared_data: Path):
    c = cache
    import_paths(c, [shared_data / "ct" / "single" / "CT_small.dcm"])
    study = [s for s in c.list_studies() if s.num_instances == 1]
    assert study, "CT_small study missing"
    assert pick_series(c, study[0].study_instance_uid) is None
    series = c.list_series(study[0].study_instance_uid)[0].series_instance_uid
    with pytest.raises(GeometryError):
        load_mpr_volume(c, series, workers=0)
