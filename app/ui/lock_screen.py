"""Automatic and on-demand lock of the window: idle detection (an application-wide event filter), the lock
screen (no patient data: every PHI-holding widget hidden, neutral titles, tooltips gone, shortcuts off) and
unlock by the signed-in user's password or another user's sign-in.

Only the screen locks: the workstation's session, its listener, retrieves and outbox keep running."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QApplication, QDockWidget, QLabel, QToolBar, QToolTip, QVBoxLayout, QWidget,
)

from app.ui.reading_keys import build_lock_action
from app.ui.sign_in import SignInForm, attempt

if TYPE_CHECKING:
    from app.ui.main_window import MainWindow

LOCKED_TITLE = "Telerad Workstation - locked"
_INPUT = frozenset({QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove, QEvent.Type.Wheel,
                    QEvent.Type.TouchBegin, QEvent.Type.TabletPress})
_BLOCKED_WHILE_LOCKED = frozenset({QEvent.Type.Shortcut, QEvent.Type.ToolTip, QEvent.Type.WhatsThis,
                                   QEvent.Type.ContextMenu})


class LockScreen(QWidget):
    """Fills the window while locked: who is signed in and the unlock form, on a plain background."""

    def __init__(self, window: QWidget, names: list[str], session_label: str, user: str) -> None:
        super().__init__(window)
        self.setObjectName("lockScreen")
        self.setAutoFillBackground(True)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet("#lockScreen { background: #202428; } #lockScreen QLabel { color: #e0e0e0; }")
        self.panel = QWidget(self)
        self.panel.setObjectName("lockPanel")
        self.panel.setFixedWidth(380)
        self.heading = QLabel(f"Locked. Signed in: {session_label}.\nUnlock with your password, or sign in as "
                              "another user (this ends the session).", self.panel, wordWrap=True)
        self.form = SignInForm(names, user, button="Unlock", parent=self.panel)
        box = QVBoxLayout(self.panel)
        box.addWidget(self.heading)
        box.addWidget(self.form)
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        outer.addWidget(self.panel, 0, Qt.AlignmentFlag.AlignHCenter)
        outer.addStretch(1)


class LockController(QObject):
    """Locks ``window`` after ``idle_ms`` without keyboard or mouse input (site setting, injectable) or on
    the lock key; only when a user is signed in (no accounts: lone-reader mode, nothing to unlock with)."""

    locked_changed = Signal(bool)

    def __init__(self, window: "MainWindow", idle_ms: Optional[int] = None) -> None:
        super().__init__(window)
        from app.workstation import security

        self.window, self.ws = window, window.ws
        self.screen: Optional[LockScreen] = None
        self._hidden: list[tuple[QWidget, bool]] = []
        self._title = ""
        self.first_account: Optional[QWidget] = None
        self.timer = QTimer(self, singleShot=True)
        self.timer.timeout.connect(lambda: self.lock("idle"))
        self.idle_ms = security.settings(self.ws).lock_after_ms if idle_ms is None else idle_ms
        self.action = build_lock_action(window, lambda: self.lock("on demand"), window._settings)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)
        window.installEventFilter(self)
        self.restart()

    @property
    def locked(self) -> bool:
        return self.screen is not None

    def set_idle_timeout(self, ms: int) -> None:
        """Idle time before the automatic lock (0: never)."""
        self.idle_ms = int(ms)
        self.restart()

    def restart(self) -> None:
        if self.ws.session is not None and self.idle_ms > 0 and not self.locked:
            self.timer.start(self.idle_ms)
        else:
            self.timer.stop()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        kind = event.type()
        if self.screen is not None:
            if kind in _BLOCKED_WHILE_LOCKED:
                return True
            if obj is self.window and kind == QEvent.Type.Resize:
                self.screen.setGeometry(self.window.rect())
            if kind == QEvent.Type.Show and isinstance(obj, QWidget) and obj.isWindow() and obj is not self.window:
                QTimer.singleShot(0, lambda w=obj: self._hide_late(w))  # a window opened while locked
        elif kind in _INPUT and self.timer.isActive():
            self.timer.start(self.idle_ms)
        if obj is self.window and kind == QEvent.Type.Close:
            self.shutdown()
        return False

    # -- lock ------------------------------------------------------------------------------
    def lock(self, why: str = "on demand") -> bool:
        """Hide every patient-data widget and show the lock screen. False (and a status line) without a
        signed-in user."""
        from app.workstation import security

        session = self.ws.session
        if session is None:
            self.window.statusBar().showMessage("Locking needs a signed-in user: create an account "
                                                "(telerad user add NAME) and sign in", 10000)
            return False
        if self.locked:
            return True
        self.timer.stop()
        QToolTip.hideText()
        self._title = self.window.windowTitle()
        self.window.setWindowTitle(LOCKED_TITLE)
        self._hide_all()
        self.screen = LockScreen(self.window, self.ws.accounts.names(), session.label, session.user)
        self.screen.form.submitted.connect(self._unlock)
        self.screen.setGeometry(self.window.rect())
        self.screen.show()
        self.screen.raise_()
        self.screen.form.password.setFocus()
        security.locked(self.ws, why)
        self.locked_changed.emit(True)
        return True

    def _hide_all(self) -> None:
        """Other windows (panels screen, dialogs: a modal one is closed, not brought back), then the window's
        central area, menus, status bar, tool bars and docks."""
        window = self.window
        for top in QApplication.topLevelWidgets():
            if top is not window and top.isVisible() and top is not self.first_account:
                modal = top.isModal() or top.windowModality() != Qt.WindowModality.NonModal
                top.hide()
                self._hidden.append((top, not modal))
        direct = Qt.FindChildOption.FindDirectChildrenOnly
        parts = [window.centralWidget(), window.menuBar(), window.statusBar(),
                 *window.findChildren(QToolBar, options=direct), *window.findChildren(QDockWidget, options=direct)]
        for part in parts:
            if part is not None and part.isVisible():
                part.hide()
                self._hidden.append((part, True))

    def _hide_late(self, widget: QWidget) -> None:
        if self.screen is not None and widget.isVisible() and widget is not self.first_account:
            modal = widget.isModal() or widget.windowModality() != Qt.WindowModality.NonModal
            widget.hide()
            self._hidden.append((widget, not modal))

    def _unlock(self, name: str, password: str) -> None:
        assert self.screen is not None
        previous = self.ws.session.user if self.ws.session is not None else None
        if attempt(self.ws, self.screen.form, name, password) is None:
            return
        if name != previous:
            apply_user(self.window)
        self.unlock_screen()

    def unlock_screen(self) -> None:
        """Bring back what the lock hid (after a successful unlock)."""
        screen, self.screen = self.screen, None
        if screen is None:
            return
        for widget, reshow in reversed(self._hidden):
            if reshow:
                widget.show()
        self._hidden.clear()
        screen.hide()
        screen.deleteLater()
        self.window.setWindowTitle(self._title)
        self.restart()
        self.locked_changed.emit(False)

    # -- first account ---------------------------------------------------------------------
    def offer_first_account(self) -> Any:
        """No account yet: ask (not blocking) for the first one; once created the user is signed in."""
        from app.ui.sign_in import FirstAccountDialog

        dialog = FirstAccountDialog(self.ws, self.window)
        dialog.accepted.connect(lambda: (apply_user(self.window), self.restart()))
        self.first_account = dialog
        dialog.open()
        return dialog

    def shutdown(self) -> None:
        self.timer.stop()
        if self.first_account is not None:
            self.first_account.close()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)


def apply_user(window: "MainWindow") -> None:
    """The signed-in user becomes the window's user (claims, notices, report author); the list is reloaded."""
    user = window.ws.user
    window.user = window.worklist_panel.user = window.report_area.user = user
    window.statusBar().showMessage(f"Signed in: {window.ws.session.label if window.ws.session else user}", 10000)
    window.refresh()


def attach_lock(window: "MainWindow") -> LockController:
    """The window's lock (Ctrl+Alt+L, File > Lock the screen) and its idle timer."""
    controller = LockController(window)
    for action in window.menuBar().actions():
        if action.menu() is not None and action.text().replace("&", "") == "File":
            actions = action.menu().actions()
            action.menu().insertAction(actions[-1] if actions else None, controller.action)
    return controller
