"""The workstation's main window shell: study list, viewer and report areas, status bar."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Optional, Sequence

from PySide6.QtCore import QSettings, QSortFilterProxyModel, Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog, QLabel, QLineEdit, QMainWindow, QMessageBox, QProgressBar, QPushButton,
    QSplitter, QTableView, QVBoxLayout, QWidget,
)

from app import __version__
from app.config import Paths
from app.tasks import Progress
from app.ui.bridge import TaskBridge, TaskHandle
from app.ui.studies_model import StudiesModel

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    """Lists the cached studies; hosts the viewer and report areas filled by later issues."""

    def __init__(self, paths: Paths, cache: Any, audit: Any, user: str) -> None:
        super().__init__()
        self.paths, self.cache, self.audit, self.user = paths, cache, audit, user
        self.bridge = TaskBridge(parent=self)
        self.bridge.task_started.connect(self._on_task_started)
        self.bridge.task_finished.connect(self._on_task_finished)
        self.setWindowTitle(f"Telerad Workstation {__version__}")
        self._build_studies_panel()
        self._build_layout()
        self._build_status_bar()
        self._build_menus()
        self._settings = QSettings(str(paths.config_dir / "window.ini"), QSettings.Format.IniFormat)
        self._restore_geometry()

    # -- construction -------------------------------------------------------------------
    def _build_studies_panel(self) -> None:
        self.model = StudiesModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(Qt.ItemDataRole.UserRole)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.table = QTableView()
        self.table.setObjectName("studyTable")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(2, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.search = QLineEdit(placeholderText="Search patient, ID, description, accession...")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.proxy.setFilterFixedString)

    def _build_layout(self) -> None:
        left = QWidget()
        box = QVBoxLayout(left)
        box.setContentsMargins(4, 4, 4, 4)
        box.addWidget(self.search)
        box.addWidget(self.table)
        self.viewer_area = QLabel("Viewer\n\nSelect a study to read", alignment=Qt.AlignmentFlag.AlignCenter)
        self.viewer_area.setObjectName("viewerArea")
        self.viewer_area.setStyleSheet("background:#111; color:#888; font-size:16px;")
        self.report_area = QLabel("Report", alignment=Qt.AlignmentFlag.AlignCenter)
        self.report_area.setObjectName("reportArea")
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.viewer_area)
        right.addWidget(self.report_area)
        right.setSizes([700, 200])
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setSizes([620, 660])
        self.setCentralWidget(self.splitter)

    def _build_status_bar(self) -> None:
        self.task_label = QLabel()
        self.progress_bar = QProgressBar(maximumWidth=220)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_tasks)
        for widget in (self.task_label, self.progress_bar, self.cancel_button):
            self.statusBar().addPermanentWidget(widget)
            widget.hide()

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._action(file_menu, "Import &files...", self.choose_files, QKeySequence.StandardKey.Open)
        self._action(file_menu, "Import f&older...", self.choose_folder, "Ctrl+Shift+O")
        self._action(file_menu, "&Refresh", self.refresh, QKeySequence.StandardKey.Refresh)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        help_menu = self.menuBar().addMenu("&Help")
        self._action(help_menu, "&About Telerad", self.about)

    def _action(self, menu: Any, text: str, slot: Any, shortcut: Any = None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    # -- studies ------------------------------------------------------------------------
    def refresh(self) -> TaskHandle:
        """Reload the study list from the cache (off the main thread)."""
        return self.bridge.submit("Loading studies", _list_studies, self.cache,
                                  on_success=self._show_studies, on_failure=self._show_error)

    def _show_studies(self, studies: Sequence[Any]) -> None:
        self.model.set_studies(studies)
        self.statusBar().showMessage(f"{len(studies)} studies in the local cache", 5000)

    def import_paths(self, paths: Sequence[Path], label: str = "Importing") -> TaskHandle:
        """Import files/folders/ZIPs/DICOMDIRs in the background, then refresh."""
        from app.importer import import_paths

        return self.bridge.submit(label, import_paths, self.cache, list(paths), audit=self.audit,
                                  user=self.user, on_success=self._imported, on_failure=self._show_error)

    def _imported(self, summary: Any) -> None:
        self.statusBar().showMessage(summary.format().splitlines()[0], 10000)
        self.refresh()

    def choose_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Import DICOM files, ZIP archives or DICOMDIR")
        if files:
            self.import_paths([Path(f) for f in files])

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Import a folder or media")
        if folder:
            self.import_paths([Path(folder)])

    # -- tasks --------------------------------------------------------------------------
    def _on_task_started(self, handle: TaskHandle) -> None:
        handle.progressed.connect(self._on_progress)
        self.task_label.setText(handle.label)
        self.progress_bar.setRange(0, 0)
        for widget in (self.task_label, self.progress_bar, self.cancel_button):
            widget.show()

    def _on_progress(self, p: Progress) -> None:
        self.progress_bar.setRange(0, max(p.total, 0))
        self.progress_bar.setValue(p.done)

    def _on_task_finished(self, handle: TaskHandle) -> None:
        if not self.bridge.running():
            for widget in (self.task_label, self.progress_bar, self.cancel_button):
                widget.hide()

    def cancel_tasks(self) -> None:
        for handle in self.bridge.running():
            handle.cancel()

    def _show_error(self, exc: BaseException) -> None:
        self.statusBar().showMessage(f"Error: {exc}", 15000)

    def about(self) -> None:
        QMessageBox.about(self, "About Telerad", f"<b>Telerad Workstation</b> {__version__}<br>"
                          "Teleradiology reading workstation.")

    # -- lifecycle ----------------------------------------------------------------------
    def _restore_geometry(self) -> None:
        geometry = self._settings.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)
        state = self._settings.value("splitter")
        if state is not None:
            self.splitter.restoreState(state)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt API)
        self._settings.setValue("geometry", self.saveGeometry())
        self._settings.setValue("splitter", self.splitter.saveState())
        self._settings.sync()
        self.bridge.shutdown()
        super().closeEvent(event)


def _list_studies(cache: Any, progress: Optional[Any] = None, cancel: Optional[Any] = None) -> list[Any]:
    return list(cache.list_studies())
