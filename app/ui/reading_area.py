"""The reading area: 2D viewer and MPR tabs, created on first use.

A study opened before the viewer was warmed up shows its first images without VTK (plain-Qt viewports);
VTK is swapped in once they are on screen, in idle time (SWAP_MS after the last such paint).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Optional

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QLabel, QTabWidget, QWidget

from app.config import Paths
from app.ui.bridge import TaskBridge

if TYPE_CHECKING:
    from app.store import Cache

log = logging.getLogger(__name__)
SWAP_MS = 150  # idle time after the plain-Qt first images before VTK is built (restarted by each paint)
FALLBACK_SWAP_MS = 2000  # warm-up with a plain-Qt viewer that never painted an image (e.g. no image series)


class ReadingArea(QTabWidget):
    """Tabs "Images" (ViewerWidget) and "MPR" (MprWidget) for the study being read."""

    statusMessage = Signal(str)  # noqa: N815 (Qt naming)

    def __init__(self, paths: Paths, cache: "Cache", bridge: TaskBridge, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.paths, self.cache, self.bridge = paths, cache, bridge
        self.setObjectName("readingArea")
        self.viewer: Any = None
        self.mpr: Any = None
        self.study_uid: Optional[str] = None
        self.context_actions: dict[str, list[Any]] = {}  # right-click menu of the viewports (set by the window)
        self._mpr_study: Optional[str] = None
        self.first_images_without_vtk = False  # the application sets it at launch (app.ui.app.run_gui)
        from app.viewer.mpr.background import MprPrefetcher
        self.mpr_prefetch = MprPrefetcher(bridge)  # the MPR volume, prepared once the 2D images are in
        placeholder = QLabel("Select a study on the worklist to read", alignment=Qt.AlignmentFlag.AlignCenter)
        placeholder.setStyleSheet("background:#111; color:#888; font-size:16px;")
        self.addTab(placeholder, "Images")
        self.addTab(QLabel("MPR opens with a study", alignment=Qt.AlignmentFlag.AlignCenter), "MPR")
        self.currentChanged.connect(self._tab_changed)
        self._swap_timer = QTimer(self, singleShot=True, interval=SWAP_MS)
        self._swap_timer.timeout.connect(self.build_vtk)

    def open_study(self, study_uid: str) -> None:
        """Show a study (with its priors, chosen by the viewer's hanging protocol)."""
        self.study_uid = study_uid
        self._ensure_viewer(defer_vtk=self.first_images_without_vtk)  # not warmed up yet: the first images in Qt
        self.mpr_prefetch.start(study_uid)
        self.setCurrentIndex(0)
        self.viewer.open_study(self.cache, study_uid, self.bridge)
        if self.currentIndex() == 1:
            self.open_mpr()

    def _ensure_viewer(self, defer_vtk: bool = False) -> None:
        if self.viewer is not None:
            return
        from app.viewer.hang import user_protocols_file
        from app.viewer.viewer_widget import ViewerWidget

        self.viewer = ViewerWidget(protocols_path=user_protocols_file(self.paths.config_dir), defer_vtk=defer_vtk)
        self.viewer.imagePainted.connect(self._swap_timer.start)
        self.viewer.context_actions = self.context_actions
        self.viewer.statusMessage.connect(self.statusMessage)
        self.mpr_prefetch.watch(self.viewer, self.cache)
        self._replace_tab(0, self.viewer, "Images")

    def warm_up(self) -> None:
        """Create the viewer (and VTK) ahead of the first open, in idle time. A viewer already showing
        plain-Qt first images gets VTK after they are painted (or after FALLBACK_SWAP_MS)."""
        if self.viewer is None:
            self._ensure_viewer()
        elif self.viewer.defer_vtk:
            QTimer.singleShot(FALLBACK_SWAP_MS, self.build_vtk)

    def build_vtk(self) -> None:
        """VTK in place of the plain-Qt first images (same slice, W/L and view in every viewport)."""
        if self.viewer is not None and self.viewer.defer_vtk:
            self.viewer.build_vtk()

    def _replace_tab(self, index: int, widget: QWidget, title: str) -> None:
        old = self.widget(index)
        self.blockSignals(True)
        self.removeTab(index)
        self.insertTab(index, widget, title)
        self.setCurrentIndex(index)
        self.blockSignals(False)
        old.deleteLater()

    def _tab_changed(self, index: int) -> None:
        if index == 1 and self.study_uid and self._mpr_study != self.study_uid:
            self.open_mpr()

    def open_mpr(self) -> None:
        """Load the study's largest parallel-slice series as a volume (off the main thread) into the MPR tab."""
        from app.viewer.mpr.loader import load_mpr_volume, pick_series

        if self.study_uid is None:
            return
        if self.mpr_prefetch.take(self.study_uid, self._show_mpr, self.statusMessage.emit):
            self._mpr_study = self.study_uid  # prepared in the background (or being prepared)
            return
        series_uid = pick_series(self.cache, self.study_uid)
        if series_uid is None:
            self.statusMessage.emit("MPR: this study has no volume (needs 8 or more parallel slices)")
            return
        self._mpr_study = self.study_uid
        self.bridge.submit("Loading volume for MPR", load_mpr_volume, self.cache, series_uid,
                           on_success=self._show_mpr, on_failure=lambda e: self.statusMessage.emit(f"MPR: {e}"))

    def _show_mpr(self, volume: Any) -> None:
        if self.mpr is None:
            from app.viewer.gl_probe import capabilities
            from app.viewer.mpr.mpr_widget import MprWidget

            caps = capabilities()
            self.mpr = MprWidget(volume_rendering=caps.volume_rendering, software_vr=caps.software)
            if caps.message:
                self.statusMessage.emit(caps.message)
            self._replace_tab(1, self.mpr, "MPR")
        self.mpr.set_mpr_volume(volume)
        if volume.notice:
            self.statusMessage.emit(f"MPR: {volume.notice}")

    def shutdown(self) -> None:
        """Release VTK resources before the window closes."""
        if self.viewer is not None:
            self.viewer.shutdown()
        if self.mpr is not None:
            self.mpr.close_vtk()
