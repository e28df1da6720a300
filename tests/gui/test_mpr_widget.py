"""MPR layout on the shared CT and MR under Xvfb: screenshots, linked crosshair, scroll, oblique
rotation, window/level, slabs, measurement, reset, volume rendering presets and clipping."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from app.dicom.volume import load_volume
from app.viewer.mpr.planes import crosshair_direction
from tests.core.pixel_helpers import CT_DIR, MR_SAG_DIR, TILTED_DIR, series_refs
from tests.gui.conftest import assert_real_rendering


@pytest.fixture(scope="module")
def volumes():
    return {name: load_volume(series_refs(folder), workers=0)
            for name, folder in (("ct", CT_DIR), ("tilted", TILTED_DIR), ("mr", MR_SAG_DIR))}


@pytest.fixture
def make_widget(qtbot):  # type: ignore[no-untyped-def]
    from app.viewer.mpr.mpr_widget import MprWidget

    made = []

    def make(vol, window=None, modality="CT", vr=False):
        w = MprWidget(volume_rendering=vr)
        qtbot.addWidget(w)
        w.resize(1000, 840)
        w.show()
        qtbot.waitExposed(w)
        w.set_volume(vol.array, vol.geometry, window, modality)
        w.repaint_now()
        qtbot.waitUntil(lambda: len(w.scene.reslice_counts) == 3, timeout=5000)
        made.append(w)
        return w

    yield make
    for w in made:
        w.close_vtk()
        w.close()


def _view_pixels(widget, view: str) -> np.ndarray:
    v = widget.views[view]
    img = v.grab().toImage().convertToFormat(v.grab().toImage().Format.Format_RGB888)
    arr = np.frombuffer(img.constBits(), np.uint8, img.sizeInBytes()).reshape(img.height(), img.bytesPerLine())
    return arr[:, : img.width() * 3].reshape(img.height(), img.width(), 3).copy()


def _drag(widget, start: tuple[float, float], end: tuple[float, float], button=Qt.MouseButton.LeftButton, steps=6):
    a = QPoint(int(start[0]), int(start[1]))
    QTest.mousePress(widget, button, Qt.KeyboardModifier.NoModifier, a)
    for i in range(1, steps + 1):
        p = QPoint(int(start[0] + (end[0] - start[0]) * i / steps), int(start[1] + (end[1] - start[1]) * i / steps))
        QTest.mouseMove(widget, p)
    QTest.mouseRelease(widget, button, Qt.KeyboardModifier.NoModifier, QPoint(int(end[0]), int(end[1])))


@pytest.mark.parametrize("name, window, modality", [("ct", (40.0, 400.0), "CT"), ("tilted", (40.0, 400.0), "CT"),
                                                     ("mr", None, "MR")])
def test_layout_screenshots(make_widget, volumes, artifacts: Path, name, window, modality) -> None:
    w = make_widget(volumes[name], window, modality, vr=True)
    shot = w.snapshot()
    Image.fromarray(shot).save(artifacts / f"mpr_{name}.png")
    assert_real_rendering(shot)
    for view in ("axial", "coronal", "sagittal"):
        px = _view_pixels(w, view)
        grey = px[..., 0].astype(int)
        assert grey.std() > 10, f"{view} looks empty"
    vr = w.volume_view.snapshot()
    assert (vr.max(axis=2) > 30).mean() > 0.05, "volume rendering is empty"
    # labels in radiological convention are painted (yellow text) at the edges
    ax = _view_pixels(w, "axial")
    yellow = (ax[..., 0] > 200) & (ax[..., 1] > 200) & (ax[..., 2] < 190)
    assert yellow[: 25].any() and yellow[-25:].any() and yellow[:, :25].any() and yellow[:, -50:].any()


def test_crosshair_drag_scroll_rotate_window_reset(make_widget, volumes, qtbot) -> None:
    w = make_widget(volumes["ct"], (40.0, 400.0))
    axial = w.views["axial"]
    state = w.scene.state
    before = dict(w.scene.reslice_counts)
    cx, cy = axial.centre_px()
    _drag(axial, (cx, cy), (cx + 40, cy + 25))
    w.repaint_now()
    moved = state.centre.copy()
    expected = axial.lps_at(axial.mapFromGlobal(axial.mapToGlobal(QPoint(int(cx + 40), int(cy + 25)))).toPointF())
    assert np.allclose(moved, expected, atol=1e-6)
    assert w.scene.reslice_counts["axial"] == before["axial"]  # the axial plane did not move
    assert w.scene.reslice_counts["coronal"] > before["coronal"]
    # wheel: the axial plane moves along S by one voxel step per notch, others follow
    z0 = state.centre[2]
    QTest.qWait(1)
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QWheelEvent

    pos = QPointF(cx, cy)
    ev = QWheelEvent(pos, axial.mapToGlobal(pos), QPoint(0, 0), QPoint(0, 240), Qt.MouseButton.NoButton,
                     Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    axial.wheelEvent(ev)
    assert state.centre[2] - z0 == pytest.approx(2 * state.sample_spacing("axial"))
    # rotate: grab the coronal line's handle in the axial view and turn it by ~30 degrees
    other, handle = axial.handles()[0]
    cx, cy = axial.centre_px()
    r = math.hypot(handle.x() - cx, handle.y() - cy)
    a0 = math.atan2(handle.y() - cy, handle.x() - cx)
    end = (cx + r * math.cos(a0 + math.radians(30)), cy + r * math.sin(a0 + math.radians(30)))
    axial_normal = state.plane("axial").normal.copy()
    _drag(axial, (handle.x(), handle.y()), end, steps=10)
    assert state.oblique and np.allclose(state.plane("axial").normal, axial_normal)
    d = crosshair_direction(state.plane("axial"), state.plane(other))
    turned = math.degrees(math.atan2(d[1], d[0]) - a0) % 180
    assert turned == pytest.approx(30, abs=3)
    # right drag: window/level shared by every view, signalled for the 2D viewer
    got = []
    w.windowChanged.connect(lambda c, wd: got.append((c, wd)))
    _drag(w.views["sagittal"], (100, 100), (160, 130), button=Qt.MouseButton.RightButton)
    assert got and state.window[1] > 400 and state.window[0] > 40
    qtbot.waitUntil(lambda: not w.interacting, timeout=2000)
    w.reset()
    assert not state.oblique


def test_slab_modes_and_measurement(make_widget, volumes, artifacts: Path) -> None:
    w = make_widget(volumes["mr"], None, "MR")
    thin = w.scene.image("axial", 400, 400).pixels.astype(float)
    w.set_slab("mip", 20.0)
    mip = w.scene.image("axial", 400, 400).pixels.astype(float)
    w.set_slab("minip", 20.0)
    minip = w.scene.image("axial", 400, 400).pixels.astype(float)
    w.set_slab("mean", 20.0)
    mean = w.scene.image("axial", 400, 400).pixels.astype(float)
    assert mip.mean() > mean.mean() > minip.mean()
    assert mip.mean() > thin.mean() > minip.mean()
    w.set_slab("mip", 20.0)
    w.repaint_now()
    Image.fromarray(w.snapshot()).save(artifacts / "mpr_mr_mip20.png")
    w.set_slab("none", 0.0)
    w.measure_button.setChecked(True)
    axial = w.views["axial"]
    _drag(axial, (100, 150), (250, 150))
    assert len(w.measurements) == 1
    assert w.measurements[0].length_mm == pytest.approx(150 * axial.full_grid().pixel_mm, rel=0.02)
    assert "mm" in w.message.text()


def test_volume_rendering_presets_and_clip_box(make_widget, volumes, artifacts: Path) -> None:
    w = make_widget(volumes["ct"], (40.0, 400.0), vr=True)
    vv = w.volume_view
    soft = vv.snapshot()
    w.vr_preset.setCurrentText("CT bone")
    bone = vv.snapshot()
    assert np.abs(soft.astype(int) - bone.astype(int)).mean() > 2
    lit = (bone.max(axis=2) > 30).mean()
    b = vv.scene.bounds()
    vv.set_clip_box((b[0], (b[0] + b[1]) / 2, b[2], b[3], b[4], b[5]))  # keep the patient's right half
    clipped = vv.snapshot()
    rows = min(len(bone), len(clipped))  # the crop panel under the 3D pane may take a few rows
    Image.fromarray(np.hstack([bone[:rows], clipped[:rows]])).save(artifacts / "mpr_vr_clip.png")
    assert (clipped.max(axis=2) > 30).mean() < 0.75 * lit
    # patient's right is on screen left in the anterior view: the kept half is on the left
    h, wd = clipped.shape[:2]
    assert (clipped[:, : wd // 2].max(axis=2) > 30).sum() > 3 * (clipped[:, wd // 2 + 20:].max(axis=2) > 30).sum()


def _lit(pixels: np.ndarray) -> np.ndarray:
    return pixels.max(axis=2) > 30


def test_crop_panel_sliders_crop_and_toggle_off_restores(make_widget, volumes, qtbot, artifacts: Path) -> None:
    w = make_widget(volumes["ct"], (40.0, 400.0), vr=True)
    vv = w.volume_view
    full = vv.snapshot()
    full_size = vv.vtk_widget.size()
    assert w.clip_button.text() == "Crop"
    w.clip_button.setChecked(True)
    qtbot.waitUntil(lambda: vv.clip_panel.isVisible() and vv.vtk_widget.size() != full_size, timeout=3000)
    assert vv.renderer.HasViewProp(vv.outline)
    assert vv.clip_panel.bounds() == pytest.approx(vv.scene.bounds())
    uncropped = vv.snapshot()
    h, wd = uncropped.shape[:2]
    # keyboard on the R-L low (patient right) slider: 10 x Page Up = half the extent
    right = vv.clip_panel.sliders[0][0]
    right.setFocus()
    for _ in range(10):
        QTest.keyClick(right, Qt.Key.Key_PageUp)
    b = vv.scene.bounds()
    assert vv.clip_panel.bounds()[0] == pytest.approx((b[0] + b[1]) / 2)
    cropped = vv.snapshot()
    # the anterior view shows the patient's right on screen left: that side went dark
    left_before, left_after = _lit(uncropped[:, : wd // 2 - 20]).sum(), _lit(cropped[:, : wd // 2 - 20]).sum()
    assert left_after < 0.1 * left_before
    assert _lit(cropped[:, wd // 2 + 20:]).sum() > 0.8 * _lit(uncropped[:, wd // 2 + 20:]).sum()
    # the outline (yellow) of the crop box is drawn
    yellow = (cropped[..., 0] > 200) & (cropped[..., 1] > 150) & (cropped[..., 2] < 120)
    assert yellow.sum() > 100
    # the superior crop by mouse-free setValue: the top rows darken
    vv.clip_panel.sliders[2][1].setValue(500)
    top_cropped = vv.snapshot()
    assert _lit(top_cropped[: h // 3]).sum() < 0.5 * _lit(cropped[: h // 3]).sum()
    shot = w.snapshot()
    corner = vv.mapTo(w, vv.rect().topLeft())
    Image.fromarray(shot[corner.y(): corner.y() + vv.height(), corner.x(): corner.x() + vv.width()]).save(
        artifacts / "mpr_vr_crop_panel.png")
    # off: the panel and outline go, the whole volume is rendered again at the original size
    w.clip_button.setChecked(False)
    qtbot.waitUntil(lambda: not vv.clip_panel.isVisible() and vv.vtk_widget.size() == full_size, timeout=3000)
    assert not vv.renderer.HasViewProp(vv.outline)
    restored = vv.snapshot()
    assert restored.shape == full.shape
    assert np.abs(restored.astype(int) - full.astype(int)).mean() < 1.0


def test_trackball_camera_rotates_spins_pans_and_dollies(make_widget, volumes) -> None:
    """The 3D pane's own trackball (camera_drag.py) through real Qt mouse events on the VTK widget."""
    w = make_widget(volumes["ct"], (40.0, 400.0), vr=True)
    vv = w.volume_view
    camera, target = vv.renderer.GetActiveCamera(), vv.vtk_widget
    centre = (target.width() / 2, target.height() / 2)
    before = np.array(camera.GetDirectionOfProjection())
    still = vv.snapshot()
    _drag(target, centre, (centre[0] + 120, centre[1]))  # left drag: rotate about the vertical axis
    turned = np.array(camera.GetDirectionOfProjection())
    assert math.degrees(math.acos(float(np.clip(before @ turned, -1, 1)))) > 20
    assert np.abs(vv.snapshot().astype(int) - still.astype(int)).mean() > 2
    assert vv.render_window.GetDesiredUpdateRate() == pytest.approx(0.5)  # back to the still rate
    distance = camera.GetDistance()
    _drag(target, centre, (centre[0], centre[1] - 80), button=Qt.MouseButton.RightButton)  # right drag: dolly
    assert camera.GetDistance() != pytest.approx(distance, rel=0.05)
    focal = np.array(camera.GetFocalPoint())
    _drag(target, centre, (centre[0] + 60, centre[1]), button=Qt.MouseButton.MiddleButton)  # middle drag: pan
    assert np.linalg.norm(np.array(camera.GetFocalPoint()) - focal) > 5
    distance = camera.GetDistance()
    vv.interactor.MouseWheelForwardEvent()  # one wheel notch towards the screen
    assert camera.GetDistance() < distance
    up = np.array(camera.GetViewUp())
    QTest.mousePress(target, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier,
                     QPoint(int(centre[0] + 100), int(centre[1])))
    QTest.mouseMove(target, QPoint(int(centre[0]), int(centre[1] - 100)))
    QTest.mouseRelease(target, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier,
                       QPoint(int(centre[0]), int(centre[1] - 100)))
    assert math.degrees(math.acos(float(np.clip(up @ np.array(camera.GetViewUp()), -1, 1)))) > 30  # ctrl: spin
