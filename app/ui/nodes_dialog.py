"""File > DICOM nodes...: remote PACS/modalities and this workstation's AE, edited in the GUI.

Edits go to plain copies of the configuration (raw form rows); Save hands the validated result to
:meth:`~app.network.session.NetworkSession.apply_config` through the task bridge (a listener restart
takes ~0.5 s), Cancel drops them. "Test (C-ECHO)" runs on the bridge too: the window never waits for a peer.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Optional

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QLineEdit, QListWidget, QPushButton, QSpinBox,
    QTabWidget, QVBoxLayout, QWidget,
)

from app.network.nodes import LocalAE, Node, NodeConfig, NodeError, TlsSettings, check_ae_title, validate_config
from app.network.scu import echo
from app.network.session import NetworkSession, NetworkState
from app.ui.nodes_form import TlsBox, add_to, field_value, make_form, node_from_row, set_field, tls_from_row

ECHO_TIMEOUT = 5.0
RED, GREEN, GREY = "color: #c0392b;", "color: #1e8449;", "color: #7f8c8d;"
BLANK: dict[str, Any] = {"name": "", "ae_title": "PACS", "host": "", "port": 104, "retrieve": "get", "dicomweb": "",
                         "tls": asdict(TlsSettings()), "wire": "lossless", "transcodes": False}


def _echo(node: Node, calling_aet: str, **_: Any) -> float:
    """C-ECHO (bridge calling convention); a failure says refused / unknown host / rejected / aborted."""
    return echo(node, calling_aet, timeout=ECHO_TIMEOUT)


class NodesDialog(QDialog):
    """Remote nodes (list left, form right) and "This workstation" tabs; Save applies, Cancel drops."""

    saved = Signal(object)  # NetworkState after a successful save

    def __init__(self, session: NetworkSession, bridge: Any, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent, windowTitle="DICOM nodes", objectName="nodesDialog")
        self.session, self.bridge = session, bridge
        self.echo_task: Any = None
        self.save_task: Any = None
        self._echo_node, self._loading = "", False
        self.tabs = QTabWidget(objectName="nodesTabs")
        self.tabs.addTab(self._build_remote(), "Remote nodes")
        self.tabs.addTab(self._build_local(), "This workstation")
        self.error_label = QLabel(objectName="nodesError", wordWrap=True, styleSheet=RED, visible=False)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.save_button = box.button(QDialogButtonBox.StandardButton.Save)
        self.cancel_button = box.button(QDialogButtonBox.StandardButton.Cancel)
        self.save_button.setObjectName("saveNodesButton")
        box.accepted.connect(self.save)
        box.rejected.connect(self.reject)
        add_to(QVBoxLayout(self), (self.tabs, 1), self.error_label, box)
        self.reload()
        self.resize(880, 600)

    def _build_remote(self) -> QWidget:
        self.node_list = QListWidget(objectName="nodeList")
        self.node_list.currentRowChanged.connect(self._show_row)
        self.buttons = {name: QPushButton(text, objectName=f"{name}NodeButton", clicked=slot) for text, name, slot in (
            ("&Add", "add", self.add_node), ("D&uplicate", "duplicate", self.duplicate_node),
            ("&Remove", "remove", self.remove_node))}
        retrieve = QComboBox(objectName="nodeRetrieve")
        retrieve.addItem("C-GET", "get")
        retrieve.addItem("C-MOVE (to this workstation's listener)", "move")
        wire = QComboBox(objectName="nodeWire", toolTip="What the PACS sends; the cache keeps what arrived.\n"
                         "Lossy images are marked LOSSY in the viewer.")
        for text, value in (("Lossless compressed (default)", "lossless"), ("As stored on the PACS", "stored"),
                            ("Lossy compression accepted", "lossy")):
            wire.addItem(text, value)
        form, self.node_fields = make_form([
            ("name", "Name", QLineEdit(objectName="nodeName")),
            ("ae_title", "AE title", QLineEdit(objectName="nodeAeTitle")),
            ("host", "Host", QLineEdit(objectName="nodeHost")),
            ("port", "Port", QSpinBox(objectName="nodePort", minimum=1, maximum=65535)),
            ("retrieve", "Retrieve with", retrieve),
            ("dicomweb", "DICOMweb URL", QLineEdit(
                objectName="nodeDicomweb", placeholderText="optional: https://pacs.example.org/dicom-web",
                toolTip="When set, studies are retrieved with WADO-RS (about twice as fast as C-GET here);\n"
                        "C-GET/C-MOVE above is used if the DICOMweb request fails.")),
            ("wire", "On the wire", wire),
            ("transcodes", "", QCheckBox("The PACS transcodes on C-GET/C-MOVE (propose compressed first)",
                                         objectName="nodeTranscodes")),
            ("tls", "", TlsBox("DICOM TLS", {"ca_file": "CA file", "cert_file": "Certificate", "key_file": "Key"},
                               "nodeTls"))], self._store_row)
        self.test_button = QPushButton("&Test (C-ECHO)", objectName="testEchoButton", clicked=self.test_echo)
        self.echo_label = QLabel(objectName="echoResult", wordWrap=True)
        self.node_form = QWidget(objectName="nodeForm")
        add_to(QVBoxLayout(self.node_form), form, add_to(QHBoxLayout(), self.test_button, (self.echo_label, 1)), 1)
        self.node_form.layout().setContentsMargins(0, 0, 0, 0)
        left = add_to(QVBoxLayout(), (self.node_list, 1), add_to(QHBoxLayout(), *self.buttons.values()))
        page = QWidget()
        add_to(QHBoxLayout(page), (left, 2), (self.node_form, 5))
        return page

    def _build_local(self) -> QWidget:
        form, self.local_fields = make_form([
            ("ae_title", "AE title", QLineEdit(objectName="localAeTitle")),
            ("port", "Listening port", QSpinBox(objectName="localPort", maximum=65535,
                                                specialValueText="0 (do not listen)")),
            ("host", "Listening address", QLineEdit(objectName="localHost",
                                                    placeholderText="0.0.0.0 = every interface")),
            ("max_associations", "Max associations", QSpinBox(objectName="maxAssociations", minimum=1, maximum=256)),
            ("tls", "", TlsBox("DICOM TLS for the listener", {
                "cert_file": "Server certificate", "key_file": "Server key", "ca_file": "CA for client certificates"},
                "localTls", hostname=False))], self._store_local)
        note = QLabel("Peers must know this AE title, host and port: C-MOVE retrieves and sent studies arrive here. "
                      "Only configured nodes may connect.", wordWrap=True, styleSheet=GREY)
        page = QWidget()
        add_to(QVBoxLayout(page), form, note, 1)
        return page

    # -- form <-> raw rows -----------------------------------------------------------------
    def reload(self) -> None:
        """Start over from the session's configuration (what Cancel returns to)."""
        self.rows: list[dict[str, Any]] = [asdict(n) for n in self.session.config.nodes.values()]
        self.local: dict[str, Any] = asdict(self.session.config.local)
        self._fill(self.local_fields, self.local)
        self.node_list.clear()
        self.node_list.addItems([r["name"] for r in self.rows])
        self.node_list.setCurrentRow(0 if self.rows else -1)
        self._show_row()

    def _fill(self, fields: dict[str, QWidget], raw: dict[str, Any]) -> None:
        self._loading = True
        for key, w in fields.items():
            set_field(w, raw[key])
        self._loading = False

    def _show_row(self, *_: Any) -> None:
        row = self.node_list.currentRow()
        for w in (self.node_form, self.buttons["duplicate"], self.buttons["remove"]):
            w.setEnabled(row >= 0)
        self.echo_label.clear()
        self._fill(self.node_fields, self.rows[row] if row >= 0 else {**BLANK, "ae_title": ""})
        self.validate()

    def _store_row(self, *_: Any) -> None:
        row = self.node_list.currentRow()
        if not self._loading and row >= 0:
            self.rows[row] = {key: field_value(w) for key, w in self.node_fields.items()}
            self.node_list.item(row).setText(self.rows[row]["name"] or "(no name)")
            self.validate()

    def _store_local(self, *_: Any) -> None:
        if not self._loading:
            self.local.update({key: field_value(w) for key, w in self.local_fields.items()})
            self.validate()

    def _insert(self, raw: dict[str, Any]) -> None:
        names = {r["name"] for r in self.rows}
        raw["name"] = next(n for n in (raw["name"], *(f"{raw['name']}-{i}" for i in range(2, 999))) if n not in names)
        self.rows.append(raw)
        self.node_list.addItem(raw["name"])
        self.node_list.setCurrentRow(len(self.rows) - 1)
        self.node_fields["name"].setFocus()

    def add_node(self) -> None:
        """A new node with defaults; Save stays disabled until its host is filled in."""
        self._insert({**BLANK, "name": "pacs"})

    def duplicate_node(self) -> None:
        row = self.node_list.currentRow()
        if row >= 0:
            self._insert({**self.rows[row], "name": f"{self.rows[row]['name']}-copy"})

    def remove_node(self) -> None:
        row = self.node_list.currentRow()
        if row >= 0:
            del self.rows[row]
            self.node_list.takeItem(row)
            self._show_row()

    # -- validation, save, C-ECHO ----------------------------------------------------------
    def build(self) -> NodeConfig:
        """The edited configuration, validated (the :class:`NodeError` names the node or this workstation)."""
        cfg = NodeConfig(local=LocalAE(**{**self.local, "tls": tls_from_row(self.local["tls"])}))
        for node in map(node_from_row, self.rows):
            if node.name in cfg.nodes:
                raise NodeError(f"node name {node.name!r} is used twice")
            cfg.add(node)
        return validate_config(cfg)

    def validate(self) -> bool:
        """Show the first error under the tabs; Save is enabled only for a valid configuration."""
        try:
            self.build()
            error = ""
        except NodeError as exc:
            error = str(exc)
        self._show_error(error)
        self.save_button.setEnabled(not error and self.save_task is None)
        return not error

    def _show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))

    def save(self) -> Any:
        """Apply the edits on the bridge; the dialog closes once the listener is in its new state."""
        if self.save_task is not None or not self.validate():
            return self.save_task
        for w in (self.save_button, self.cancel_button, self.tabs):
            w.setEnabled(False)
        self.save_task = self.bridge.submit("Saving DICOM nodes", lambda cfg, **_: self.session.apply_config(cfg),
                                            self.build(), on_success=self._saved, on_failure=self._end_save)
        return self.save_task

    def _saved(self, state: NetworkState) -> None:
        self._end_save(None)
        self.saved.emit(state)
        if state.scp_error:  # saved, but the administrator must see at once that the listener is off
            self._show_error(f"Saved, but the listener is off: {state.scp_error}")
        else:
            self.accept()

    def _end_save(self, exc: BaseException | None) -> None:
        self.save_task = None
        self.tabs.setEnabled(True)
        self.cancel_button.setEnabled(True)
        self.validate()
        if exc is not None:
            self._show_error(f"Not saved: {exc}")

    def test_echo(self) -> Any:
        """C-ECHO the node as the form shows it, with this workstation's AE title, on the bridge."""
        if self.echo_task is not None and not self.echo_task.done:
            return self.echo_task
        row, self._echo_node = self.node_list.currentRow(), ""
        try:
            node, calling = node_from_row(self.rows[row]), check_ae_title(self.local["ae_title"])
        except (NodeError, IndexError) as exc:
            return self._echo_done(False, str(exc))
        self._echo_node = node.name
        self._echo_done(None, f"Testing {node.ae_title}@{node.host}:{node.port}...")
        self.test_button.setEnabled(False)
        self.echo_task = self.bridge.submit(
            f"C-ECHO {node.name}", _echo, node, calling,
            on_success=lambda s: self._echo_done(True, f"OK, {s * 1000:.0f} ms"),
            on_failure=lambda exc: self._echo_done(False, f"Failed: {exc}"))
        self.echo_task.finished.connect(lambda: self.test_button.setEnabled(True))
        return self.echo_task

    def _echo_done(self, ok: bool | None, text: str) -> None:
        row = self.node_list.currentRow()
        if self._echo_node and (row < 0 or self.rows[row]["name"] != self._echo_node):
            return  # the user moved on to another node meanwhile
        self.echo_label.setText(text)
        self.echo_label.setStyleSheet(GREY if ok is None else GREEN if ok else RED)


def wire_nodes(window: Any, session: NetworkSession) -> None:
    """Match the window to the configured nodes: worklist retrieval/polling, the Query dialog's node list."""
    panel, has_nodes = window.worklist_panel, bool(session.nodes())
    if has_nodes != (panel.prefetch is not None):
        panel.set_retrieve(session.retrieve if has_nodes else None)
    panel.remote_source = session.remote_worklist if has_nodes else None
    query = getattr(window, "query_dialog", None)
    if query is not None:
        current = query.node_box.currentData()
        query.node_box.clear()
        for node in session.nodes():
            query.node_box.addItem(f"{node.name}  ({node.ae_title}@{node.host}:{node.port})", node.name)
        query.node_box.setCurrentIndex(max(query.node_box.findData(current), 0))
        query.search_button.setEnabled(has_nodes)
        if has_nodes == query.status.text().startswith("No DICOM node"):
            query.status.setText("" if has_nodes else "No DICOM node configured: add one in File > DICOM nodes...")


def open_nodes_dialog(window: Any, session: NetworkSession) -> NodesDialog:
    """Show the window's one DICOM nodes dialog; reopened after Save/Cancel it starts from the saved config."""
    dialog = getattr(window, "nodes_dialog", None)
    if dialog is None:
        dialog = window.nodes_dialog = NodesDialog(session, window.bridge, window)

        def saved(state: NetworkState) -> None:
            wire_nodes(window, session)
            later = "; the listener restarts when the running retrieves end" if state.restart_pending else ""
            window.statusBar().showMessage(f"DICOM nodes saved{later}", 10000)

        dialog.saved.connect(saved)
    elif not dialog.isVisible():
        dialog.reload()
    dialog.show()
    dialog.raise_()
    dialog.activateWindow()
    return dialog
