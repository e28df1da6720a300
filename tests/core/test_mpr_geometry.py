"""MPR geometry without a display: a marker at a known LPS position lands where it must.

Inputs use the real geometries of the shared axial CT, the gantry-tilted CT (-18.5 deg) and
the double-oblique sagittal MR (headers only); the voxels are synthetic.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.dicom.geometry import compute_geometry
from app.viewer.mpr.geometry import deshear, grid_affine, index_to_lps, lps_to_index, regular_grid, volume_corners
from app.viewer.mpr.planes import VIEWS, crosshair_direction, edge_labels, orientation_label
from app.viewer.mpr.sampling import sample_grid
from app.viewer.mpr.state import MprState
from tests.core.pixel_helpers import CT_DIR, MR_SAG_DIR, TILTED_DIR, series_refs

INPUTS = {"axial_ct": CT_DIR, "tilted_ct": TILTED_DIR, "sagittal_mr": MR_SAG_DIR}
VIEW_PX = 200
L, P, S = np.eye(3)
#: Screen convention of each view: (LPS direction of screen-right, of screen-down).
SCREEN = {"axial": (L, P), "coronal": (L, -S), "sagittal": (P, -S)}


@pytest.fixture(scope="module", params=list(INPUTS))
def series(request, shared_data):
    ordered, geometry = compute_geometry(series_refs(INPUTS[request.param]))
    return request.param, ordered, geometry


def _with_marker(geometry, offset_mm, radius=3.0):
    """Zero volume of ``geometry`` with a ball (``radius`` mm) around the voxel nearest centre + offset."""
    affine = grid_affine(geometry)
    nk, nj, ni = geometry.shape
    centre = index_to_lps(affine, [(ni - 1) / 2, (nj - 1) / 2, (nk - 1) / 2])
    vol = np.zeros(geometry.shape, np.int16)
    return vol, _ball(vol, geometry, centre + offset_mm, radius, 1000)


def _ball(vol, geometry, lps, radius, value):
    """Paint a ball round the voxel nearest ``lps``; returns that voxel's exact LPS centre."""
    affine = grid_affine(geometry)
    nk, nj, ni = geometry.shape
    i, j, k = np.rint(lps_to_index(affine, lps)).astype(int)
    marker = index_to_lps(affine, [i, j, k])
    reach = [int(np.ceil(radius / s)) + 1 for s in geometry.spacing]
    ks = np.arange(max(k - reach[2], 0), min(k + reach[2] + 1, nk))
    js = np.arange(max(j - reach[1], 0), min(j + reach[1] + 1, nj))
    is_ = np.arange(max(i - reach[0], 0), min(i + reach[0] + 1, ni))
    kk, jj, ii = np.meshgrid(ks, js, is_, indexing="ij")
    near = np.linalg.norm(index_to_lps(affine, np.stack([ii, jj, kk], -1)) - marker, axis=-1) <= radius
    vol[kk[near], jj[near], ii[near]] = value
    return marker


def _peak(image, level=None):
    """(col, row) centroid of the brightest blob (pixels above half the maximum), and the maximum."""
    top = float(image.max())
    rows, cols = np.nonzero(image >= (top / 2 if level is None else level))
    return float(cols.mean()), float(rows.mean()), top


def test_affine_reproduces_every_slice_position(series):
    name, ordered, geometry = series
    ipps = np.array([r.ipp for r in ordered])
    ks = np.arange(len(ordered))
    got = index_to_lps(grid_affine(geometry), np.stack([0 * ks, 0 * ks, ks], axis=1))
    assert np.abs(got - ipps).max() < 0.05
    naive = (geometry.affine @ np.stack([0 * ks, 0 * ks, ks, 1 + 0 * ks]))[:3].T
    if name == "tilted_ct":  # the tilt-blind affine is off by centimetres: the test can fail
        assert geometry.tilted and np.abs(naive - ipps).max() > 10


@pytest.mark.parametrize("offset", [(20.0, 15.0, 10.0), (-25.0, -10.0, -12.0)])
def test_marker_shows_at_its_lps_position_in_all_three_planes(series, offset):
    _name, _ordered, geometry = series
    vol, marker = _with_marker(geometry, np.array(offset))
    state = MprState(geometry)
    state.set_centre(marker)
    look = state.look_at
    for view in VIEWS:
        grid = state.grid(view, VIEW_PX, VIEW_PX)
        image = sample_grid(vol, grid_affine(geometry), grid, linear=True)
        col, row, value = _peak(image)
        right, down = SCREEN[view]
        mm = grid.pixel_mm
        expect_col = (VIEW_PX - 1) / 2 + float((marker - look) @ right) / mm
        expect_row = (VIEW_PX - 1) / 2 + float((marker - look) @ down) / mm
        assert value > 500, f"{view}: marker not visible"
        assert abs(col - expect_col) <= 1.5 and abs(row - expect_row) <= 1.5, (view, col, row, expect_col, expect_row)
        # moving the plane 8 mm away along its normal loses the marker
        state.scroll(view, 8.0)
        off = sample_grid(vol, grid_affine(geometry), state.grid(view, VIEW_PX, VIEW_PX))
        assert off.max() < 1.0
        state.scroll(view, -8.0)
        assert np.allclose(state.centre, marker)


def test_oblique_and_double_oblique_planes_stay_orthonormal_and_find_the_marker(series):
    _name, _ordered, geometry = series
    vol, marker = _with_marker(geometry, np.zeros(3))
    state = MprState(geometry)
    state.set_centre(marker)
    state.rotate("axial", math.radians(30))
    state.rotate("coronal", math.radians(-20))
    normals = np.stack([state.plane(v).normal for v in VIEWS])
    assert np.allclose(normals @ normals.T, np.eye(3), atol=1e-9) and state.oblique
    # the axial image did not turn with its own rotation; its normal only moved with the coronal one
    assert not np.allclose(state.plane("sagittal").normal, [-1, 0, 0])
    second = marker + 18.0 * state.plane("coronal").u  # 18 mm along the oblique coronal's right
    affine = grid_affine(geometry)
    second = _ball(vol, geometry, second, 3.0, 2000)
    grid = state.grid("coronal", VIEW_PX, VIEW_PX)
    image = sample_grid(vol, affine, grid, linear=False)
    col, row, value = _peak(image, level=1500)
    expect = grid.lps_to_pixel(second)
    assert value == 2000 and abs(col - expect[0]) <= 1.5 and abs(row - expect[1]) <= 1.5
    centre_px = grid.lps_to_pixel(marker)
    assert col - centre_px[0] == pytest.approx(18.0 / grid.pixel_mm, abs=1.5)


def test_slab_modes_combine_across_the_thickness(series):
    _name, _ordered, geometry = series
    vol, marker = _with_marker(geometry, np.zeros(3))
    vol[vol == 0] = 100
    background = 100
    state = MprState(geometry)
    state.set_centre(marker)
    state.scroll("axial", 8.0)  # marker 8 mm below the axial plane (beyond interpolation reach)
    affine = grid_affine(geometry)
    thin = sample_grid(vol, affine, state.grid("axial", VIEW_PX, VIEW_PX), fill=100)
    assert thin.max() < 200
    state.set_slab("mip", 20.0)
    slab = state.slab_samples("axial")
    grid = state.grid("axial", VIEW_PX, VIEW_PX)
    assert slab[0] >= 3 and slab[1] * (slab[0] - 1) == pytest.approx(20.0)
    mip = sample_grid(vol, affine, grid, slab=slab, mode="mip", fill=100)
    mean = sample_grid(vol, affine, grid, slab=slab, mode="mean", fill=100)
    minip = sample_grid(vol, affine, grid, slab=slab, mode="minip", fill=100)
    assert mip.max() > 900 and 100 < mean.max() < mip.max() and minip.max() <= 100 + 1e-6
    col, row, _ = _peak(mip, level=500)
    expect = grid.lps_to_pixel(marker)
    assert abs(col - expect[0]) <= 1.5 and abs(row - expect[1]) <= 1.5


def test_deshear_resamples_tilted_series_onto_an_orthogonal_grid(shared_data):
    _ordered, geometry = compute_geometry(series_refs(TILTED_DIR))
    vol, marker = _with_marker(geometry, np.array([10.0, 20.0, 15.0]))
    new_geometry = deshear(vol, geometry, fill=0)
    assert new_geometry.tilt_degrees == 0.0 and not new_geometry.tilted
    affine = grid_affine(new_geometry)
    cols = affine[:3, :3] / np.linalg.norm(affine[:3, :3], axis=0)
    assert np.allclose(cols.T @ cols, np.eye(3), atol=1e-9)  # orthogonal grid now
    k, j, i = np.unravel_index(np.argmax(vol), vol.shape)
    assert np.linalg.norm(index_to_lps(affine, [i, j, k]) - marker) < 1.5 * max(new_geometry.spacing)
    assert new_geometry.spacing[2] == pytest.approx(2.5 * math.cos(math.radians(18.5)), abs=0.01)


def test_regular_grid_covers_the_volume_within_the_voxel_budget(series):
    _name, _ordered, geometry = series
    grid = regular_grid(geometry, max_voxels=2_000_000)
    assert grid.voxels <= 2_000_000
    corners = volume_corners(geometry)
    far = np.asarray(grid.origin) + (np.asarray(grid.size) - 1) * np.asarray(grid.spacing)
    assert np.all(corners >= np.asarray(grid.origin) - 1e-6)
    assert np.all(corners <= far + np.asarray(grid.spacing))


def test_orientation_labels_and_crosshair_lines():
    from app.dicom.geometry import VolumeGeometry

    state = MprState(VolumeGeometry((0, 0, 0), ((1, 0, 0), (0, 1, 0), (0, 0, 1)), (1, 1, 1), (10, 10, 10)))
    assert edge_labels(state.plane("axial")) == {"left": "R", "right": "L", "top": "A", "bottom": "P"}
    assert edge_labels(state.plane("coronal")) == {"left": "R", "right": "L", "top": "S", "bottom": "I"}
    assert edge_labels(state.plane("sagittal")) == {"left": "A", "right": "P", "top": "S", "bottom": "I"}
    assert orientation_label(np.array([0.7, -0.7, 0.1])) in ("LA", "AL")
    # in the axial view the coronal line is horizontal and the sagittal line vertical
    ax = state.plane("axial")
    assert np.allclose(np.abs(crosshair_direction(ax, state.plane("coronal"))), (1, 0))
    assert np.allclose(np.abs(crosshair_direction(ax, state.plane("sagittal"))), (0, 1))
    state.rotate("axial", math.radians(45))
    assert edge_labels(state.plane("coronal"))["right"] in ("LP", "PL")
    d = crosshair_direction(state.plane("axial"), state.plane("coronal"))
    assert abs(abs(d[0]) - abs(d[1])) < 1e-9
    state.reset()
    assert not state.oblique
