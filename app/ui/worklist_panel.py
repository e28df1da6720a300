"""The worklist panel: filters, search, the live worklist table, context menu; prior prefetch in the background.

Signals: ``open_requested(study_uid, prior_uids)`` on double-click / Enter; ``current_changed(study_uid)``;
``status_message(text)``; ``entries_loaded(count)`` after each refresh.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Optional

from PySide6.QtCore import QModelIndex, QPoint, QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLineEdit, QMessageBox, QTableView, QVBoxLayout,
    QWidget,
)

from app.ui.worklist_actions import (
    PRIORITY_ACTIONS, PrefetchRelay, build_actions, context_menu, delete_study, load_worklist, shortcut_map,
)
from app.ui.worklist_model import WIDTHS, WorklistTableModel
from app.worklist import (
    TO_READ, PrefetchQueue, PrefetchState, Status, WorklistEntry, WorklistFilter, facets, prefetch_worklist,
    utc_now,
)
from app.worklist.prefetch import Retrieve

if TYPE_CHECKING:
    from app.ui.bridge import TaskBridge
    from app.workstation import Workstation

DATE_RANGES = (("Any date", None), ("Today", 0), ("Last 2 days", 1), ("Last 7 days", 6), ("Last 30 days", 29))
STATE_GROUP = "worklist/panel"


class WorklistPanel(QWidget):
    """``WorklistPanel(workstation, bridge)``; see the module docstring for the signals. Every action calls a
    workstation use case or the workstation's worklist; the panel holds no rule of its own."""

    open_requested = Signal(str, list)
    current_changed = Signal(str)
    status_message = Signal(str)
    entries_loaded = Signal(int)

    def __init__(self, ws: "Workstation", bridge: "TaskBridge", *,
                 retrieve: Optional[Retrieve] = None, remote_source: Optional[Callable[[], Iterable[Any]]] = None,
                 settings: Optional[QSettings] = None, shortcuts: Optional[Mapping[str, str]] = None,
                 clock: Optional[Callable[[], Any]] = None, refresh_ms: int = 60_000, tick_ms: int = 1000,
                 parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.ws, self.worklist, self.bridge, self.user = ws, ws.worklist, bridge, ws.user
        clock = clock or ws.clock or utc_now
        self.remote_source, self.settings, self.clock = remote_source, settings, clock
        self.confirm: Callable[[str], bool] = self._ask  # tests replace it
        self._relay = PrefetchRelay(self)
        self.prefetch = PrefetchQueue(retrieve, on_update=self._relay.prefetch.emit) if retrieve else None
        self.model = WorklistTableModel(clock, self.worklist.config.near_breach_fraction, tick_ms, self)
        self._relay.prefetch.connect(self._on_prefetch)
        self._build()
        self.actions_by_name = build_actions(self, self._slots(), shortcut_map(settings, shortcuts))
        self.table.addAction(self.actions_by_name["open"])  # Enter opens only from the table, not the search box
        self.actions_by_name["open"].setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.loading = None
        self.refresh_timer = QTimer(self, interval=refresh_ms)
        self.refresh_timer.timeout.connect(self.refresh)
        if refresh_ms > 0:
            self.refresh_timer.start()
        if settings is not None:
            self.restore_state(settings)

    # -- construction -----------------------------------------------------------------------
    def _build(self) -> None:
        self.modality, self.site, self.status_box, self.subspecialty, self.date_box = (
            QComboBox(objectName=n) for n in ("modalityFilter", "siteFilter", "statusFilter",
                                               "subspecialtyFilter", "dateFilter"))
        for box, label in ((self.modality, "All modalities"), (self.site, "All sites"),
                           (self.subspecialty, "All subspecialties")):
            box.addItem(label, "")
        self.status_box.addItem("All statuses", "")
        self.status_box.addItem("To read", TO_READ)
        for status in Status:
            self.status_box.addItem(status.label.capitalize(), status.value)
        for label, days in DATE_RANGES:
            self.date_box.addItem(label, days)
        self.search = QLineEdit(placeholderText="Search patient, ID, accession, description...", objectName="worklistSearch")
        self.search.setClearButtonEnabled(True)
        for box in (self.modality, self.site, self.status_box, self.subspecialty, self.date_box):
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            box.setMinimumContentsLength(5)  # the panel narrows to a third of the window while reading
            box.currentIndexChanged.connect(self.apply_filter)
        self.search.textChanged.connect(self.apply_filter)
        self.table = QTableView(objectName="worklistTable")
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # reading order
        self.table.horizontalHeader().setSortIndicatorClearable(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._menu)
        self.table.doubleClicked.connect(self._double_clicked)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)
        self.table.setWordWrap(False)
        metrics = self.fontMetrics()  # sizes follow the font, so they scale with the screen (HiDPI)
        self.table.verticalHeader().setDefaultSectionSize(int(metrics.height() * 1.5))
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for column, chars in enumerate(WIDTHS):
            title = self.model.headerData(column, Qt.Orientation.Horizontal)
            header.resizeSection(column, max(metrics.averageCharWidth() * chars,
                                             metrics.horizontalAdvance(title)) + 2 * metrics.height())
        filters = QHBoxLayout()
        for w in (self.status_box, self.modality, self.subspecialty, self.site, self.date_box):
            filters.addWidget(w)
        filters.addStretch(1)
        box = QVBoxLayout(self)
        box.setContentsMargins(4, 4, 4, 4)
        box.addWidget(self.search)
        box.addLayout(filters)
        box.addWidget(self.table)

    def _slots(self) -> dict[str, Callable[[], Any]]:
        slots: dict[str, Callable[[], Any]] = {
            "open": self.open_current, "start": self.start_reading_current, "retrieve": self.retrieve_current,
            "mark_read": self.mark_read_current, "release": self.release_current, "delete": self.delete_current,
            "refresh": self.refresh, "search": self.search.setFocus,
        }
        for name, priority in PRIORITY_ACTIONS.items():
            slots[name] = partial(self.set_priority_current, priority)
        return slots

    # -- loading ----------------------------------------------------------------------------
    def refresh(self) -> Any:
        """Reload the worklist off the main thread (skipped while a load is running)."""
        if self.loading is not None and not self.loading.done:
            return self.loading
        self.loading = self.bridge.submit("Loading worklist", load_worklist, self.ws, self.remote_source,
                                          on_success=self.set_entries, on_failure=self._failed)
        return self.loading

    def set_entries(self, entries: list[WorklistEntry]) -> None:
        current = self.current_uid()
        self.model.set_entries(entries)
        self._update_filter_choices(entries)
        if current:
            self.select(current)
        if self.prefetch is not None:
            prefetch_worklist(self.worklist, self.prefetch)
        self.entries_loaded.emit(len(entries))

    def _update_filter_choices(self, entries: list[WorklistEntry]) -> None:
        values = facets(entries)
        for box, key in ((self.modality, "modality"), (self.site, "site"), (self.subspecialty, "subspecialty")):
            chosen = box.currentData()
            box.blockSignals(True)
            while box.count() > 1:
                box.removeItem(1)
            for value in values[key]:
                box.addItem(value, value)
            box.setCurrentIndex(max(0, box.findData(chosen)))
            box.blockSignals(False)

    def apply_filter(self) -> None:
        days = self.date_box.currentData()
        date_from = "" if days is None else (self.clock() - timedelta(days=days)).astimezone().strftime("%Y%m%d")
        self.model.set_filter(WorklistFilter(
            modality=self.modality.currentData() or "", site=self.site.currentData() or "",
            status=self.status_box.currentData() or "", subspecialty=self.subspecialty.currentData() or "",
            date_from=date_from, text=self.search.text().strip()))

    # -- selection --------------------------------------------------------------------------
    def current_entry(self) -> WorklistEntry | None:
        index = self.table.currentIndex()
        return self.model.entry_at(index.row()) if index.isValid() else None

    def current_uid(self) -> str:
        entry = self.current_entry()
        return entry.study_instance_uid if entry else ""

    def select(self, study_uid: str) -> bool:
        row = self.model.row_of(study_uid)
        if row is None:
            return False
        self.table.selectRow(row)
        self.table.setCurrentIndex(self.model.index(row, 0))
        return True

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.current_changed.emit(self.model.entry_at(current.row()).study_instance_uid if current.isValid() else "")

    def _double_clicked(self, index: QModelIndex) -> None:
        self._open(self.model.entry_at(index.row()))

    def open_current(self) -> None:
        entry = self.current_entry()
        if entry is not None:
            self._open(entry)

    def show_study(self, study_uid: str) -> None:
        """Show the current state of one study (its status or report changed elsewhere)."""
        entry = self.worklist.entry(study_uid)
        if entry is not None:
            self.model.update_entry(entry)

    def _open(self, entry: WorklistEntry) -> None:
        self.open_requested.emit(entry.study_instance_uid, list(entry.priors))

    def _menu(self, pos: QPoint) -> None:
        entry = self.current_entry()
        if entry is None:
            return
        menu = context_menu(self, self.actions_by_name, local=entry.local, can_retrieve=self.prefetch is not None)
        menu.popup(self.table.viewport().mapToGlobal(pos))

    # -- actions ----------------------------------------------------------------------------
    def _change(self, what: str, fn: Callable[[WorklistEntry], WorklistEntry]) -> WorklistEntry | None:
        entry = self.current_entry()
        if entry is None:
            return None
        try:
            updated = fn(entry)
        except (ValueError, RuntimeError, KeyError) as exc:  # IllegalTransition, ClaimedError
            self.status_message.emit(f"Cannot {what}: {exc}")
            return None
        self.model.update_entry(updated)
        return updated

    def start_reading_current(self) -> WorklistEntry | None:
        return self._change("start reading", lambda e: self.worklist.start_reading(e.study_instance_uid, self.user))

    def mark_read_current(self) -> WorklistEntry | None:
        return self._change("mark read", lambda e: self.worklist.mark_read(e.study_instance_uid, self.user))

    def release_current(self) -> WorklistEntry | None:
        return self._change("release", lambda e: self.worklist.release(e.study_instance_uid, self.user))

    def set_priority_current(self, priority: Any) -> WorklistEntry | None:
        return self._change("change priority",
                            lambda e: self.worklist.set_priority(e.study_instance_uid, priority, self.user))

    def retrieve_current(self) -> int:
        """Queue the study (if remote) and its remote priors ahead of everything else."""
        entry = self.current_entry()
        if entry is None or self.prefetch is None:
            self.status_message.emit("No retrieval node configured")
            return 0
        wanted = [u for u in (entry.study_instance_uid, *entry.priors)
                  if (e := self.worklist.entry(u)) is not None and not e.local]
        queued = sum(self.prefetch.submit(uid, (-1, i), entry.study_instance_uid) for i, uid in enumerate(wanted))
        self.status_message.emit(f"Retrieving {queued} studies" if queued else "Study and priors already local")
        return queued

    def delete_current(self) -> Any:
        entry = self.current_entry()
        if entry is None or not entry.local:
            return None
        if not self.confirm(f"Delete this study ({entry.description or entry.study_instance_uid}) from the "
                            "local cache?"):
            return None
        uid = entry.study_instance_uid
        return self.bridge.submit("Deleting study", delete_study, self.ws, uid,
                                  on_success=partial(self._deleted, uid), on_failure=self._failed)

    def _deleted(self, study_uid: str, deleted: bool) -> None:
        self.model.remove_entry(study_uid)
        self.status_message.emit("Study deleted from the cache" if deleted else "Study was not in the cache")

    def _ask(self, question: str) -> bool:
        answer = QMessageBox.question(self, "Telerad", question)
        return answer == QMessageBox.StandardButton.Yes

    def _on_prefetch(self, state: PrefetchState) -> None:
        self.model.set_prefetch(state)
        if state.state == "done":  # the study is local now
            self.refresh()

    def _failed(self, exc: BaseException) -> None:
        self.status_message.emit(f"Worklist error: {exc}")

    # -- state ------------------------------------------------------------------------------
    def save_state(self, settings: QSettings) -> None:
        """Column widths/order, status and date filters."""
        settings.setValue(f"{STATE_GROUP}/header", self.table.horizontalHeader().saveState())
        settings.setValue(f"{STATE_GROUP}/status", self.status_box.currentIndex())
        settings.setValue(f"{STATE_GROUP}/date", self.date_box.currentIndex())

    def restore_state(self, settings: QSettings) -> None:
        header = settings.value(f"{STATE_GROUP}/header")
        if header is not None:
            self.table.horizontalHeader().restoreState(header)
        for key, box in (("status", self.status_box), ("date", self.date_box)):
            index = int(settings.value(f"{STATE_GROUP}/{key}", 0) or 0)
            box.setCurrentIndex(index if 0 <= index < box.count() else 0)

    def set_retrieve(self, retrieve: Optional[Retrieve]) -> None:
        """Wire (or unwire) retrieval after construction: "Retrieve now" and prior prefetch use it."""
        if self.prefetch is not None:
            self.prefetch.shutdown(wait=False)
        self.prefetch = PrefetchQueue(retrieve, on_update=self._relay.prefetch.emit) if retrieve else None

    def shutdown(self) -> None:
        """Stop timers and prefetch workers, remember the layout (call when the window closes)."""
        self.model.timer.stop()
        self.refresh_timer.stop()
        if self.settings is not None:
            self.save_state(self.settings)
        if self.prefetch is not None:
            self.prefetch.shutdown(wait=False)
