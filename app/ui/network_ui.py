"""DICOM networking in the main window: SCP/network status in the status bar, the Query/Retrieve
dialog (File > Query PACS..., Ctrl+Shift+F) and :func:`attach_network`, which wires a
:class:`~app.network.session.NetworkSession` into the window and the worklist panel.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Optional

from PySide6.QtCore import QDate, QItemSelectionModel, QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView, QCheckBox, QComboBox, QDateEdit, QDialog, QFormLayout, QHBoxLayout, QHeaderView, QLabel,
    QLineEdit, QProgressBar, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from app.network.query import Query
from app.network.session import NetworkSession, NetworkState
from app.ui.nodes_dialog import open_nodes_dialog, wire_nodes

QUERY_SHORTCUT = "Ctrl+Shift+F"
MODALITIES = ("", "CT", "MR", "CR", "DX", "US", "MG", "NM", "PT", "XA", "RF", "SR")
COLUMNS = ("Patient name", "Patient ID", "Study date", "Modalities", "Description", "Accession",
           "Series", "Images", "Cached")
KEYS = ("PatientName", "PatientID", "StudyDate", "ModalitiesInStudy", "StudyDescription", "AccessionNumber",
        "NumberOfStudyRelatedSeries", "NumberOfStudyRelatedInstances")
UID_ROLE = Qt.ItemDataRole.UserRole


class _StateRelay(QObject):
    """Carries session state changes from network threads to the main thread."""

    changed = Signal(object)


class NetworkStatusWidget(QWidget):
    """Status-bar widget: Storage SCP state (listening / off / error), running retrieves, last error."""

    def __init__(self, session: NetworkSession, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.scp_label = QLabel(objectName="scpStatus")
        self.error_label = QLabel(objectName="networkError", styleSheet="color: #c0392b;")
        self.retrieve_label = QLabel(objectName="retrieveStatus", visible=False)  # MB/s and time left
        box = QHBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.retrieve_label)
        box.addWidget(self.scp_label)
        box.addWidget(self.error_label)
        self._relay = _StateRelay(self)
        self._relay.changed.connect(self.show_state)
        session.subscribe(self._relay.changed.emit)
        self.show_state(session.state())

    def show_retrieve(self, text: str) -> None:
        """The running retrieve: "142 of 300 instances, 4.1 MB/s, 12 s left" ("" hides it)."""
        self.retrieve_label.setText(text)
        self.retrieve_label.setVisible(bool(text))

    def show_state(self, state: NetworkState) -> None:
        nodes = ", ".join(state.nodes) or "none configured"
        if state.listening:
            text, colour = f"SCP {state.ae_title} listening on port {state.port}{' (TLS)' if state.tls else ''}", "#1e8449"
        elif state.scp_error:
            text, colour = "SCP error", "#c0392b"
        else:
            text, colour = "SCP off", "#7f8c8d"
        if state.active:
            text += f" \u00b7 {state.active} retrieving"
        if state.restart_pending:
            text += " \u00b7 new settings apply when the retrieves end"
        self.scp_label.setText(f"\u25cf {text}")
        self.scp_label.setStyleSheet(f"color: {colour};")
        self.scp_label.setToolTip(f"{state.scp_error}\nNodes: {nodes}".strip())
        error = state.last_error
        self.error_label.setText(error if len(error) <= 70 else error[:67] + "...")
        self.error_label.setToolTip(error)
        self.error_label.setVisible(bool(error))


def _pattern(text: str) -> str:
    """Names and descriptions match as prefixes unless the user typed a wildcard."""
    text = text.strip()
    return text if not text or "*" in text or "?" in text else text + "*"


class QueryDialog(QDialog):
    """Find studies on a configured node and retrieve them into the cache (through the task bridge)."""

    retrieved = Signal(str)  # study UID, after each successful retrieve

    def __init__(self, session: NetworkSession, bridge: Any, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent, windowTitle="Query PACS", objectName="queryDialog")
        self.session, self.bridge = session, bridge
        self.search_task: Any = None
        self.retrieve_task: Any = None
        self._pending: list[str] = []
        self.arrivals: Any = None
        self.results_node, self._total = "", 0
        self._build()
        self.resize(980, 560)

    def _build(self) -> None:
        self.node_box = QComboBox(objectName="nodeBox")
        for node in self.session.nodes():
            self.node_box.addItem(f"{node.name}  ({node.ae_title}@{node.host}:{node.port})", node.name)
        self.patient_name, self.patient_id, self.accession, self.description = (
            QLineEdit(objectName=n, clearButtonEnabled=True)
            for n in ("patientName", "patientId", "accession", "description"))
        self.modality = QComboBox(objectName="modality", editable=True)
        self.modality.addItems(MODALITIES)
        self.use_dates = QCheckBox("Study date", objectName="useDates")
        today = QDate.currentDate()
        self.date_from, self.date_to = (QDateEdit(d, calendarPopup=True, displayFormat="yyyy-MM-dd", enabled=False)
                                        for d in (today.addDays(-7), today))
        for edit in (self.date_from, self.date_to):
            self.use_dates.toggled.connect(edit.setEnabled)
        dates = QHBoxLayout()
        for w in (self.use_dates, self.date_from, QLabel("to"), self.date_to):
            dates.addWidget(w)
        dates.addStretch(1)
        form = QFormLayout()
        for label, field in (("Node", self.node_box), ("Patient name", self.patient_name), ("Patient ID", self.patient_id),
                             ("Accession", self.accession), ("Modality", self.modality), ("Date", dates),
                             ("Description", self.description)):
            form.addRow(label, field)
        self.search_button = QPushButton("&Search", objectName="searchButton", default=True, clicked=self.search)
        self.table = QTableWidget(0, len(COLUMNS), objectName="resultsTable")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.doubleClicked.connect(self.retrieve_selected)
        self.status = QLabel(objectName="queryStatus")
        self.progress = QProgressBar(objectName="retrieveProgress", maximumWidth=260, visible=False)
        self.retrieve_button = QPushButton("&Retrieve", objectName="retrieveButton", enabled=False,
                                           clicked=self.retrieve_selected)
        self.cancel_button = QPushButton("Cancel", objectName="cancelButton", enabled=False, clicked=self.cancel)
        close = QPushButton("Close", clicked=self.close)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        top = QHBoxLayout()
        top.addLayout(form, 1)
        top.addWidget(self.search_button, 0, Qt.AlignmentFlag.AlignBottom)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status)
        bottom.addWidget(self.progress)
        bottom.addStretch(1)
        for w in (self.retrieve_button, self.cancel_button, close):
            bottom.addWidget(w)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addLayout(bottom)
        if not self.session.nodes():
            self.search_button.setEnabled(False)
            self.status.setText("No DICOM node configured: add one in File > DICOM nodes...")

    def current_query(self) -> Query:
        dates = [d.date().toString("yyyyMMdd") for d in (self.date_from, self.date_to)] if self.use_dates.isChecked() \
            else ["", ""]
        return Query(patient_name=_pattern(self.patient_name.text()), patient_id=self.patient_id.text().strip(),
                     accession=self.accession.text().strip(), modality=self.modality.currentText().strip().upper(),
                     date_from=dates[0], date_to=dates[1], description=_pattern(self.description.text()))

    def search(self) -> Any:
        """Run the C-FIND in the background; results fill the table."""
        node = self.node_box.currentData()
        if not node or (self.search_task is not None and not self.search_task.done):
            return self.search_task
        self.status.setText(f"Querying {node}...")
        self.search_button.setEnabled(False)
        self.search_task = self.bridge.submit("Querying PACS", self.session.query_cached, self.current_query(), node,
                                              on_success=partial(self._show_results, node), on_failure=self._failed)
        self.search_task.finished.connect(lambda: self.search_button.setEnabled(True))
        return self.search_task

    def _show_results(self, node: str, rows: list[tuple[dict[str, str], int]]) -> None:
        self.results_node = node
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(rows))
        for r, (rec, cached) in enumerate(rows):
            values: list[Any] = [rec.get(k, "") for k in KEYS] + [cached]
            values[0] = str(values[0]).replace("^", " ").strip()
            date, time = str(values[2]), rec.get("StudyTime", "")
            values[2] = f"{date[:4]}-{date[4:6]}-{date[6:8]}" if len(date) == 8 else date
            values[2] += f" {time[:2]}:{time[2:4]}" if len(time) >= 4 else ""
            values[3] = str(values[3]).replace("\\", "/")
            for c in (6, 7):
                values[c] = int(values[c]) if str(values[c]).isdigit() else 0
            for c, value in enumerate(values):
                item = QTableWidgetItem()
                item.setData(Qt.ItemDataRole.DisplayRole, value)
                item.setData(UID_ROLE, rec.get("StudyInstanceUID", ""))
                self.table.setItem(r, c, item)
        self.table.setSortingEnabled(True)
        self._update_buttons()
        self.status.setText(f"{len(rows)} stud{'y' if len(rows) == 1 else 'ies'} found")

    def _failed(self, exc: BaseException) -> None:
        self.status.setText(f"<span style='color:#c0392b'>Error: {exc}</span>")

    def selected_uids(self) -> list[str]:
        items = [self.table.item(i.row(), 0) for i in self.table.selectionModel().selectedRows()]
        return [item.data(UID_ROLE) for item in items if item is not None]

    def _update_buttons(self) -> None:
        self.retrieve_button.setEnabled(bool(self.selected_uids()) and self.retrieve_task is None)

    def _row_of(self, study_uid: str) -> int:
        return next((r for r in range(self.table.rowCount()) if self.table.item(r, 0).data(UID_ROLE) == study_uid), -1)

    def select_study(self, study_uid: str) -> bool:
        row = self._row_of(study_uid)
        if row >= 0:  # not selectRow(): it follows the keyboard modifiers held at the time
            flags = QItemSelectionModel.SelectionFlag
            self.table.selectionModel().setCurrentIndex(self.table.model().index(row, 0),
                                                        flags.ClearAndSelect | flags.Rows)
        return row >= 0

    def retrieve_selected(self) -> Any:
        """Retrieve the selected studies one after the other (only instances not yet cached)."""
        if self.retrieve_task is not None:
            return self.retrieve_task
        self._pending = self.selected_uids()
        self._total = len(self._pending)
        return self._next()

    def _next(self) -> Any:
        self.retrieve_task = None
        if not self._pending:
            self.progress.hide()
            self.cancel_button.setEnabled(False)
            self._update_buttons()
            return None
        uid, node = self._pending.pop(0), self.results_node  # the node the results came from
        index = self._total - len(self._pending)
        self.retrieve_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setRange(0, 0)
        self.progress.show()
        self.status.setText(f"Retrieving study {index} of {self._total}...")
        from app.network.arrivals import Arrivals

        self.arrivals = arrivals = Arrivals()  # "142 of 300 instances, 4.1 MB/s, 12 s left" while it runs
        task = self.bridge.submit(f"Retrieving study {index} of {self._total}", self.session.retrieve, uid, node=node,
                                  arrivals=arrivals, on_success=partial(self._retrieved, uid), on_failure=self._failed,
                                  on_progress=partial(self._progressed, index))
        task.cancelled.connect(lambda: self.status.setText("Retrieve cancelled: the study is flagged incomplete"))
        task.finished.connect(self._next)
        self.retrieve_task = task
        return task

    def _progressed(self, index: int, p: Any) -> None:
        self.progress.setRange(0, max(p.total, 0))
        self.progress.setValue(p.done)
        snap = self.arrivals.snapshot()
        if snap.received:
            self.status.setText(f"Retrieving study {index} of {self._total}: {snap.message()}")

    def _retrieved(self, uid: str, result: Any) -> None:
        cached, row = len(self.session.cache.instance_uids(uid)), self._row_of(uid)
        if row >= 0:
            self.table.item(row, len(COLUMNS) - 1).setData(Qt.ItemDataRole.DisplayRole, cached)
        note = "; INCOMPLETE: retrieve again for the rest" if result.incomplete else ""
        self.status.setText(f"Retrieved {len(result.received)} instance(s), {cached} cached{note}")
        self.retrieved.emit(uid)

    def cancel(self) -> None:
        self._pending.clear()
        if self.retrieve_task is not None:
            self.retrieve_task.cancel()


def retrieve_and_open(window: Any, study_uid: str, prior_uids: list[str], retrieve: Any = None) -> Any:
    """Retrieve a study only on a remote node (reader first) and open it as soon as its opening slice is in the
    cache; the viewer fills in as slices arrive (:class:`~app.viewer.arriving.ArrivalFollower`), the status bar
    shows "142 of 300 instances, 4.1 MB/s, 12 s left". ``retrieve`` defaults to the window's network session."""
    from PySide6.QtCore import QTimer

    from app.network.arrivals import Arrivals

    arrivals, cache, state = Arrivals(), window.cache, {"opened": False}
    poll = QTimer(window, interval=100)

    def first_in() -> bool:
        first = arrivals.first()
        return cache.get_study(study_uid) is not None and (first is None or arrivals.has(first)
                                                           or arrivals.snapshot().done)

    def open_now() -> None:
        if state["opened"] or not first_in():
            return
        state["opened"] = True
        poll.stop()
        window.worklist_panel.refresh()
        window.open_study(study_uid, prior_uids)
        follow(window, study_uid, arrivals)

    def ended(_result: Any) -> None:
        poll.stop()
        arrivals.finish()
        if cache.get_study(study_uid) is None:
            window.statusBar().showMessage("The PACS sent no instance of this study", 10000)
            return
        open_now()
        window.worklist_panel.refresh()

    def failed(exc: BaseException) -> None:
        ended(None)
        window.statusBar().showMessage(f"Error: {exc}", 15000)

    poll.timeout.connect(open_now)
    poll.start()
    return window.bridge.submit("Retrieving study", retrieve or window.network.retrieve, study_uid,
                                arrivals=arrivals, on_success=ended, on_failure=failed)


def follow(window: Any, study_uid: str, arrivals: Any) -> Any:
    """Keep the open viewer in step with ``arrivals``; progress in the status bar's retrieve label."""
    from app.viewer.arriving import ArrivalFollower

    viewer = window.viewer_area.viewer
    if viewer is None:
        return None
    old = getattr(window, "arrival_follower", None)
    if old is not None:
        old.stop()
    follower = window.arrival_follower = ArrivalFollower(viewer, window.cache, study_uid, arrivals,
                                                         bridge=window.bridge)
    status = getattr(window, "network_status", None)
    if status is not None:
        follower.progressed.connect(status.show_retrieve)
    last = [0.0]

    def worklist_row(_text: str) -> None:  # "142 of 300" on the study's row, from the index, once a second
        import time

        if time.monotonic() - last[0] >= 1.0:
            last[0] = time.monotonic()
            try:
                entry = window.worklist.track(window.cache, study_uid)
            except Exception:  # noqa: BLE001 - the window is closing (cache closed): stop following
                follower.stop()
                return
            if entry is not None:
                window.worklist_panel.model.update_entry(entry)

    follower.progressed.connect(worklist_row)
    follower.finished.connect(lambda: window.worklist_panel.refresh())
    return follower


def _file_menu(window: Any) -> Any:
    for action in window.menuBar().actions():
        if action.menu() is not None and action.text().replace("&", "") == "File":
            return action.menu()
    return window.menuBar().addMenu("&File")


def open_query_dialog(window: Any, session: NetworkSession) -> QueryDialog:
    """Show (creating once) the window's Query/Retrieve dialog; retrieved studies refresh the worklist."""
    dialog = getattr(window, "query_dialog", None)
    if dialog is None:
        dialog = window.query_dialog = QueryDialog(session, window.bridge, window)
        dialog.retrieved.connect(lambda _uid: window.refresh())
    dialog.show()
    dialog.raise_()
    dialog.activateWindow()
    return dialog


def attach_network(window: Any) -> NetworkSession:
    """Create the window's network session (SCP started when nodes exist), add the status widget,
    File > Query PACS... and File > DICOM nodes..., and give the worklist panel retrieval and remote polling."""
    session = window.ws.network()
    session.start()
    window.network_status = NetworkStatusWidget(session, window)
    window.statusBar().addPermanentWidget(window.network_status)
    action = QAction("&Query PACS...", window, objectName="queryPacsAction")
    action.setShortcut(QKeySequence(QUERY_SHORTCUT))
    action.triggered.connect(lambda: open_query_dialog(window, session))
    menu = _file_menu(window)
    before = next((a for a in menu.actions() if a.isSeparator()), None)
    nodes = QAction("DICOM &nodes...", window, objectName="dicomNodesAction")
    nodes.triggered.connect(lambda: open_nodes_dialog(window, session))
    menu.insertActions(before, [action, nodes])  # before the first separator (a None "before" appends)
    window.query_pacs_action, window.dicom_nodes_action = action, nodes
    wire_nodes(window, session)
    return session
