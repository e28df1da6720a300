"""Position-synchronised scrolling and reference lines (hanging protocols: test_hanging_protocols.py)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from app.viewer.series_data import series_from_files
from app.viewer.sync import Plane, align_models, centre_point, reference_line, synced_frame


@pytest.fixture(scope="module")
def pair(shared_data: Path) -> tuple:
    a = series_from_files(sorted((shared_data / "ct/philips_phantom_study1_1mm").glob("*")))
    b = series_from_files(sorted((shared_data / "ct/philips_phantom_study2_tilted").glob("*")))
    return a, b


def test_synced_scroll_lands_on_nearest_position(pair: tuple) -> None:
    a, b = pair
    assert a.frame_of_reference == b.frame_of_reference and a.is_volume and b.is_volume
    normal = b.normal(0)
    for index in (5, 70, 130):
        got = synced_frame(a, index, b)
        point = centre_point(a, index)
        distances = [abs(float((np.asarray(r.ipp) - point) @ normal)) for r in b.refs]
        assert got == int(np.argmin(distances))
    assert synced_frame(a, 0, b) != synced_frame(a, 139, b)


def test_reference_line_of_crossing_planes() -> None:
    axial = Plane(np.array([0.0, 0.0, 0.0]), np.array([1.0, 0, 0]), np.array([0, 1.0, 0]), 1.0, 1.0, 100, 100)
    coronal = Plane(np.array([0.0, 30.0, 50.0]), np.array([1.0, 0, 0]), np.array([0, 0, -1.0]), 1.0, 1.0, 100, 100)
    seg = reference_line(axial, coronal)
    assert seg is not None
    (c0, r0), (c1, r1) = seg
    assert r0 == pytest.approx(30.0) and r1 == pytest.approx(30.0) and {c0, c1} == {-0.5, 99.5}
    assert reference_line(axial, axial) is None


def test_align_models_sets_prior_frame_and_lines(pair: tuple) -> None:
    a, b = pair
    ma = SimpleNamespace(series=a, state=SimpleNamespace(frame=70), reference_lines=[])
    ma.state.set_frame = lambda i: setattr(ma.state, "frame", i)
    mb = SimpleNamespace(series=b, state=SimpleNamespace(frame=0), reference_lines=[])
    mb.state.set_frame = lambda i: setattr(mb.state, "frame", i)
    align_models([ma, mb, None])
    assert mb.state.frame == synced_frame(a, 70, b)
    assert len(ma.reference_lines) == 1 and len(mb.reference_lines) == 1  # 18.5 deg tilt: planes cross
