"""Form pieces of the DICOM nodes dialog: raw form rows <-> :class:`Node`, the TLS group box, field helpers."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QBoxLayout, QCheckBox, QComboBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLayout, QLineEdit, QSpinBox,
    QToolButton, QWidget,
)

from app.network.nodes import Node, NodeError, TlsSettings

TLS_FILES = ("ca_file", "cert_file", "key_file")
Field = tuple[str, str, QWidget]  # key in the raw row, label, editor
SIGNALS = {QSpinBox: "valueChanged", QComboBox: "currentIndexChanged", QCheckBox: "toggled"}  # line edits: textChanged


def tls_from_row(raw: dict[str, Any]) -> TlsSettings:
    return TlsSettings(raw["enabled"], *(raw[k] or None for k in TLS_FILES), raw["check_hostname"])


def node_from_row(raw: dict[str, Any]) -> Node:
    """A :class:`Node` from a raw form row (the :class:`NodeError` names the node)."""
    try:
        return Node(**{**raw, "dicomweb": raw["dicomweb"] or None, "tls": tls_from_row(raw["tls"])})
    except NodeError as exc:
        raise NodeError(f"node {raw['name'] or '(no name)'}: {exc}") from None


def add_to(layout: QBoxLayout, *items: Any) -> QBoxLayout:
    """Add widgets, layouts, ``(item, stretch)`` pairs and stretches (ints) to ``layout``."""
    for item in items:
        item, stretch = item if isinstance(item, tuple) else (item, 0)
        if isinstance(item, int):
            layout.addStretch(item)
        elif isinstance(item, QLayout):
            layout.addLayout(item, stretch)
        else:
            layout.addWidget(item, stretch)
    return layout


class TlsBox(QGroupBox):
    """A checkable TLS group: PEM files, each with a picker, and optionally "check the host name"."""

    changed = Signal()

    def __init__(self, title: str, labels: dict[str, str], name: str, hostname: bool = True) -> None:
        super().__init__(title, objectName=name)
        self.setCheckable(True)
        form = QFormLayout(self)
        self.files: dict[str, QLineEdit] = {}
        for key, label in labels.items():
            edit = self.files[key] = QLineEdit(objectName=f"{name}_{key}", placeholderText="PEM file")
            browse = QToolButton(text="...", objectName=f"{name}_{key}_browse", toolTip=f"Choose the {label.lower()}")
            browse.clicked.connect(lambda _=False, e=edit, t=label: self._browse(e, t))
            form.addRow(label, add_to(QHBoxLayout(), (edit, 1), browse))
            edit.textChanged.connect(self.changed)
        self.check_hostname = QCheckBox("Certificate must match the host name", objectName=f"{name}_hostname")
        if hostname:
            form.addRow("", self.check_hostname)
        self.check_hostname.toggled.connect(self.changed)
        self.toggled.connect(self.changed)

    def _browse(self, edit: QLineEdit, title: str) -> None:
        path, _ = QFileDialog.getOpenFileName(self, title, edit.text(), "PEM (*.pem *.crt *.cer *.key);;All files (*)")
        if path:
            edit.setText(path)

    def set_value(self, raw: dict[str, Any]) -> None:
        self.setChecked(bool(raw["enabled"]))
        for key, edit in self.files.items():
            edit.setText(raw[key] or "")
        self.check_hostname.setChecked(bool(raw["check_hostname"]))

    def value(self) -> dict[str, Any]:
        return {"enabled": self.isChecked(), **{k: self.files[k].text().strip() for k in TLS_FILES},
                "check_hostname": self.check_hostname.isChecked()}


def field_value(w: Any) -> Any:
    if isinstance(w, (QSpinBox, TlsBox)):
        return w.value()
    if isinstance(w, QCheckBox):
        return w.isChecked()
    return w.currentData() if isinstance(w, QComboBox) else w.text().strip()


def set_field(w: Any, value: Any) -> None:
    if isinstance(w, TlsBox):
        w.set_value(value)
    elif isinstance(w, QSpinBox):
        w.setValue(int(value))
    elif isinstance(w, QComboBox):
        w.setCurrentIndex(max(w.findData(value), 0))
    elif isinstance(w, QCheckBox):
        w.setChecked(bool(value))
    else:
        w.setText(value or "")


def make_form(fields: list[Field], on_change: Any) -> tuple[QFormLayout, dict[str, QWidget]]:
    """A form of ``fields`` (a TLS box spans both columns), each edit calling ``on_change``."""
    form = QFormLayout()
    for _key, label, w in fields:
        if isinstance(w, TlsBox):
            form.addRow(w)
        else:
            form.addRow(label, w)
        signal = "changed" if isinstance(w, TlsBox) else SIGNALS.get(type(w), "textChanged")
        getattr(w, signal).connect(on_change)
    return form, {key: w for key, _label, w in fields}
