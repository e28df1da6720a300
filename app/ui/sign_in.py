"""Sign-in widgets: the form (lock screen and start-up dialog), the start-up sign-in, the first account.

They call the workstation's sign-in use cases (app.workstation.security); no rule lives here. Nothing
shown holds patient data: user names, a message, the password field."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Sequence

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget,
)

if TYPE_CHECKING:
    from app.security import Session
    from app.workstation import Workstation


class SignInForm(QWidget):
    """User name (editable list of the accounts), password, a message line and the button."""

    submitted = Signal(str, str)

    def __init__(self, names: Sequence[str], user: str = "", button: str = "Sign in",
                 parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setObjectName("signInForm")
        self.user = QComboBox(self, editable=True)
        self.user.addItems(list(names))
        self.user.setCurrentText(user)
        self.password = QLineEdit(self, echoMode=QLineEdit.EchoMode.Password)
        self.password.setObjectName("signInPassword")
        self.password.returnPressed.connect(self.submit)
        self.message = QLabel(self, wordWrap=True)
        self.message.setObjectName("signInMessage")
        self.button = QPushButton(button, self)
        self.button.setObjectName("signInButton")
        self.button.clicked.connect(self.submit)
        form = QFormLayout(self)
        form.addRow("User", self.user)
        form.addRow("Password", self.password)
        form.addRow(self.message)
        form.addRow(self.button)
        self._hold = QTimer(self, singleShot=True)
        self._hold.timeout.connect(self._release)

    def submit(self) -> None:
        if self.button.isEnabled():
            self.submitted.emit(self.user.currentText().strip(), self.password.text())

    def show_error(self, text: str) -> None:
        self.message.setText(text)
        self.password.clear()
        self.password.setFocus()

    def hold(self, seconds: float, text: str) -> None:
        """Refuse input for ``seconds`` (the rate limit after failed attempts)."""
        self.show_error(text)
        self.button.setEnabled(False)
        self.password.setEnabled(False)
        self._hold.start(max(100, int(seconds * 1000)))

    def _release(self) -> None:
        self.button.setEnabled(True)
        self.password.setEnabled(True)
        self.message.setText("You may try again.")
        self.password.setFocus()


def attempt(ws: "Workstation", form: SignInForm, name: str, password: str) -> "Optional[Session]":
    """Sign ``name`` in; on failure the form says why (and waits out the rate limit). None if refused."""
    from app.security import AccountError, RateLimitedError

    try:
        return ws.sign_in(name, password)
    except RateLimitedError as exc:
        form.hold(exc.wait_s, str(exc).capitalize())
    except AccountError as exc:
        wait = ws.accounts.wait_s(name)
        if wait > 0:
            form.hold(wait, f"{str(exc).capitalize()}. Too many failed attempts: wait {max(1, round(wait))} s.")
        else:
            form.show_error(str(exc).capitalize())
    return None


class SignInDialog(QDialog):
    """The sign-in at start (accounts exist): accepted once a user is signed in."""

    def __init__(self, ws: "Workstation", parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.ws = ws
        self.setWindowTitle("Telerad Workstation - sign in")
        self.setMinimumWidth(360)
        names = ws.accounts.names()
        self.form = SignInForm(names, names[0] if len(names) == 1 else "", parent=self)
        self.form.submitted.connect(self._submitted)
        box = QVBoxLayout(self)
        box.addWidget(self.form)

    def _submitted(self, name: str, password: str) -> None:
        if attempt(self.ws, self.form, name, password) is not None:
            self.accept()


class FirstAccountDialog(QDialog):
    """The first account of a data dir (it draws the master key); accepted once it exists and is signed in."""

    def __init__(self, ws: "Workstation", parent: Optional[QWidget] = None, *, required: bool = False) -> None:
        super().__init__(parent)
        self.ws = ws
        self.setWindowTitle("Telerad Workstation - create your account")
        self.setMinimumWidth(440)
        self.name = QLineEdit(self, placeholderText="e.g. alice")
        self.display = QLineEdit(self, placeholderText="e.g. Dr Alice Example")
        self.password = QLineEdit(self, echoMode=QLineEdit.EchoMode.Password)
        self.again = QLineEdit(self, echoMode=QLineEdit.EchoMode.Password)
        self.message = QLabel("Your account signs you in, locks the screen when you are away and names you on "
                              "your reports." + ("" if required else " Without one, anyone at this keyboard "
                                                 "sees every patient."), self, wordWrap=True)
        buttons = QDialogButtonBox(self)
        self.create = buttons.addButton("Create account", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton("Quit" if required else "Not now", QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self._create)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        for label, widget in (("User name", self.name), ("Your name", self.display), ("Password", self.password),
                              ("Password again", self.again)):
            form.addRow(label, widget)
        form.addRow(self.message)
        form.addRow(buttons)

    def _create(self) -> None:
        from app.security import AccountError
        from app.workstation import security

        if self.password.text() != self.again.text():
            self.message.setText("The two passwords differ.")
            return
        try:
            security.add_user(self.ws, self.name.text().strip(), self.password.text(), self.display.text().strip())
            self.ws.sign_in(self.name.text().strip(), self.password.text())
        except AccountError as exc:
            self.message.setText(str(exc).capitalize() + ".")
            return
        self.accept()


def sign_in_at_start(ws: "Workstation") -> bool:
    """Before the window shows any data: the sign-in (accounts exist) or, when the site requires a sign-in and
    there is no account yet, the first account. False: the user gave up (quit). No accounts: True (lone reader)."""
    if ws.accounts.any():
        return SignInDialog(ws).exec() == QDialog.DialogCode.Accepted
    if ws.sign_in_required():
        return FirstAccountDialog(ws, required=True).exec() == QDialog.DialogCode.Accepted
    return True
