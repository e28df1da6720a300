"""The viewer on a real X server (private Xvfb): grey levels, measurements, sync, layouts, cine, screenshots.

VTK content is captured with vtkWindowToImageFilter; screenshots go to tests/artifacts/.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.gui.conftest import assert_real_rendering, show_widget

DATA = ["ct/philips_phantom_study1_1mm", "ct/philips_phantom_study2_tilted", "mr/single/MR-SIEMENS-DICOM-WithOverlays.dcm",
        "mg", "us/DIRW0007", "cr_dx/RG3_J2KR.dcm", "pr_gsps"]


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory, shared_data: Path):  # type: ignore[no-untyped-def]
    from app.importer import import_paths
    from app.store import Cache

    c = Cache.open(tmp_path_factory.mktemp("viewer") / "cache")
    import_paths(c, [shared_data / d for d in DATA])
    yield c
    c.close()


def _series(cache, modality: str, count: int | None = None):  # type: ignore[no-untyped-def]
    for study in cache.list_studies():
        for s in cache.list_series(study.study_instance_uid):
            if s.modality == modality and (count is None or s.num_instances == count):
                return study, s
    raise LookupError(modality)


@pytest.fixture
def viewer(qtbot):  # type: ignore[no-untyped-def]
    from app.ui.bridge import TaskBridge
    from app.viewer.viewer_widget import ViewerWidget

    bridge = TaskBridge()
    widget = ViewerWidget()
    show_widget(qtbot, widget, 1300, 900)
    yield widget, bridge
    widget.shutdown()
    bridge.shutdown()


def _open(qtbot, viewer, cache, series_uid: str, viewport: int = 0) -> object:  # type: ignore[no-untyped-def]
    widget, bridge = viewer
    with qtbot.waitSignal(widget.seriesShown, timeout=20_000):
        widget.open_series(cache, series_uid, bridge, viewport=viewport)
    return widget.viewports[viewport]


def test_known_ct_value_under_40_80_gives_expected_grey(qtbot, viewer, cache) -> None:  # type: ignore[no-untyped-def]
    _, ct = _series(cache, "CT", 140)
    view = _open(qtbot, viewer, cache, ct.series_instance_uid)
    model = view.model
    model.state.interpolate = False
    model.state.set_window((40.0, 80.0))
    model.state.set_pixel_zoom(1.0, model.transform())
    view.refresh()
    values = model.values()
    shot = view.grab_rgb()
    t = model.transform()
    checked = 0
    for col, row in [(256, 256), (200, 300), (300, 180), (256, 100), (128, 256)]:
        hu = float(values[row, col])
        expected = round(min(max((hu - 39.5) / 79.0 + 0.5, 0.0), 1.0) * 255)
        u, v = t.image_to_screen(col, row)
        pixel = shot[int(v), int(u)]
        assert abs(int(pixel[0]) - expected) <= 1 and pixel[0] == pixel[1] == pixel[2], (col, row, hu, pixel)
        checked += 1
    assert checked == 5 and model.current_window() == (40.0, 80.0)


def test_length_drawn_with_the_mouse_equals_physical_distance(qtbot, viewer, cache) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QPoint, Qt

    widget, _ = viewer
    _, ct = _series(cache, "CT", 140)
    view = _open(qtbot, viewer, cache, ct.series_instance_uid)
    widget.set_tool("length")
    t = view.model.transform()
    ratio = view.vtk._getPixelRatio()
    a = t.image_to_screen(100, 150)
    b = t.image_to_screen(400, 350)
    pa, pb = QPoint(round(a[0] / ratio), round(a[1] / ratio)), QPoint(round(b[0] / ratio), round(b[1] / ratio))
    qtbot.mousePress(view.vtk, Qt.MouseButton.LeftButton, pos=pa)
    qtbot.mouseMove(view.vtk, pb)
    qtbot.mouseRelease(view.vtk, Qt.MouseButton.LeftButton, pos=pb)
    (m,) = widget.annotations(view.model.series.study_uid).measurements
    (c0, r0), (c1, r1) = m.points
    row_mm, col_mm = (float(v) for v in view.model.series.header.PixelSpacing)
    assert view.model.result(m).values["length"] == pytest.approx(np.hypot((c1 - c0) * col_mm, (r1 - r0) * row_mm))
    assert abs(c0 - 100) < 1.5 and abs(r1 - 350) < 1.5  # the mouse landed on the intended pixels
    assert view.model.result(m).values["length"] == pytest.approx(np.hypot(300 * col_mm, 200 * row_mm), rel=0.01)


def test_priors_side_by_side_scroll_in_sync(qtbot, viewer, cache, artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    from app.viewer.sync import synced_frame

    widget, bridge = viewer
    study, _ = _series(cache, "CT", 140)
    with qtbot.waitSignals([widget.seriesShown] * 4, timeout=30_000):
        widget.open_study(cache, study.study_instance_uid, bridge)
    qtbot.waitUntil(lambda: all(v.model.has_image for v in widget.viewports), timeout=20_000)
    assert widget.layout_name == "2x2"  # protocol "CT head with prior": current above, prior below
    current, prior = widget.viewports[0], widget.viewports[2]
    assert current.model.series.study_uid != prior.model.series.study_uid
    for _ in range(12):
        current.apply(current.interaction.key("Down"))
    assert prior.model.state.frame == synced_frame(current.model.series, current.model.state.frame, prior.model.series)
    assert current.model.reference_lines and prior.model.reference_lines  # tilted prior crosses the axial plane
    current.model.state.set_window((50.0, 350.0), "Mediastinum")
    current.apply({"window"})
    assert prior.model.state.window == (50.0, 350.0)  # linked W/L
    shot = widget.screenshot()
    _save(shot, artifacts / "viewer_1x2_priors.png")
    assert_real_rendering(shot[..., :3])


def _save(image: np.ndarray, path: Path) -> None:
    from app.viewer.offscreen_view import save_png

    save_png(image, path)


def _corner_has_text(image: np.ndarray, box: tuple[slice, slice]) -> bool:
    patch = image[box]
    return bool((patch.max(axis=-1) > 200).sum() > 30)


def test_layout_screenshots_show_images_and_overlays(qtbot, viewer, cache, artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    widget, _ = viewer
    widget.set_layout("2x2")
    uids = [_series(cache, m, n)[1].series_instance_uid for m, n in (("CT", 140), ("MR", None), ("MG", None), ("US", None))]
    for i, uid in enumerate(uids):
        _open(qtbot, viewer, cache, uid, viewport=i)
    mr = widget.viewports[1].model
    assert mr.overlay_layer() is not None  # DICOM overlay plane drawn over the MR
    for name in ("2x2", "1x2", "1x1"):
        widget.set_layout(name)
        qtbot.wait(50)
        for view in widget.viewports:
            shot = view.grab_rgb()
            h, w = shot.shape[:2]
            assert_real_rendering(shot)
            assert _corner_has_text(shot, (slice(0, 40), slice(0, w // 3)))  # patient text
            assert _corner_has_text(shot, (slice(h - 60, h), slice(w - w // 3, w)))  # W/L, zoom
        _save(widget.screenshot(), artifacts / f"viewer_{name}.png")
    labels = widget.viewports[0].model.orientation()
    assert (labels["left"], labels["right"], labels["top"]) == ("R", "L", "A")


def test_us_cine_plays_at_header_frame_rate(qtbot, viewer, cache, artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    widget, _ = viewer
    _, us = _series(cache, "US")
    view = _open(qtbot, viewer, cache, us.series_instance_uid)
    widget._activate(view)
    assert view.model.cine_fps() == pytest.approx(1000 / 38.1, rel=0.02)
    start = view.model.state.frame
    widget.cine_action.setChecked(True)
    qtbot.waitUntil(lambda: (view.model.state.frame - start) % 65 >= 5, timeout=5000)
    widget.cine_action.setChecked(False)
    shot = view.grab_rgb()
    _save(shot, artifacts / "viewer_us_cine.png")
    assert_real_rendering(shot)


def test_rotate_flip_invert_and_gsps(qtbot, viewer, cache, artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    widget, bridge = viewer
    study, _ = _series(cache, "OT")
    with qtbot.waitSignal(widget.seriesShown, timeout=20_000):
        widget.open_study(cache, study.study_instance_uid, bridge)
    view = widget.viewports[0]
    assert view.model.presentation is not None  # the PR in the study applies to the image
    before = view.grab_rgb()
    row = before[before.shape[0] // 4, :, 0].astype(int)
    inside = row[row > 0]
    assert inside.size and np.corrcoef(np.arange(inside.size), inside)[0, 1] > 0.9  # the unscrambled ramp
    widget._activate(view)
    widget.key_to_active("H")
    flipped = view.grab_rgb()[before.shape[0] // 4, :, 0].astype(int)
    assert np.corrcoef(np.arange(flipped[flipped > 0].size), flipped[flipped > 0])[0, 1] < -0.9
    widget.key_to_active("I")
    assert view.model.state.invert and view.model.state.hflip
    _save(view.grab_rgb(), artifacts / "viewer_gsps_flipped_inverted.png")
