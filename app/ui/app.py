"""Start the Qt application: open the workstation, show the main window, import demo studies on first run."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Any, Callable, Optional

from app.config import Paths, resources_dir

if TYPE_CHECKING:
    from app.ui.main_window import MainWindow

log = logging.getLogger(__name__)
DEMO_MARKER = ".demo-imported"


def run_gui(paths: Paths, user: str, demo: bool = True, quit_after_ms: Optional[int] = None,
            open_study: Optional[str] = None, sign_in: Optional[Callable[[Any], None]] = None,
            group_url: Optional[str] = None) -> int:
    """Run the workstation until the window closes (it starts maximized); ``open_study`` opens that study in
    reading mode. Returns the exit code."""
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from app.ui.main_window import MainWindow
    from app.workstation import Workstation

    if QApplication.instance() is None:  # HiDPI: exact device pixel ratios (1:1 pixel display needs them)
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Telerad Workstation")
    paths.config_dir.mkdir(parents=True, exist_ok=True)
    with Workstation(paths, user) as ws:
        ws.group_url = group_url  # --group: the shared worklist (app.ui.group_ui)
        ws.start_application("window")  # audited start; the stop is audited when the workstation closes
        from app.ui.sign_in import sign_in_at_start
        if sign_in is not None and ws.accounts.any():  # --unlock F: the password of a script
            sign_in(ws)
        elif not sign_in_at_start(ws):  # accounts exist: no window (no patient data) before a sign-in
            return 0
        ws.start_purge_schedule()  # the daily retention purge (retention.json), after sign-in; stopped on close
        window = MainWindow(ws)
        window.viewer_area.first_images_without_vtk = True  # opened before the warm-up: no wait for VTK
        if window.panels_window is None:  # a saved two-screen arrangement has placed the window already
            window.setGeometry(window.screen().availableGeometry())  # maximized even without a window manager
            window.showMaximized()
        if open_study:  # first: the worklist loads after it, in the background
            window.open_in_reading_mode(open_study)
        start_up(window, paths, demo and open_study is None, then=window.warm_up)  # warm-up: viewer and VTK
        encrypt_leftovers(window)  # ready before the first open, started once the worklist's first page shows
        if not ws.accounts.any():  # first start (lone-reader mode until then): offer the first account
            window.lock_controller.offer_first_account()
        if quit_after_ms is not None:
            QTimer.singleShot(quit_after_ms, window.close)
        return app.exec()


def encrypt_leftovers(window: "MainWindow") -> None:
    """A folder that was plaintext before its first account: its stored files are encrypted in the background."""
    from app.workstation import atrest

    if atrest.unlocked(window.ws):
        window.bridge.submit("Encrypting stored files", window.ws.encrypt_remaining,
                             on_success=lambda n: n and window.statusBar().showMessage(
                                 f"{n} stored files encrypted", 10000),
                             on_failure=window._show_error)


def start_up(window: "MainWindow", paths: Paths, demo: bool, then: Optional[Callable[[], Any]] = None) -> None:
    """List the cache; on the very first run with an empty cache, import the bundled demo studies. ``then``
    runs after the first paint (with the worklist's first page: its work would slow the page down)."""
    from PySide6.QtCore import QTimer

    marker = paths.home / DEMO_MARKER
    samples = resources_dir() / "samples"
    if demo and not marker.exists() and not window.cache.list_studies() and samples.is_dir():
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text("demo studies imported on first run\n")
        log.info("first run: importing demo studies from %s", samples)
        window.import_paths([samples], label="Importing demo studies")
        if then is not None:
            QTimer.singleShot(0, then)
    else:
        from app.ui.worklist_start import load_worklist_at_start

        load_worklist_at_start(window, then)  # the first page at once, then the whole worklist
