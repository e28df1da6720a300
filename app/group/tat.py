"""The group's turnaround dashboard (SQL; percentiles by ``percentile_cont``): per facility and priority, what
waits and what was read in the last hours (TAT median and 90th percentile, met / late against the facility's
contract target), and the same studies counted by status and reader. No PHI: facilities, readers, counts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Optional

from app.group.connection import GroupError

if TYPE_CHECKING:
    from app.group.connection import GroupDB

PRIORITIES = ("STAT", "urgent", "routine")


@dataclass(frozen=True)
class TatRow:
    """TAT: from the study's arrival to its first read or report, in minutes, over the studies read in the
    window. The deadline: arrival + the contract target (``target_minutes``), or without a contract for
    this facility and priority (None) the study's published due time."""

    facility: str
    priority: str
    target_minutes: Optional[float]
    queued: int
    reading: int  # claimed, lease alive
    near_breach: int  # still to read, deadline within ``near`` minutes
    breached: int  # still to read, past the deadline
    read: int  # read within the window
    met: int  # of those, by the deadline
    late: int  # of those, after it (a breach of the target)
    median_minutes: Optional[float]  # None: nothing read in the window
    p90_minutes: Optional[float]


@dataclass(frozen=True)
class ReaderRow:
    """Studies by status and reader: who holds them, who read them ('' : nobody, the queue); final and
    amended studies read within the window, the rest as they stand now."""

    reader: str
    queued: int
    reading: int
    preliminary: int
    final: int
    amended: int
    late: int  # read within the window after the deadline


_BASE = """
WITH s AS (
  SELECT s.facility, s.priority, s.priority_rank, s.status, s.claimed_by, s.read_by, t.minutes AS target,
    s.status IN ('unread', 'in_progress') AS open,
    coalesce(s.status = 'in_progress' AND s.lease_until > now(), false) AS held,
    coalesce(s.arrival, s.published_at) AS arrived,
    CASE WHEN t.minutes IS NULL THEN s.due
         ELSE coalesce(s.arrival, s.published_at) + make_interval(secs => t.minutes * 60) END AS deadline,
    r.read_at, p.reader AS prelim_by
  FROM studies s
  LEFT JOIN facility_targets t ON t.facility = s.facility AND t.priority = s.priority
  LEFT JOIN LATERAL (SELECT min(e.at) AS read_at FROM study_events e
                     WHERE e.study_uid = s.study_uid AND e.action IN ('read', 'report')) r
    ON s.status IN ('final', 'amended')
  LEFT JOIN LATERAL (SELECT x.reader FROM report_states x WHERE x.study_uid = s.study_uid
                     AND x.state = 'preliminary' ORDER BY x.recorded_at DESC LIMIT 1) p
    ON s.status = 'preliminary'
  -- a study read in the window was updated in it (its read updated the row): older ones are not joined
  WHERE s.status IN ('unread', 'in_progress', 'preliminary')
     OR s.updated_at >= now() - make_interval(secs => %(since)s * 3600)
), w AS (
  SELECT *, coalesce(read_at >= now() - make_interval(secs => %(since)s * 3600), false) AS recent,
         extract(epoch FROM read_at - arrived) / 60 AS tat
  FROM s
)
"""

_BY_FACILITY = _BASE + """
SELECT facility, priority, min(target),
  count(*) FILTER (WHERE open AND NOT held),
  count(*) FILTER (WHERE held),
  count(*) FILTER (WHERE open AND deadline > now() AND deadline <= now() + make_interval(secs => %(near)s * 60)),
  count(*) FILTER (WHERE open AND deadline <= now()),
  count(*) FILTER (WHERE recent),
  count(*) FILTER (WHERE recent AND read_at <= deadline),
  count(*) FILTER (WHERE recent AND read_at > deadline),
  percentile_cont(0.5) WITHIN GROUP (ORDER BY tat) FILTER (WHERE recent),
  percentile_cont(0.9) WITHIN GROUP (ORDER BY tat) FILTER (WHERE recent)
FROM w WHERE open OR recent
GROUP BY facility, priority
ORDER BY facility, min(priority_rank)
"""

_BY_READER = _BASE + """
SELECT CASE WHEN held THEN claimed_by WHEN status = 'preliminary' THEN prelim_by
            WHEN status IN ('final', 'amended') THEN read_by END,
  count(*) FILTER (WHERE open AND NOT held),
  count(*) FILTER (WHERE held),
  count(*) FILTER (WHERE status = 'preliminary'),
  count(*) FILTER (WHERE status = 'final' AND recent),
  count(*) FILTER (WHERE status = 'amended' AND recent),
  count(*) FILTER (WHERE recent AND read_at > deadline)
FROM w WHERE open OR recent OR status = 'preliminary'
GROUP BY 1
ORDER BY 1 NULLS FIRST
"""


def tat_rows(db: "GroupDB", *, since_hours: float = 24.0, near_minutes: float = 30.0) -> list[TatRow]:
    """Per facility and priority (see TatRow), most urgent priority first."""
    rows = _fetch(db, _BY_FACILITY, since_hours, near_minutes)
    return [TatRow(f, p, target, *(int(v) for v in counts[:7]), *(_minutes(v) for v in counts[7:]))
            for f, p, target, *counts in rows]


def reader_rows(db: "GroupDB", *, since_hours: float = 24.0) -> list[ReaderRow]:
    """Per reader (the queue first, as reader '')."""
    return [ReaderRow(reader or "", *(int(v) for v in counts))
            for reader, *counts in _fetch(db, _BY_READER, since_hours, 0.0)]


def _fetch(db: "GroupDB", sql: str, since_hours: float, near_minutes: float) -> list[Any]:
    params = {"since": since_hours, "near": near_minutes}
    return db.run(lambda conn: conn.execute(sql, params).fetchall(), transaction=False)  # type: ignore[arg-type]


def _minutes(value: Any) -> Optional[float]:
    return None if value is None else round(float(value), 1)


def set_targets(db: "GroupDB", facility: str, minutes: Mapping[str, float]) -> dict[str, float]:
    """Record the facility's contract turnaround targets (priority -> minutes); all its targets after."""
    facility = facility.strip()
    if not facility:
        raise GroupError("a facility needs a name")
    for priority, value in minutes.items():
        if priority not in PRIORITIES or not value > 0:
            raise GroupError(f"a target is PRIORITY=MINUTES ({', '.join(PRIORITIES)}; minutes > 0): "
                             f"{priority}={value}")

    def work(conn: Any) -> list[Any]:
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO facility_targets (facility, priority, minutes) VALUES (%s, %s, %s) "
                            "ON CONFLICT (facility, priority) DO UPDATE SET minutes = EXCLUDED.minutes",
                            [(facility, p, float(m)) for p, m in minutes.items()])
        return conn.execute("SELECT priority, minutes FROM facility_targets WHERE facility = %s",
                            (facility,)).fetchall()  # type: ignore[no-any-return]

    return {p: m for p, m in sorted(db.run(work), key=lambda r: PRIORITIES.index(r[0]))}
