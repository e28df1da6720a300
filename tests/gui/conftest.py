"""GUI test set-up: a private Xvfb for the whole run (VTK widgets need a real X server), started
before any QApplication exists (tests/xvfb.py); screenshot helpers."""

from __future__ import annotations

import contextlib

import os
from pathlib import Path

import numpy as np
import pytest

from tests.xvfb import XvfbError, start_xvfb

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def pytest_configure(config: pytest.Config) -> None:
    try:
        os.environ["DISPLAY"] = start_xvfb()
    except XvfbError as exc:
        raise pytest.UsageError(str(exc)) from None
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)


@pytest.fixture
def artifacts() -> Path:
    """Folder for screenshots the tests save (open them to look at the screens)."""
    return ARTIFACTS


def qimage_to_array(image: "object") -> np.ndarray:
    """A QImage as an (h, w, 4) uint8 array."""
    from PySide6.QtGui import QImage

    img = image.convertToFormat(QImage.Format.Format_RGBA8888)  # type: ignore[attr-defined]
    ptr = img.constBits()
    return np.frombuffer(ptr, np.uint8, img.sizeInBytes()).reshape(img.height(), img.bytesPerLine() // 4, 4)[:, : img.width()].copy()


def assert_real_rendering(pixels: np.ndarray, min_colours: int = 20) -> None:
    """Fail on a blank, uniform or garbage-free-but-empty screenshot."""
    assert pixels.size > 0
    assert pixels[..., :3].std() > 5, "screenshot is (nearly) uniform"
    colours = np.unique(pixels[..., :3].reshape(-1, 3), axis=0)
    assert len(colours) >= min_colours, f"only {len(colours)} distinct colours"


def study_on_screen(window, study_uid: str, loaded: bool = True) -> bool:  # type: ignore[no-untyped-def]
    """True once a viewport of the window shows an image of ``study_uid`` (``loaded``: its series in memory).
    Waiting for "the viewer exists" is no sign: the window creates the viewer ahead of the first open."""
    viewer = window.viewer_area.viewer
    return viewer is not None and any(
        v.model.has_image and v.model.series.study_uid == study_uid and (not loaded or v.model.frames.fully_loaded)
        for v in viewer.viewports)


def wait_study_open(qtbot, window, study_uid: str, timeout: int = 60_000) -> None:  # type: ignore[no-untyped-def]
    """Wait until ``study_uid`` is on screen with its series loaded."""
    qtbot.waitUntil(lambda: study_on_screen(window, study_uid), timeout=timeout)


@contextlib.contextmanager
def main_window(qtbot, home: Path, user: str = "tester", prepare=None):  # type: ignore[no-untyped-def]
    """The real main window on a workstation of ``home`` (shown; closed with its services afterwards);
    ``prepare(ws)`` runs before the window is built (accounts, sign-in)."""
    from app.config import resolve_paths
    from app.ui.main_window import MainWindow
    from app.workstation import Workstation

    paths = resolve_paths(str(home))
    paths.config_dir.mkdir(parents=True, exist_ok=True)
    ws = Workstation(paths, user)
    if prepare is not None:
        prepare(ws)
    win = MainWindow(ws)
    qtbot.addWidget(win)
    win.show()
    try:
        yield win
    finally:
        win.close()
        ws.close()


@pytest.fixture
def window(qtbot, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The main window on an empty data dir."""
    with main_window(qtbot, tmp_path / "home") as win:
        yield win


def show_widget(qtbot, widget, width: int, height: int):  # type: ignore[no-untyped-def]
    """``widget`` handed to qtbot, resized, shown and exposed; returns it."""
    qtbot.addWidget(widget)
    widget.resize(width, height)
    widget.show()
    qtbot.waitExposed(widget)
    return widget
