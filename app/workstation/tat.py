"""The turnaround dashboard use case (``telerad tat``, Worklist > Turnaround dashboard...): per facility and
priority the median and 90th-percentile TAT of the studies read in the window, breaches of the contract
target, what waits; the same studies by status and reader. With ``--group`` the group's (app.group.tat, in
PostgreSQL); without, this reader's worklist (its site as the facility, its targets as the contract)."""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Iterable, Optional, TextIO

from app.group.tat import ReaderRow, TatRow

if TYPE_CHECKING:
    from app.tasks import ProgressFn
    from app.worklist import WorklistEntry
    from app.workstation.workstation import Workstation

TAT_COLUMNS = tuple(f.name for f in fields(TatRow))
READER_COLUMNS = tuple(f.name for f in fields(ReaderRow))


@dataclass(frozen=True)
class TatDashboard:
    rows: tuple[TatRow, ...]  # per facility and priority
    readers: tuple[ReaderRow, ...]  # per reader ('' : the queue)
    since_hours: float
    near_minutes: float
    source: str  # group | local
    at: datetime

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "at": self.at.isoformat(), "since_hours": self.since_hours,
                "near_minutes": self.near_minutes, "rows": [asdict(r) for r in self.rows],
                "readers": [asdict(r) for r in self.readers]}


def dashboard(ws: "Workstation", *, since_hours: float = 24.0, near_minutes: float = 30.0,
              progress: "Optional[ProgressFn]" = None, cancel: Any = None) -> TatDashboard:
    """The dashboard now (blocking: run it off the main thread)."""
    from app.clock import utc_now
    from app.workstation.group import session

    group = session(ws)
    if group is not None:
        from app.group.tat import reader_rows, tat_rows

        rows = tat_rows(group.db, since_hours=since_hours, near_minutes=near_minutes)
        readers = reader_rows(group.db, since_hours=since_hours)
        return TatDashboard(tuple(rows), tuple(readers), since_hours, near_minutes, "group", utc_now())
    now = utc_now()
    rows, readers = local_rows(ws.worklist_entries(), ws.user, now, since_hours, near_minutes)
    return TatDashboard(rows, readers, since_hours, near_minutes, "local", now)


def local_rows(entries: Iterable["WorklistEntry"], user: str, now: datetime, since_hours: float,
               near_minutes: float) -> tuple[tuple[TatRow, ...], tuple[ReaderRow, ...]]:
    """The group's counts from one reader's entries: TAT from arrival to the first report, the deadline the
    entry's due time (its priority's target), the reader the claim's holder (else ``user``)."""
    from app.worklist import Status

    since, near = now - timedelta(hours=since_hours), now + timedelta(minutes=near_minutes)
    groups: dict[tuple[str, Any], tuple[timedelta, list[int], list[float]]] = {}
    by_reader: dict[str, list[int]] = {}
    for e in entries:
        if e.reference:
            continue
        active, held = e.status.active, e.status is Status.IN_PROGRESS and bool(e.claimed_by)
        read = e.reported_at if e.status in (Status.FINAL, Status.AMENDED) else None
        recent = read is not None and read >= since
        late = recent and read > e.due  # type: ignore[operator]
        if active or recent:
            target, c, tats = groups.setdefault((e.site, e.priority), (e.target, [0] * 7, []))
            for i, hit in enumerate((active and not held, held, active and now < e.due <= near,
                                     active and e.due <= now, recent, recent and not late, late)):
                c[i] += hit
            if recent:
                tats.append((read - e.arrival).total_seconds() / 60)  # type: ignore[operator]
        reader = (e.claimed_by or "") if held else "" if active else (e.claimed_by or user)
        r = by_reader.setdefault(reader, [0] * 6)
        for i, hit in enumerate((active and not held, held, e.status is Status.PRELIMINARY,
                                 recent and e.status is Status.FINAL, recent and e.status is Status.AMENDED, late)):
            r[i] += hit
    order = sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1].rank))
    rows = tuple(TatRow(site, p.value, target.total_seconds() / 60, *c, *_percentiles(tats))
                 for (site, p), (target, c, tats) in order)
    return rows, tuple(ReaderRow(name, *c) for name, c in sorted(by_reader.items()) if any(c))


def _percentiles(values: list[float]) -> tuple[Optional[float], Optional[float]]:
    """Median and 90th percentile, interpolated as PostgreSQL's percentile_cont (numpy's "linear")."""
    if not values:
        return None, None
    import numpy as np

    median, p90 = np.percentile(values, [50, 90])
    return round(float(median), 1), round(float(p90), 1)


def write_csv(board: TatDashboard, out: TextIO) -> None:
    """Both tables in one CSV: the facility table (header ``facility,...``), a blank line, the reader table
    (header ``reader,...``); the queue's row is reader ``(queue)``; no value: an empty cell."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(TAT_COLUMNS)
    writer.writerows([_cell(v) for v in asdict(r).values()] for r in board.rows)
    writer.writerow([])
    writer.writerow(READER_COLUMNS)
    writer.writerows([r.reader or "(queue)", *(asdict(r)[c] for c in READER_COLUMNS[1:])] for r in board.readers)


def _cell(value: Any) -> Any:
    return "" if value is None else value
