"""Viewer model without Qt/VTK: screen mapping, zoom/pan/rotate/flip, W/L to grey, orientation labels."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.viewer.annotations import direction_label, orientation_labels, scale_bar
from app.viewer.display import frame_to_uint8, grey_to_uint8
from app.viewer.state import ImageGeometry, ViewState
from app.viewer.transform import ViewTransform

CT_DIR = "ct/philips_phantom_study1_1mm"


def _t(rotation: int = 0, hflip: bool = False, ppm: float = 2.0) -> ViewTransform:
    return ViewTransform(200, 100, 0.5, 0.8, 640, 480, ppm, (40.0, 30.0), rotation, hflip)


@given(st.integers(0, 3), st.booleans(), st.floats(-500, 500), st.floats(-500, 500))
def test_screen_world_round_trip(rotation: int, hflip: bool, x: float, y: float) -> None:
    t = _t(rotation, hflip)
    u, v = t.world_to_screen(x, y)
    back = t.screen_to_world(u, v)
    assert back == pytest.approx((x, y), abs=1e-6)


def test_rotation_and_flip_move_points_as_expected() -> None:
    right_of_centre = (40.0 + 10.0, 30.0)  # 10 mm right of the centre in world x
    assert _t().world_to_screen(*right_of_centre) == pytest.approx((340.0, 240.0))
    assert _t(rotation=1).world_to_screen(*right_of_centre) == pytest.approx((320.0, 260.0))  # now below
    assert _t(hflip=True).world_to_screen(*right_of_centre) == pytest.approx((300.0, 240.0))  # now left
    assert _t().view_up() == pytest.approx((0.0, -1.0))
    assert _t(rotation=1).view_up() == pytest.approx((-1.0, 0.0))


def test_zoom_keeps_anchor_and_pan_moves_image() -> None:
    state = ViewState(frame_count=1)
    image = ImageGeometry(512, 512, 0.45, 0.45)
    t = state.transform(image, 800, 600)
    assert t.ppm == pytest.approx(600 / (512 * 0.45))  # fit by height
    anchor = (123.0, 456.0)
    before = t.screen_to_world(*anchor)
    state.zoom_by(2.5, t, anchor)
    t2 = state.transform(image, 800, 600)
    assert t2.ppm == pytest.approx(t.ppm * 2.5)
    assert t2.screen_to_world(*anchor) == pytest.approx(before)
    state.pan_by(30.0, -20.0, t2)
    t3 = state.transform(image, 800, 600)
    assert t3.world_to_screen(*before) == pytest.approx((anchor[0] + 30.0, anchor[1] - 20.0))
    state.set_pixel_zoom(1.0, t3)
    assert state.transform(image, 800, 600).pixel_zoom == pytest.approx(1.0)
    state.flip_vertical()
    assert state.hflip and state.rotation == 2


def test_window_40_80_gives_dicom_grey_for_known_ct_values(shared_data: Path) -> None:
    from app.viewer.frames import FrameSource
    from app.viewer.series_data import series_from_files

    files = sorted((shared_data / CT_DIR).glob("*"))[60:63]
    info = series_from_files(files)
    values = FrameSource(info).get(1)
    assert values.dtype == np.int16
    out = grey_to_uint8(values, (40.0, 80.0))
    # PS3.3 C.11.2.1.2.1: y = ((x - (c - 0.5)) / (w - 1) + 0.5) clipped, scaled to 0..255
    expected = np.rint(np.clip((values - 39.5) / 79.0 + 0.5, 0, 1) * 255).astype(np.uint8)
    np.testing.assert_array_equal(out, expected)
    assert grey_to_uint8(np.array([[-1000, 0, 40, 79, 1000]], np.int16), (40.0, 80.0)).tolist() == [[0, 0, 129, 255, 255]]
    inverted = grey_to_uint8(np.array([[0, 40]], np.int16), (40.0, 80.0), invert=True)
    assert inverted.tolist() == [[255, 126]]


def test_monochrome1_is_inverted_and_user_invert_undoes_it(shared_data: Path) -> None:
    from app.viewer.frames import FrameSource
    from app.viewer.series_data import series_from_files

    info = series_from_files([shared_data / "cr_dx" / "dx_image.dcm"])
    fs = FrameSource(info)
    values, params = fs.get(0), fs.params(0)
    assert params.invert
    a, b = np.empty(values.shape, np.uint8), np.empty(values.shape, np.uint8)
    window = frame_to_uint8(values, params, None, False, a)
    frame_to_uint8(values, params, None, True, b)
    np.testing.assert_array_equal(a.astype(int) + b.astype(int), 255)
    lo, hi = np.unravel_index(values.argmin(), values.shape), np.unravel_index(values.argmax(), values.shape)
    assert a[lo] > a[hi]  # MONOCHROME1: low values bright
    assert window is not None


def test_orientation_labels_follow_rotation_and_flip() -> None:
    axial = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
    labels = orientation_labels(axial, _t())
    assert labels == {"left": "R", "right": "L", "top": "A", "bottom": "P"}
    assert orientation_labels(axial, _t(hflip=True))["left"] == "L"
    assert orientation_labels(axial, _t(rotation=1))["top"] == "R"
    sagittal = (0.0, 1.0, 0.0, 0.0, 0.0, -1.0)
    assert orientation_labels(sagittal, _t()) == {"left": "A", "right": "P", "top": "H", "bottom": "F"}
    assert direction_label((0.7, 0.0, 0.71)) == "HL"
    mammo = orientation_labels(None, _t(), ["P", "FL"])
    assert mammo == {"left": "A", "right": "P", "top": "HR", "bottom": "FL"}


def test_scale_bar_is_round_and_fits() -> None:
    t = _t(ppm=3.0)
    length, label = scale_bar(t)
    assert length <= 0.25 * t.width
    mm = length / t.ppm
    assert mm in (1, 2, 5, 10, 20, 50, 100) and label in ("5 cm", "50 mm", "2 cm", "20 mm") or math.isclose(mm, 50)
