"""The workstation's main window shell: reading worklist, viewer and report areas, status bar."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog, QLabel, QMainWindow, QMessageBox, QProgressBar, QPushButton, QSplitter,
)

from app import __version__
from app.tasks import Progress
from app.ui.bridge import TaskBridge, TaskHandle
from app.ui.network_ui import attach_network
from app.ui.reading_area import ReadingArea
from app.ui.reading_keys import build_reading_actions, context_groups, fill_menu, load_keys, save_keys
from app.ui.reading_mode import ReadingModeMixin
from app.ui.theme import apply_theme, screen_dpi
from app.ui.worklist_panel import WorklistPanel

if TYPE_CHECKING:
    from app.workstation import Workstation

log = logging.getLogger(__name__)


class MainWindow(ReadingModeMixin, QMainWindow):
    """The reading worklist, the viewer and the report side by side; reading mode gives the images the screen."""

    def __init__(self, ws: "Workstation") -> None:
        super().__init__()
        self.ws = ws
        self.paths, self.cache, self.audit, self.user = ws.paths, ws.cache, ws.audit, ws.user
        self.bridge = TaskBridge(parent=self)
        self.bridge.task_started.connect(self._on_task_started)
        self.bridge.task_finished.connect(self._on_task_finished)
        self.setWindowTitle(f"Telerad Workstation {__version__}")
        self._settings = QSettings(str(self.paths.config_dir / "window.ini"), QSettings.Format.IniFormat)
        self._apply_theme()
        self._build_worklist_panel()
        self._build_layout()
        self._build_status_bar()
        self._build_menus()
        self._restore_geometry()
        self.network = attach_network(self)
        from app.ui.clinical_ui import attach_clinical
        attach_clinical(self)  # order banner over the viewports, View > Critical results..., HL7 orders
        from app.ui.disk_space import attach_disk_warning
        self.disk_warning = attach_disk_warning(self, self.paths.home)
        from app.ui.lock_screen import attach_lock
        self.lock_controller = attach_lock(self)  # idle and on-demand lock (Ctrl+Alt+L), sign-in of another user
        from app.ui.group_ui import attach_group
        self.group_live = attach_group(self)  # --group: the live shared worklist, Worklist > Next case (Ctrl+N)
        from app.ui.tat_dialog import attach_tat
        attach_tat(self)  # Worklist > Turnaround dashboard... (Ctrl+Shift+T)

    # -- construction -------------------------------------------------------------------
    def _build_worklist_panel(self) -> None:
        self.worklist = self.ws.worklist
        self.worklist_panel = WorklistPanel(self.ws, self.bridge, settings=self._settings)
        self.worklist_panel.setObjectName("worklistPanel")
        self.worklist_panel.status_message.connect(lambda text: self.statusBar().showMessage(text, 10000))
        self.worklist_panel.entries_loaded.connect(
            lambda n: self.statusBar().showMessage(f"{n} studies on the worklist", 5000))
        self.worklist_panel.open_requested.connect(self.open_study)
        self.model = self.worklist_panel.model
        self.table = self.worklist_panel.table
        self.search = self.worklist_panel.search

    def _build_layout(self) -> None:
        left = self.worklist_panel
        self.viewer_area = ReadingArea(self.paths, self.cache, self.bridge)
        self.viewer_area.statusMessage.connect(lambda text: self.statusBar().showMessage(text, 10000))
        self.report_area = self._build_report_editor()
        self.reading_actions = build_reading_actions(self.viewer_area, load_keys(self._settings))
        self.viewer_area.context_actions.update(context_groups(self.reading_actions))
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("mainSplitter")
        for widget in (left, self.viewer_area, self.report_area):
            self.splitter.addWidget(widget)
        self.splitter.setCollapsible(1, False)
        self.splitter.setSizes([560, 460, 260])
        self.setCentralWidget(self.splitter)
        from app.ui.ai_panel import attach_ai_panel
        self.ai_panel = attach_ai_panel(self)  # AI findings (accept / reject) above the report

    def _apply_theme(self) -> None:
        from app.viewer.props_view import set_text_scale

        scale = float(self._settings.value("ui/text_scale", 1.0) or 1.0)
        self.theme = apply_theme(str(self._settings.value("ui/theme", "dark")), scale)
        set_text_scale(scale, screen_dpi(self))

    def set_theme(self, name: str) -> None:
        """Dark (default) or light; saved."""
        self._settings.setValue("ui/theme", name)
        self._apply_theme()
        self.model.layoutChanged.emit()

    def _retrieve_then_open(self, study_uid: str, prior_uids: list[str]) -> None:
        if not self.network.state().nodes:
            self.statusBar().showMessage("This study is not in the local cache and no PACS node is configured", 10000)
            return
        from app.ui.network_ui import retrieve_and_open

        retrieve_and_open(self, study_uid, prior_uids)  # opens on the first slice, fills in as slices arrive

    def _give_room_to_images(self) -> None:
        """While reading, the worklist collapses (F9 brings it back) and the report takes a side column."""
        if self.panels_window is not None:
            return
        total = sum(self.splitter.sizes())
        report = min(max(420, total * 27 // 100), 720) if self.report_area.isVisible() else 0
        self.worklist_panel.hide()
        self.splitter.setSizes([0, total - report, report])
        if self.viewer_area.viewer is not None:
            self.viewer_area.viewer.setFocus()

    def _build_report_editor(self) -> Any:
        from app.ui.report_editor import ReportEditor

        self.report_store = self.ws.report_store
        editor = ReportEditor(self.ws, self.bridge)
        editor.setObjectName("reportArea")
        editor.status_message.connect(lambda text: self.statusBar().showMessage(text, 10000))
        editor.measurements_requested.connect(self._send_measurements)
        editor.key_image_requested.connect(self._send_key_images)
        editor.report_signed.connect(lambda signed: self.worklist_panel.show_study(signed.report.study.study_uid))
        editor.report_changed.connect(self.worklist_panel.show_study)
        return editor

    def _annotations(self) -> Any:
        viewer, uid = self.viewer_area.viewer, self.viewer_area.study_uid
        return viewer.annotations(uid) if viewer is not None and uid else None

    def _send_measurements(self) -> None:
        from app.ui.report_glue import measurement_items

        annotations = self._annotations()
        if annotations is not None:
            self.report_area.insert_measurements(measurement_items(self.cache, annotations))

    def _send_key_images(self) -> None:
        from app.ui.report_glue import insert_key_images

        annotations = self._annotations()
        if annotations is not None:
            insert_key_images(self.report_area, self.cache, annotations, self.paths.key_images,
                              on_screen=self._on_screen_pixels)

    def _on_screen_pixels(self, sop_uid: str, frame: int) -> Any:
        """The pixels of the viewport showing that image (W/L, zoom, overlays as read), or None."""
        viewer = self.viewer_area.viewer
        for view in viewer.viewports if viewer is not None else ():
            if view.model.has_image and view.model.sop_uid() == sop_uid and view.model.ref.frame == frame:
                return view.grab_rgb()
        return None

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
        self._action(file_menu, "&Group reading...", self.group_settings)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        view_menu = self.menuBar().addMenu("&View")
        self.reading_mode_action = self._action(view_menu, "&Reading mode (full screen)", self.toggle_reading_mode,
                                                "F11")
        self.reading_mode_action.setCheckable(True)
        self.leave_reading_action = self._action(view_menu, "Leave reading mode", self.leave_reading_mode, "Escape")
        self.leave_reading_action.setEnabled(False)
        self.addAction(self.leave_reading_action)  # the menu bar is hidden in reading mode
        self._action(view_menu, "&Worklist panel", self.toggle_worklist, "F9")
        self._action(view_menu, "Re&port panel", self.toggle_report, "F10")
        self._action(view_menu, "&Images", lambda: self.viewer_area.setCurrentIndex(0), "Ctrl+Alt+1")
        self._action(view_menu, "&MPR", lambda: self.viewer_area.setCurrentIndex(1), "Ctrl+Alt+2")
        self._screens_menu(view_menu.addMenu("&Monitors"))
        theme_menu = view_menu.addMenu("&Theme")
        for name in ("dark", "light"):
            self._action(theme_menu, name.capitalize(), lambda n=name: self.set_theme(n))
        fill_menu(self.menuBar(), self.reading_actions)
        worklist_menu = self.menuBar().addMenu("&Worklist")
        for name in ("open", "start", "retrieve", "mark_read", "release", "search"):
            worklist_menu.addAction(self.worklist_panel.actions_by_name[name])
        help_menu = self.menuBar().addMenu("&Help")
        self.shortcuts_action = self._action(help_menu, "&Keyboard shortcuts", self.show_shortcuts, "?")
        self.shortcuts_action.setShortcuts([QKeySequence("?"), QKeySequence("F1")])
        self._action(help_menu, "&About Telerad", self.about)

    def _screens_menu(self, menu: Any) -> None:
        from PySide6.QtGui import QGuiApplication

        screens = QGuiApplication.screens()
        for images in screens:
            for panels in screens:
                if images is not panels or len(screens) == 1:
                    label = f"Images on {images.name()}" + (f", worklist/report on {panels.name()}"
                                                            if images is not panels else "")
                    self._action(menu, label, lambda i=images.name(), p=panels.name(): self.arrange_screens(i, p))
        self._action(menu, "Panels back in this window", self.dock_panels)

    def show_shortcuts(self) -> Any:
        """Help > Keyboard shortcuts: every key of the window; the reading keys can be changed and saved."""
        from app.ui.shortcut_help import ShortcutsDialog

        dialog = ShortcutsDialog(self, self.reading_actions, self.set_reading_keys)
        dialog.show()
        return dialog

    def set_reading_keys(self, keys: dict[str, str]) -> list[Any]:
        """Apply new reading keys; refused (old keys kept) if any would collide. Returns the collisions."""
        from app.ui.shortcut_help import collisions

        old = {n: a.shortcut().toString(QKeySequence.SequenceFormat.PortableText) for n, a in self.reading_actions.items()}
        for name, key in keys.items():
            if name in self.reading_actions:
                self.reading_actions[name].setShortcut(QKeySequence(key))
        clashes = collisions(self)
        if clashes:
            for name, key in old.items():
                self.reading_actions[name].setShortcut(QKeySequence(key))
            a, b = clashes[0]
            self.statusBar().showMessage(f"Shortcut {a.key} is already used by {b.text}: not saved", 10000)
            return clashes
        save_keys(self._settings, {**old, **keys})
        return []

    def _action(self, menu: Any, text: str, slot: Any, shortcut: Any = None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        menu.addAction(action)
        if shortcut is not None:
            self.addAction(action)  # its key also works in reading mode, where the menu bar is hidden
        return action

    def group_settings(self) -> None:
        from app.ui.group_settings import open_group_settings

        open_group_settings(self)

    # -- studies ------------------------------------------------------------------------
    def refresh(self) -> TaskHandle:
        """Reload the worklist from the cache (off the main thread)."""
        return self.worklist_panel.refresh()

    def open_study(self, study_uid: str, prior_uids: list[str]) -> None:
        """Open a study with its priors in the reading area and record the access; a study that is
        only on a remote node is retrieved first (with progress and cancel), then opened."""
        if self.cache.get_study(study_uid) is None:
            self._retrieve_then_open(study_uid, prior_uids)
            return
        session = self.ws.open_for_reading(study_uid, prior_uids)
        self.viewer_area.open_study(study_uid)
        from app.ui.clinical_ui import show_context
        show_context(self, study_uid)
        self.report_area.open_study(study_uid)
        self._watch_priors()
        self._give_room_to_images()
        self.worklist_panel.show_study(study_uid)
        if not session.claimed:
            self.statusBar().showMessage(f"Opened without a claim: {session.note}", 10000)

    def _watch_priors(self) -> None:
        viewer = self.viewer_area.viewer
        if viewer is not None and not getattr(viewer, "_comparison_hooked", False):
            viewer._comparison_hooked = True
            viewer.seriesShown.connect(self._comparison_from_viewport)

    def _comparison_from_viewport(self, index: int) -> None:
        """A prior on screen fills the report's Comparison section (date, modality, description)."""
        viewer = self.viewer_area.viewer
        info = viewer.viewports[index].model.series if index < len(viewer.viewports) else None
        if info is None or info.study_uid == self.viewer_area.study_uid:
            return
        prior = self.cache.get_study(info.study_uid)
        if prior is not None:
            d = prior.study_date
            date = f"{d[:4]}-{d[4:6]}-{d[6:8]}" if len(d) == 8 else (d or "date unknown")
            what = " ".join(x for x in ("/".join(prior.modalities), prior.description) if x)
            self.report_area.set_comparison(f"{what} of {date}.")

    def open_in_reading_mode(self, study_uid: str) -> None:
        """How a RIS launches the reader: the study with its priors and protocol, full screen on the image screen."""
        entry = self.worklist.entry(study_uid)
        if entry is None and self.cache.get_study(study_uid) is not None:  # launched before the worklist is listed
            from app.workstation.reading import track

            entry = track(self.ws, study_uid)  # just this study (with its priors)
        self.open_study(study_uid, list(entry.priors) if entry is not None else [])
        self.set_reading_mode(True)

    def warm_up(self) -> None:
        """In idle time after the first paint: create the viewer and VTK so the first open does not wait."""
        from PySide6.QtCore import QTimer

        QTimer.singleShot(150, self.viewer_area.warm_up)

    def import_paths(self, paths: Sequence[Path], label: str = "Importing") -> TaskHandle:
        """Import files/folders/ZIPs/DICOMDIRs in the background, then refresh."""
        return self.bridge.submit(label, self.ws.import_paths, list(paths), on_success=self._imported,
                                  on_failure=self._show_error)

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
        state = self._settings.value("splitter3")
        if state is not None:
            self.splitter.restoreState(state)
        self.restore_screens()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt API)
        self._settings.setValue("geometry", self.saveGeometry())
        self._settings.setValue("splitter3", self.splitter.saveState())
        if self.panels_window is not None:
            self.panels_window.close()
        self.worklist_panel.shutdown()
        self.viewer_area.shutdown()
        self.network.shutdown()
        self.report_area.shutdown()
        self._settings.sync()
        self.bridge.shutdown()
        super().closeEvent(event)
