"""Series geometry: sorting, spacing, gantry tilt, gaps, irregularity, mixed series."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from app.dicom.geometry import GeometryError, compute_geometry, split_series
from app.dicom.series import read_slice_refs
from tests.core.pixel_helpers import CT_DIR, MR_SAG_DIR, TILTED_DIR, series_refs


@pytest.fixture(scope="module")
def ct_refs(shared_data: Path):
    return series_refs(CT_DIR)


def test_ct_140_sorted_1mm_no_tilt(ct_refs) -> None:
    shuffled = list(ct_refs)
    random.Random(7).shuffle(shuffled)
    ordered, geo = compute_geometry(shuffled)
    assert len(ordered) == 140 and geo.shape == (140, 512, 512)
    normal = np.asarray(geo.direction[2])
    along = [float(np.asarray(r.ipp) @ normal) for r in ordered]
    assert along == sorted(along)
    assert geo.spacing[2] == pytest.approx(1.0, abs=0.01)
    assert geo.spacing[:2] == (ordered[0].pixel_spacing[1], ordered[0].pixel_spacing[0])
    assert geo.tilt_degrees == pytest.approx(0.0, abs=0.01) and not geo.tilted
    assert not geo.irregular and geo.missing_slices == ()
    assert geo.origin == ordered[0].ipp
    assert compute_geometry(list(reversed(ct_refs)))[0] == ordered


def test_tilted_ct_reports_gantry_tilt(shared_data: Path) -> None:
    ordered, geo = compute_geometry(series_refs(TILTED_DIR))
    assert len(ordered) == 54
    assert geo.tilted and geo.tilt_degrees == pytest.approx(18.5, abs=0.3)
    assert geo.spacing[2] == pytest.approx(2.371, abs=0.01)  # spacing along the normal
    assert not geo.irregular and geo.missing_slices == ()
    stack = np.asarray(geo.stack_direction)
    assert np.degrees(np.arccos(abs(stack @ np.asarray(geo.direction[2])))) == pytest.approx(geo.tilt_degrees)


def test_sagittal_double_oblique_mr(shared_data: Path) -> None:
    ordered, geo = compute_geometry(series_refs(MR_SAG_DIR))
    assert geo.shape == (192, 256, 256)
    normal = np.asarray(geo.direction[2])
    assert abs(normal[0]) > 0.99 and abs(normal[1]) > 0.01  # sagittal, oblique
    assert geo.spacing[2] == pytest.approx(0.9, abs=0.01)
    assert not geo.tilted and not geo.irregular and geo.missing_slices == ()
    assert np.allclose(np.diff(geo.slice_positions), geo.spacing[2], atol=0.01)


def test_missing_slice_detected(ct_refs) -> None:
    ordered, _ = compute_geometry(ct_refs)
    holes = ordered[:40] + ordered[41:90] + ordered[93:]
    _, geo = compute_geometry(holes)
    assert geo.missing_slices == (40, 90, 91, 92)
    assert not geo.irregular and geo.shape[0] == 136


def test_irregular_spacing_detected(ct_refs) -> None:
    ordered, geo = compute_geometry(ct_refs)
    normal = np.asarray(geo.direction[2])
    moved = list(ordered)
    ipp = np.asarray(moved[50].ipp) + 0.4 * normal
    moved[50] = replace(moved[50], ipp=tuple(float(v) for v in ipp))
    _, geo2 = compute_geometry(moved)
    assert geo2.irregular and geo2.missing_slices == ()


def test_mixed_series_refused_and_split(ct_refs, shared_data: Path) -> None:
    tilted = series_refs(TILTED_DIR)
    with pytest.raises(GeometryError, match="mixed"):
        compute_geometry(ct_refs + tilted)
    groups = split_series(ct_refs + tilted)
    assert [len(g) for g in groups] == [140, 54]
    small = [replace(r, rows=256) for r in ct_refs[:3]]
    assert len(split_series(ct_refs + small)) == 2


def test_duplicates_and_missing_positions_refused(ct_refs) -> None:
    with pytest.raises(GeometryError, match="share a position"):
        compute_geometry(ct_refs + ct_refs[:1])
    with pytest.raises(GeometryError, match="no position"):
        compute_geometry([replace(ct_refs[0], ipp=None)])


def test_enhanced_multiframe_uses_per_frame_positions(shared_data: Path) -> None:
    refs = read_slice_refs(shared_data / "mr/enhanced_philips/IM-0001-0170-0001.dcm")
    assert [r.frame for r in refs] == list(range(8))
    ordered, geo = compute_geometry(refs)
    assert geo.shape == (8, 256, 256) and geo.spacing[2] == pytest.approx(1.2, abs=0.01)
    assert len({r.ipp for r in refs}) == 8
    ect = read_slice_refs(shared_data / "ct/single/eCT_Supplemental.dcm")
    ordered, geo = compute_geometry(ect)
    assert [r.frame for r in ordered] == [1, 0]  # frame 1 is lower along the normal
    assert geo.spacing[2] == pytest.approx(10.0)
