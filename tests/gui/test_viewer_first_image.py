"""The first image without VTK (issue 13): a study opened before the viewer is warm is drawn by plain-Qt
viewports with the right window/level, input works on them, and the VTK swap keeps slice, W/L and the look.

Screenshots: tests/artifacts/first_image_placeholder.png (plain Qt) and first_image_vtk.png (after the swap).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from PySide6.QtCore import QPoint, Qt

from tests.gui.conftest import show_widget

CT = "ct/philips_phantom_study1_1mm"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    from app.importer import import_paths
    from app.store import Cache

    home = tmp_path_factory.mktemp("first-image")
    cache = Cache.open(home / "cache")
    import_paths(cache, [shared_data / CT])
    cache.close()
    return home


@pytest.fixture
def area(qtbot, home: Path):  # type: ignore[no-untyped-def]
    from app.config import resolve_paths
    from app.store import Cache
    from app.ui.bridge import TaskBridge
    from app.ui.reading_area import ReadingArea

    paths = resolve_paths(str(home))
    paths.config_dir.mkdir(parents=True, exist_ok=True)
    cache = Cache.open(home / "cache")
    bridge = TaskBridge()
    widget = ReadingArea(paths, cache, bridge)
    widget.first_images_without_vtk = True  # as the application sets it at launch
    show_widget(qtbot, widget, 1100, 800)
    yield widget, cache
    widget.shutdown()
    bridge.shutdown()
    cache.close()


def _study(cache) -> str:  # type: ignore[no-untyped-def]
    return cache.list_studies()[0].study_instance_uid


def _windowed(path: str, window: tuple[float, float]) -> np.ndarray:
    """The slice windowed by hand from pydicom (rescale, then PS3.3 C.11.2.1.2 LINEAR): the expected grey."""
    ds = pydicom.dcmread(path)
    hu = ds.pixel_array.astype(np.float64) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    c, w = window
    unit = np.clip((hu - (c - 0.5)) / (w - 1.0) + 0.5, 0.0, 1.0)
    return np.rint(unit * 255.0).astype(np.uint8)


def _on_screen(view, expected: np.ndarray, shot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """Screen pixels of the image's central part and the expected slice pixels under them (nearest)."""
    t = view.model.transform()
    (u0, v0), (u1, v1) = t.image_to_screen(0, 0), t.image_to_screen(t.cols - 1, t.rows - 1)
    us = np.arange(int(u0 + 0.25 * (u1 - u0)), int(u0 + 0.75 * (u1 - u0)))
    vs = np.arange(int(v0 + 0.25 * (v1 - v0)), int(v0 + 0.75 * (v1 - v0)))
    uu, vv = np.meshgrid(us, vs)
    cols = np.clip(np.rint((uu + 0.5 - t.width / 2) / t.ppm / t.sx + t.center[0] / t.sx), 0, t.cols - 1).astype(int)
    rows = np.clip(np.rint((vv + 0.5 - t.height / 2) / t.ppm / t.sy + t.center[1] / t.sy), 0, t.rows - 1).astype(int)
    return shot[vv, uu, 0].astype(int), expected[rows, cols].astype(int)


def test_first_image_without_vtk_then_swap(qtbot, area, artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    from PIL import Image

    widget, cache = area
    widget._swap_timer.setInterval(600_000)  # the swap is done by hand below (after looking at the placeholder)
    widget.open_study(_study(cache))
    viewer = widget.viewer
    assert viewer.defer_vtk
    view = viewer.viewports[0]
    qtbot.waitUntil(lambda: view.model.has_image, timeout=30_000)
    with qtbot.waitSignal(viewer.imagePainted, timeout=10_000):
        view.surface.repaint()
    assert view.vtk is None and not view.vtk_ready  # no VTK surface yet

    # the pixels: window 40/80 (the hanging protocol's brain window, the header's too) of the middle slice,
    # as computed by hand from pydicom
    assert view.model.state.window in (None, (40.0, 80.0))
    path = view.model.ref.path
    expected = _windowed(path, (40.0, 80.0))
    view.model.state.interpolate = False  # nearest: exact pixels to compare
    view.refresh()
    shot, want = _on_screen(view, expected, view.grab_rgb())
    assert np.mean(np.abs(shot - want)) < 1.0 and np.mean(np.abs(shot - want) > 2) < 0.01
    assert shot.std() > 10  # the phantom, not a flat field

    # input on the placeholder: scroll two slices, drag the window
    view.model.state.interpolate = True
    frame0 = view.model.state.frame
    qtbot.wait(50)
    target = view.surface
    centre = target.rect().center()
    for _ in range(2):
        from PySide6.QtCore import QPointF
        from PySide6.QtGui import QWheelEvent

        ev = QWheelEvent(QPointF(centre), QPointF(target.mapToGlobal(centre)), QPoint(0, 0), QPoint(0, -120),
                         Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
        from PySide6.QtWidgets import QApplication

        QApplication.sendEvent(target, ev)
    assert view.model.state.frame != frame0
    qtbot.mousePress(target, Qt.MouseButton.LeftButton, pos=centre)
    qtbot.mouseMove(target, centre + QPoint(40, 25))
    qtbot.mouseRelease(target, Qt.MouseButton.LeftButton, pos=centre + QPoint(40, 25))
    frame, window = view.model.state.frame, view.model.state.window
    assert window is not None and window != (40.0, 80.0)
    qtbot.wait(100)
    placeholder = view.grab_rgb()
    by_hand = _windowed(view.model.ref.path, window)
    shot, want = _on_screen(view, by_hand, placeholder)
    assert np.mean(np.abs(shot - want)) < 3.0  # bilinear on screen vs nearest by hand
    Image.fromarray(placeholder).save(artifacts / "first_image_placeholder.png")

    # the swap: VTK in place, same slice, same W/L, same picture
    widget.build_vtk()
    assert view.vtk_ready and not viewer.defer_vtk
    assert view.model.state.frame == frame and view.model.state.window == window
    qtbot.wait(200)
    after = view.grab_rgb()
    Image.fromarray(after).save(artifacts / "first_image_vtk.png")
    assert after.shape == placeholder.shape
    shot_vtk, _ = _on_screen(view, by_hand, after)
    shot_qt, _ = _on_screen(view, by_hand, placeholder)
    assert np.mean(np.abs(shot_vtk - shot_qt)) < 2.0  # the image itself: same grey, same place, same size
    assert np.mean(np.abs(after.astype(int) - placeholder.astype(int))) < 4.0  # texts included
    # input now goes to VTK's surface, on the same model
    view.vtk.setFocus()
    qtbot.keyClick(view.vtk, Qt.Key.Key_Down)
    assert view.model.state.frame != frame


def test_swap_happens_in_idle_time_after_the_first_paint(qtbot, area) -> None:  # type: ignore[no-untyped-def]
    widget, cache = area
    widget.open_study(_study(cache))
    view = widget.viewer.viewports[0]
    qtbot.waitUntil(lambda: view.model.has_image, timeout=30_000)
    qtbot.waitUntil(lambda: view.vtk_ready, timeout=10_000)
    assert not widget.viewer.defer_vtk
    assert view.grab_rgb().std() > 10


def test_warm_viewer_opens_with_vtk(qtbot, area) -> None:  # type: ignore[no-untyped-def]
    widget, cache = area
    widget.warm_up()  # idle time before the first open: the viewer with VTK
    assert not widget.viewer.defer_vtk and widget.viewer.viewports[0].vtk_ready
    widget.open_study(_study(cache))
    view = widget.viewer.viewports[0]
    qtbot.waitUntil(lambda: view.model.has_image, timeout=30_000)
    assert view.vtk_ready
