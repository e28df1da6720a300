"""ClipPanel (crop sliders) on its own: ordering, clamping, keyboard and mouse; and the 3D view's
imports stay free of vtkInteractionWidgets and vtkInteractionStyle (a clean interpreter, and a static scan of app/)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QSlider, QStyle, QStyleOptionSlider

from app.viewer.mpr.clip_panel import MIN_GAP, STEPS, ClipPanel

REPO = Path(__file__).resolve().parents[2]
EXTENT = (-100.0, 100.0, -50.0, 150.0, 10.0, 410.0)


@pytest.fixture
def panel(qtbot):  # type: ignore[no-untyped-def]
    p = ClipPanel()
    qtbot.addWidget(p)
    p.resize(520, 100)
    p.set_extent(EXTENT)
    p.show()
    qtbot.waitExposed(p)
    got: list[tuple[float, ...]] = []
    p.bounds_changed.connect(got.append)
    return p, got


def _handle_centre(slider: QSlider) -> QPoint:
    opt = QStyleOptionSlider()
    slider.initStyleOption(opt)
    rect = slider.style().subControlRect(QStyle.ComplexControl.CC_Slider, opt, QStyle.SubControl.SC_SliderHandle, slider)
    return rect.center()


def test_set_bounds_clamps_orders_and_emits_once(panel) -> None:
    p, got = panel
    assert p.bounds() == EXTENT
    p.set_bounds((-300.0, 20.0, 120.0, 0.0, 50.0, 999.0))
    assert got == [(-100.0, 20.0, 0.0, 120.0, 50.0, 410.0)]
    assert p.bounds() == got[0]
    low, high = p.sliders[0]
    assert (low.value(), high.value()) == (0, 600)
    assert p.labels[0].text() == "-100.0 … 20.0 mm"
    p.reset()
    assert p.bounds() == EXTENT and len(got) == 2
    p.set_extent((0.0, 10.0, 0.0, 10.0, 0.0, 10.0))  # new volume: full crop, no signal
    assert p.bounds() == (0.0, 10.0, 0.0, 10.0, 0.0, 10.0) and len(got) == 2


def test_low_never_passes_high_by_value_keyboard_and_mouse(panel) -> None:
    p, got = panel
    low, high = p.sliders[2]  # I-S
    high.setValue(400)
    assert p.bounds()[5] == pytest.approx(10.0 + 400 * 400.0 / STEPS)
    low.setValue(900)  # past the high handle: stops MIN_GAP short of it
    assert low.value() == 400 - MIN_GAP
    assert p.bounds()[4] < p.bounds()[5]
    # keyboard: End on the high slider of R-L goes to the far end, Home on it stops at the low one
    rl_low, rl_high = p.sliders[0]
    rl_low.setFocus()
    QTest.keyClick(rl_low, Qt.Key.Key_PageUp)
    assert rl_low.value() == rl_low.pageStep()
    QTest.keyClick(rl_high, Qt.Key.Key_Home)
    assert rl_high.value() == rl_low.value() + MIN_GAP
    assert p.bounds()[1] - p.bounds()[0] == pytest.approx(200.0 * MIN_GAP / STEPS)
    # mouse: drag the A-P low handle all the way right
    ap_low, ap_high = p.sliders[1]
    start = _handle_centre(ap_low)
    QTest.mousePress(ap_low, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    assert p.dragging()
    for x in range(start.x(), ap_low.width() + 40, 8):
        QTest.mouseMove(ap_low, QPoint(x, start.y()))
    QTest.mouseRelease(ap_low, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       QPoint(ap_low.width() - 1, start.y()))
    assert not p.dragging()
    assert ap_low.value() == STEPS - MIN_GAP and ap_high.value() == STEPS
    assert p.bounds()[2] == pytest.approx(-50.0 + 200.0 * (STEPS - MIN_GAP) / STEPS)
    assert all(b[2 * a] < b[2 * a + 1] for b in got for a in range(3))


def test_volume_view_does_not_import_interaction_widgets() -> None:
    code = ("import sys, app.viewer.mpr.mpr_widget, app.viewer.mpr.volume_view, app.viewer.mpr.clip_panel\n"
            "assert 'vtkmodules.vtkRenderingCore' in sys.modules, 'the 3D view was not imported'\n"
            "import app.viewer.viewport_widget\n"
            "print([m for m in ('vtkmodules.vtkInteractionWidgets', 'vtkmodules.vtkInteractionStyle') if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_no_app_module_names_interaction_widgets() -> None:
    """Static check of every import statement in app/ (import-linter cannot name external submodules)."""
    hits = []
    for path in sorted((REPO / "app").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            else:
                continue
            hits += [f"{path.relative_to(REPO)}:{node.lineno}" for n in names
                     if n.startswith(("vtkmodules.vtkInteractionWidgets", "vtkmodules.vtkInteractionStyle"))
                     or n in ("vtk", "vtkmodules.all")]
    assert len(list((REPO / "app").rglob("*.py"))) > 50
    assert hits == []
