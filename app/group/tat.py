"""The group's turnaround dashboard: per facility and priority, what waits (queued, being read, near breach,
breached) and what was read in the last hours (met / late against the study's due time)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.group.connection import GroupDB


@dataclass(frozen=True)
class TatRow:
    facility: str
    priority: str
    queued: int
    reading: int  # claimed, lease alive
    near_breach: int  # still to read, due within ``near`` minutes
    breached: int  # still to read, past due
    met: int  # read within the window, by the due time
    late: int  # read within the window, after it


_TAT = """
SELECT s.facility, s.priority,
  count(*) FILTER (WHERE s.status IN ('unread', 'in_progress')
                   AND NOT (s.status = 'in_progress' AND s.lease_until > now())),
  count(*) FILTER (WHERE s.status = 'in_progress' AND s.lease_until > now()),
  count(*) FILTER (WHERE s.status IN ('unread', 'in_progress') AND s.due > now()
                   AND s.due <= now() + make_interval(secs => %(near)s * 60)),
  count(*) FILTER (WHERE s.status IN ('unread', 'in_progress') AND s.due <= now()),
  count(*) FILTER (WHERE r.read_at >= now() - make_interval(secs => %(since)s * 3600) AND r.read_at <= s.due),
  count(*) FILTER (WHERE r.read_at >= now() - make_interval(secs => %(since)s * 3600) AND r.read_at > s.due)
FROM studies s
LEFT JOIN LATERAL (SELECT min(e.at) AS read_at FROM study_events e
                   WHERE e.study_uid = s.study_uid AND e.action IN ('read', 'report')) r
  ON s.status IN ('final', 'amended')
GROUP BY s.facility, s.priority
ORDER BY s.facility, min(s.priority_rank)
"""


def tat_rows(db: "GroupDB", *, since_hours: float = 24.0, near_minutes: float = 30.0) -> list[TatRow]:
    rows = db.run(lambda conn: conn.execute(_TAT, {"since": since_hours, "near": near_minutes}).fetchall(),
                  transaction=False)
    return [TatRow(f, p, *(int(v) for v in counts)) for f, p, *counts in rows]
