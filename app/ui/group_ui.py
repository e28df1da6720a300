"""The window in group reading (``--group URL``): the worklist follows the other readers live (LISTEN/NOTIFY
from app.workstation.group, marshalled to the main thread), "Claimed by" shows the colleagues' claims, and
Worklist > Next case (Ctrl+N) claims and opens the most urgent study this reader may read."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, Optional

from PySide6.QtCore import QObject, Qt, Signal

if TYPE_CHECKING:
    from app.ui.main_window import MainWindow

log = logging.getLogger(__name__)
NEXT_CASE_KEY = "Ctrl+N"


class GroupLive(QObject):
    """Relays the group's change notifications (the listener's thread): the claims of the listed studies are
    read there and shown at once (main thread), without waiting behind the window's other tasks; then the
    worklist refreshes (new studies, statuses); a change during a refresh triggers one more after it."""

    changed = Signal()
    claims = Signal(object)  # {study UID: holder}

    def __init__(self, window: "MainWindow") -> None:
        super().__init__(window)
        self.window = window
        self.last_change = 0.0  # monotonic time of the last notification (tests measure the delay)
        self._again = False
        self.changed.connect(self._refresh, Qt.ConnectionType.QueuedConnection)
        self.claims.connect(self._show_claims, Qt.ConnectionType.QueuedConnection)

    def notify(self) -> None:  # the listener's thread
        from app.workstation import group

        self.last_change = time.monotonic()
        uids = [e.study_instance_uid for e in list(self.window.worklist_panel.model.entries())]
        self.claims.emit(group.held_by(self.window.ws, uids))
        self.changed.emit()

    def _show_claims(self, held: dict) -> None:
        from app.workstation import group

        model = self.window.worklist_panel.model
        entries = model.entries()
        shown = group.apply_claims(entries, held, self.window.ws.user)
        if any(a is not b for a, b in zip(entries, shown)):
            self.window.worklist_panel.set_entries(shown)

    def _refresh(self) -> None:
        panel = self.window.worklist_panel
        if panel.loading is not None and not panel.loading.done:
            if not self._again:
                self._again = True
                panel.loading.finished.connect(self._after_load)
            return
        panel.refresh()

    def _after_load(self) -> None:
        self._again = False
        self.window.worklist_panel.refresh()


def attach_group(window: "MainWindow") -> Optional[GroupLive]:
    """In group mode: the live feed and the Next case action (None for a lone reader)."""
    from app.workstation.group_config import configured_url

    if not configured_url(window.ws):
        return None
    from PySide6.QtGui import QAction, QKeySequence

    live = GroupLive(window)
    window.ws.watch_group(lambda: live.notify())
    action = QAction("&Next case", window)
    action.setShortcut(QKeySequence(NEXT_CASE_KEY))
    action.setStatusTip("Claim and open the most urgent study you may read")
    action.triggered.connect(lambda: next_case(window))
    window.addAction(action)
    for menu_action in window.menuBar().actions():
        if menu_action.text() == "&Worklist" and menu_action.menu() is not None:
            menu_action.menu().insertAction(menu_action.menu().actions()[0], action)
    window.next_case_action = action
    return live


def notice(window: "MainWindow", text: str) -> Any:
    """A message that stays until dismissed (Enter or Escape): the status bar is rewritten by every refresh."""
    from PySide6.QtWidgets import QMessageBox

    box = QMessageBox(QMessageBox.Icon.Information, "Next case", text, QMessageBox.StandardButton.Ok, window)
    box.setModal(False)
    box.open()
    window.next_case_notice = box
    return box


def next_case(window: "MainWindow") -> Any:
    """Claim the next case (off the main thread), then open it; "No study left for you" when none."""
    def done(result: Any) -> None:
        if result.claim is None:
            why = " (your workload cap is reached)" if result.reason == "cap" else ""
            notice(window, f"No study left for you{why}.")
            return
        uid = result.claim.study_uid
        if window.cache.get_study(uid) is None:
            window.statusBar().showMessage(f"Next case {uid} claimed: retrieving it", 10000)
        window.open_study(uid, [])
        window.refresh()

    return window.bridge.submit("Next case", lambda progress=None, cancel=None: window.ws.group_next_case(),
                                on_success=done, on_failure=window._show_error)
