"""Table model over the reading worklist: filtering and sorting done in the (Qt-free) worklist query code,
STAT rows and turnaround breaches highlighted, the clock column updated live by a QTimer."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Optional, Sequence

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QFont

from app.worklist import (
    PrefetchState, Priority, TatState, WorklistEntry, WorklistFilter, filter_entries, format_clock, narrows,
    sort_entries,
    utc_now,
)

Index = QModelIndex | QPersistentModelIndex
EntryRole = Qt.ItemDataRole.UserRole + 1  # the WorklistEntry of a row

# (header, sort key in app.worklist.query.SORT_KEYS)
COLUMNS: tuple[tuple[str, str], ...] = (
    ("Priority", "priority"), ("Clock", "clock"), ("Status", "status"), ("Modality", "modality"),
    ("Description", "description"), ("Reason", "reason"), ("Subspecialty", "subspecialty"), ("Patient", "patient"),
    ("Patient ID", "patient_id"), ("Study date", "study_date"), ("Site", "site"), ("Claimed by", "claimed_by"),
    ("Priors", "priors"), ("Prefetch", "priors"),
)
# initial column widths in average characters (scaled by the font, hence by the screen's DPI)
WIDTHS = (7, 9, 16, 5, 26, 22, 11, 18, 11, 10, 14, 9, 4, 10)
COL = {key: i for i, (_, key) in enumerate(COLUMNS)}
CLOCK_COLUMN = 1
PREFETCH_COLUMN = len(COLUMNS) - 1

STAT_CELL, STAT_ROW = QColor("#c62828"), QColor("#fde8ea")
BREACH_CELL, BREACH_ROW = QColor("#8e0000"), QColor("#f6b9b9")
NEAR_CELL, NEAR_ROW = QColor("#f9a825"), QColor("#fff0c2")
DONE_TEXT = QColor("#7a7a7a")
WHITE = QColor("#ffffff")
CRITICAL_TEXT = QColor("#b71c1c")
ROW_TEXT = QColor("#000000")  # text on a highlighted row
# the theme (app.ui.theme calls set_theme; dark is the application's default): colours change in place
_THEMES = {"light": {"STAT_ROW": "#fde8ea", "BREACH_ROW": "#f6b9b9", "NEAR_ROW": "#fff0c2", "DONE_TEXT": "#7a7a7a",
                     "CRITICAL_TEXT": "#b71c1c", "ROW_TEXT": "#000000"},
           "dark": {"STAT_ROW": "#3f1a1e", "BREACH_ROW": "#4d1515", "NEAR_ROW": "#3d3212", "DONE_TEXT": "#7d7d7d",
                    "CRITICAL_TEXT": "#ff6b6b", "ROW_TEXT": "#f0f0f0"}}


def set_theme(name: str) -> None:
    """Recolour the row/text constants for the "dark" or "light" theme."""
    for key, value in _THEMES.get(name, _THEMES["dark"]).items():
        globals()[key].setRgba(QColor(value).rgba())


def status_text(e: WorklistEntry) -> str:
    """The status cell: a critical finding first (it must survive a narrow column), told or not yet, then the
    reading status and where the study is."""
    text = e.status.label + ("" if e.local else " (remote)")
    if e.ai.findings:  # AI results (app.worklist.ai): "AI: suspected ICH"
        text = f"{e.ai.text} · {text}"
    if "critical-not-communicated" in e.report.flags:
        return f"CRITICAL (not told) · {text}"
    return f"CRITICAL · {text}" if e.report.critical else text


def order_tooltip(e: WorklistEntry) -> str:
    """The Reason cell's tooltip: the order's full reason for exam, clinical history, who ordered and the
    callback number (what the RIS sent is escaped, never read as markup)."""
    from html import escape

    o = e.order
    lines = [f"Reason for exam: {o.reason or '-'}", f"Clinical history: {o.history or '-'}",
             f"Ordered by: {o.ordering_physician or '-'}" + (f" (callback {o.callback})" if o.callback else ""),
             f"Order priority: {o.priority}" + (f" · {o.procedure}" if o.procedure else "")]
    return "<qt>" + "<br>".join(escape(line).replace("\n", "<br>") for line in lines) + "</qt>"


def _date(value: str) -> str:
    return f"{value[:4]}-{value[4:6]}-{value[6:8]}" if len(value) == 8 and value.isdigit() else value


class WorklistTableModel(QAbstractTableModel):
    """Rows = the filtered, sorted entries. ``tick()`` (every ``tick_ms``) moves the live clock."""

    def __init__(self, clock: Callable[[], datetime] = utc_now, near_fraction: float = 0.25,
                 tick_ms: int = 1000, parent: Optional[Any] = None) -> None:
        super().__init__(parent)
        self.clock, self.near_fraction = clock, near_fraction
        self.now = clock()
        self._all: list[WorklistEntry] = []
        self._ordered: list[WorklistEntry] | None = None  # every entry in the current sort order (cached)
        self._rows: list[WorklistEntry] = []  # the rows shown: references to entries, no copy per row
        self._row_of_cache: dict[str, int] | None = None  # study UID -> row, built when first asked for
        self._prefetch: dict[str, PrefetchState] = {}
        self._filter = WorklistFilter()
        self._sort_key, self._descending = "reading", False
        self._bold = QFont()
        self._bold.setBold(True)
        self.timer = QTimer(self)
        self.timer.setInterval(tick_ms)
        self.timer.timeout.connect(self.tick)
        if tick_ms > 0:
            self.timer.start()

    # -- content ----------------------------------------------------------------------------
    def set_entries(self, entries: Sequence[WorklistEntry]) -> None:
        """Replace every entry (after a refresh); filter and sort are kept."""
        self._all, self._ordered = list(entries), None
        self._reset()

    def update_entry(self, entry: WorklistEntry) -> None:
        """One entry changed (status, claim, priority): rows move to their new place, selection is kept."""
        uid = entry.study_instance_uid
        self._all = [entry if e.study_instance_uid == uid else e for e in self._all]
        self._ordered = None
        if uid not in self._row_of and not self._filter.matches(entry):
            return
        self._relayout()

    def remove_entry(self, study_uid: str) -> None:
        self._all = [e for e in self._all if e.study_instance_uid != study_uid]
        self._ordered = None
        self._reset()

    def set_filter(self, f: WorklistFilter) -> None:
        if f != self._filter:
            narrower = narrows(self._filter, f)
            self._filter = f
            if narrower:  # typing on in the search box: filter the rows shown (already sorted), not all
                self.beginResetModel()
                self._set_rows(filter_entries(self._rows, f))
                self.endResetModel()
            else:
                self._reset()

    @property
    def filter(self) -> WorklistFilter:
        return self._filter

    def set_prefetch(self, state: PrefetchState) -> None:
        """Show one prior's retrieval state on the rows of the studies it is fetched for (and its own)."""
        self._prefetch[state.study_uid] = state
        for uid in {state.study_uid, state.for_study}:
            row = self._row_of.get(uid)
            if row is not None:
                cell = self.index(row, PREFETCH_COLUMN)
                self.dataChanged.emit(cell, cell, [Qt.ItemDataRole.DisplayRole])

    def entries(self) -> list[WorklistEntry]:
        """All entries (unfiltered)."""
        return list(self._all)

    def entry_at(self, row: int) -> WorklistEntry:
        return self._rows[row]

    def row_of(self, study_uid: str) -> int | None:
        return self._row_of.get(study_uid)

    def _compute(self) -> list[WorklistEntry]:
        """The filtered rows in sort order: every entry is sorted once (per sort key or content change) and
        a filter only picks from that order (filtering keeps it, so this equals sorting the filtered rows)."""
        if self._ordered is None:
            self._ordered = sort_entries(self._all, self._sort_key, self._descending)
        return filter_entries(self._ordered, self._filter)

    def _set_rows(self, rows: list[WorklistEntry]) -> None:
        self._rows = rows
        self._row_of_cache = None

    @property
    def _row_of(self) -> dict[str, int]:
        if self._row_of_cache is None:
            self._row_of_cache = {e.study_instance_uid: i for i, e in enumerate(self._rows)}
        return self._row_of_cache

    def _reset(self) -> None:
        self.beginResetModel()
        self._set_rows(self._compute())
        self.endResetModel()

    def _relayout(self) -> None:
        """Re-filter and re-sort; a pure reordering keeps selections (persistent indexes follow rows)."""
        rows = self._compute()
        if len(rows) != len(self._rows):  # a row came in or went out: reset
            self.beginResetModel()
            self._set_rows(rows)
            self.endResetModel()
            return
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        uids = [self._rows[i.row()].study_instance_uid for i in persistent]
        self._set_rows(rows)
        new = [self.index(self._row_of[u], i.column()) if u in self._row_of else QModelIndex()
               for u, i in zip(uids, persistent)]
        self.changePersistentIndexList(persistent, new)
        self.layoutChanged.emit()

    # -- clock ------------------------------------------------------------------------------
    def tick(self) -> None:
        """Move the clock: repaint the clock column and the highlight of every row."""
        self.now = self.clock()
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, len(COLUMNS) - 1),
                                  [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.BackgroundRole,
                                   Qt.ItemDataRole.ForegroundRole])

    def tat_state(self, entry: WorklistEntry) -> TatState:
        return entry.tat_state(self.now, self.near_fraction)

    # -- Qt API -----------------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802 (Qt API)
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section][0]
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort by a column (-1: reading order)."""
        self._sort_key = "reading" if column < 0 else COLUMNS[column][1]
        self._descending = order == Qt.SortOrder.DescendingOrder
        self._ordered = None
        self._relayout()

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        e = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(e, col)
        if role == EntryRole:
            return e
        if role == Qt.ItemDataRole.BackgroundRole:
            return self._background(e, col)
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._foreground(e, col)
        if role == Qt.ItemDataRole.FontRole and (e.priority is Priority.STAT and e.to_read or
                                                 col == COL["status"] and e.report.critical):
            return self._bold
        if role == Qt.ItemDataRole.ToolTipRole and col == COL["status"] and e.report.critical:
            told = "" if "critical-not-communicated" not in e.report.flags else " (nobody told yet)"
            return f"Critical finding{told}: {e.report.critical_text or 'see report'}"
        if role == Qt.ItemDataRole.ToolTipRole and col == COL["status"] and e.ai.findings:
            return "\n".join(f.text for f in e.ai.findings)
        if role == Qt.ItemDataRole.ToolTipRole and col == COL["reason"] and e.order.present:
            return order_tooltip(e)
        if role == Qt.ItemDataRole.ToolTipRole and col == CLOCK_COLUMN:
            return f"arrived {e.arrival.astimezone():%Y-%m-%d %H:%M}, due {e.due.astimezone():%Y-%m-%d %H:%M}"
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (CLOCK_COLUMN, COL["priors"]):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _text(self, e: WorklistEntry, col: int) -> str:
        key = COLUMNS[col][1]
        if col == PREFETCH_COLUMN:
            return self._prefetch_text(e)
        if key == "clock":
            if e.reference:
                return "prior"
            if not e.to_read:
                return "met" if self.tat_state(e) is TatState.MET else "late"
            return format_clock(e.remaining(self.now))
        return {
            "priority": e.priority.value, "status": status_text(e),
            "patient": e.patient_name.replace("^", " ").strip(), "patient_id": e.patient_id,
            "study_date": _date(e.study_date), "modality": "/".join(e.modalities), "description": e.description,
            "reason": " ".join(e.order.reason.split()),
            "subspecialty": e.subspecialty, "site": e.site, "claimed_by": e.claimed_by or "",
            "priors": str(len(e.priors)) if e.priors else "",
        }[key]

    def _prefetch_text(self, e: WorklistEntry) -> str:
        states = [s for uid in (e.study_instance_uid, *e.priors) if (s := self._prefetch.get(uid)) is not None]
        if not states or (e.incomplete and not any(s.state == "running" for s in states)):
            return e.incomplete  # "142 of 300" from the index: a retrieve ended short or is running
        running = [s for s in states if s.state == "running"]
        if running:
            s = running[0]
            return f"{s.done}/{s.total}" if s.total else "retrieving"
        if any(s.state == "queued" for s in states):
            return "queued"
        if any(s.state == "failed" for s in states):
            return "failed"
        return "done" if all(s.state == "done" for s in states) else states[-1].state

    def _background(self, e: WorklistEntry, col: int) -> Any:
        state = self.tat_state(e)
        if col == CLOCK_COLUMN and state is TatState.BREACHED:
            return QBrush(BREACH_CELL)
        if col == CLOCK_COLUMN and state is TatState.NEAR:
            return QBrush(NEAR_CELL)
        if col == 0 and e.priority is Priority.STAT and e.to_read:
            return QBrush(STAT_CELL)
        if state is TatState.BREACHED:
            return QBrush(BREACH_ROW)
        if state is TatState.NEAR:
            return QBrush(NEAR_ROW)
        if e.priority is Priority.STAT and e.to_read:
            return QBrush(STAT_ROW)
        return None

    def _foreground(self, e: WorklistEntry, col: int) -> Any:
        state = self.tat_state(e)
        if col == COL["status"] and e.report.critical:
            return QBrush(CRITICAL_TEXT)
        if (col == CLOCK_COLUMN and state is TatState.BREACHED) or (
                col == 0 and e.priority is Priority.STAT and e.to_read):
            return QBrush(WHITE)
        if not e.to_read:
            return QBrush(DONE_TEXT)
        if col == CLOCK_COLUMN and state is TatState.NEAR:
            return QBrush(QColor("#000000"))  # on the amber cell
        return QBrush(ROW_TEXT) if state in (TatState.BREACHED, TatState.NEAR) or \
            e.priority is Priority.STAT else None
