"""Reading mode (images on the whole monitor, panels collapsed) and the monitor arrangement.

With several screens the user picks the screen for images; the worklist and the report go to a
separate window on another screen. The choice is saved per monitor set-up (window.ini, ``screens/<set-up>``).
"""

from __future__ import annotations

import hashlib
from typing import Any, Optional

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget


def setup_key() -> str:
    """A stable name for the current set of monitors (names and geometries)."""
    screens = sorted(f"{s.name()}:{s.geometry().x()},{s.geometry().y()},{s.geometry().width()}x"
                     f"{s.geometry().height()}" for s in QGuiApplication.screens())
    return hashlib.sha1("|".join(screens).encode()).hexdigest()[:12]


def screen_named(name: str) -> Optional[QScreen]:
    return next((s for s in QGuiApplication.screens() if s.name() == name), None)


class PanelsWindow(QWidget):
    """The worklist above the report, on a screen of their own."""

    def __init__(self) -> None:
        super().__init__(None, Qt.WindowType.Window)
        self.setObjectName("panelsWindow")
        self.setWindowTitle("Telerad - worklist and report")
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.splitter)


class ReadingModeMixin:
    """Mixed into MainWindow: needs splitter, worklist_panel, report_area, viewer_area, _settings."""

    panels_window: Optional[PanelsWindow] = None
    reading_mode = False

    # -- panels -----------------------------------------------------------------------------
    def toggle_worklist(self) -> None:
        self._show_panel(self.worklist_panel, not self.worklist_panel.isVisible())

    def toggle_report(self) -> None:
        self._show_panel(self.report_area, not self.report_area.isVisible())

    def _show_panel(self, panel: Any, show: bool) -> None:
        panel.setVisible(show)
        if show and self.panels_window is None and panel.width() < 200:
            sizes = self.splitter.sizes()
            i = self.splitter.indexOf(panel)
            want = max(480, sum(sizes) // 4)
            sizes[1] = max(sizes[1] - want, 200)
            sizes[i] = want
            self.splitter.setSizes(sizes)

    # -- reading mode ----------------------------------------------------------------------------
    def set_reading_mode(self, on: bool) -> None:
        """Full screen for the images: menus, status bar, toolbar, series list and the docked panels hidden."""
        self.reading_mode = bool(on)
        docked = self.panels_window is None
        if on:
            self._before_reading = (self.worklist_panel.isVisible(), self.report_area.isVisible(), self.isMaximized())
        for widget in (self.menuBar(), self.statusBar()):
            widget.setVisible(not on)
        viewer = self.viewer_area.viewer
        if viewer is not None:
            viewer.toolbar.setVisible(not on)
            viewer.series_list.setVisible(not on)
        self.viewer_area.tabBar().setVisible(not on)
        if docked:
            before = getattr(self, "_before_reading", (True, True, False))
            self.worklist_panel.setVisible(False if on else before[0])
            self.report_area.setVisible(False if on else before[1])
        if on:
            self.setGeometry(self.screen().geometry())  # also right without a window manager
            self.showFullScreen()
        elif getattr(self, "_before_reading", (0, 0, False))[2]:
            self.showMaximized()
        else:
            self.showNormal()
        self.reading_mode_action.setChecked(self.reading_mode)
        if getattr(self, "leave_reading_action", None) is not None:
            self.leave_reading_action.setEnabled(self.reading_mode)  # Escape is free outside reading mode

    def leave_reading_mode(self) -> None:
        """Escape: cancels a measurement being drawn first, then leaves reading mode."""
        viewer = self.viewer_area.viewer
        if viewer is not None and viewer.active is not None and viewer.active.model.active is not None:
            viewer.key_to_active("Escape")
            return
        self.set_reading_mode(False)

    def toggle_reading_mode(self) -> None:
        self.set_reading_mode(not self.reading_mode)

    # -- monitors ------------------------------------------------------------------------------
    def arrange_screens(self, images: str, panels: str, save: bool = True) -> bool:
        """Images full screen on screen ``images``, worklist + report in their own window on ``panels``."""
        image_screen, panel_screen = screen_named(images), screen_named(panels)
        if image_screen is None or panel_screen is None:
            return False
        if image_screen is panel_screen:
            self.dock_panels()
        else:
            if self.panels_window is None:
                self.panels_window = PanelsWindow()
                self.panels_window.splitter.addWidget(self.worklist_panel)
                self.panels_window.splitter.addWidget(self.report_area)
                self.worklist_panel.show()
                self.report_area.show()
            self.panels_window.setGeometry(panel_screen.availableGeometry())
            self.panels_window.show()
            self.panels_window.showMaximized()
        self.setGeometry(image_screen.availableGeometry())
        self.showMaximized()
        self.setGeometry(image_screen.availableGeometry())
        if save:
            self._settings.setValue(f"screens/{setup_key()}", f"{images}|{panels}")
        return True

    def dock_panels(self) -> None:
        """Put the worklist and the report back into the main window."""
        if self.panels_window is None:
            return
        self.splitter.insertWidget(0, self.worklist_panel)
        self.splitter.addWidget(self.report_area)
        self.panels_window.close()
        self.panels_window.deleteLater()
        self.panels_window = None

    def restore_screens(self) -> bool:
        """Apply the arrangement saved for this monitor set-up (if any)."""
        saved = self._settings.value(f"screens/{setup_key()}")
        if not saved or "|" not in str(saved):
            return False
        images, panels = str(saved).split("|", 1)
        return self.arrange_screens(images, panels, save=False)

    def images_screen(self) -> QScreen:
        return self.screen()
