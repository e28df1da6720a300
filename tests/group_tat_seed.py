"""A group worklist with known arrival and read times and contract targets, for the turnaround dashboard tests
(core and GUI): ``seed(url)`` fills a fresh group database; ``FACILITY_ROWS`` / ``READER_ROWS`` are what the
dashboard must show for the last 24 hours with near breach at 30 minutes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

NOW = datetime.now(timezone.utc)
STAT_TATS = (10, 20, 30, 50, 100)  # minutes, read an hour ago: median 30, p90 50 + 0.6 * 50 = 80; 100 > 60: late

FACILITY_ROWS = [
    {"facility": "A", "priority": "STAT", "target_minutes": 60.0, "queued": 2, "reading": 0, "near_breach": 1,
     "breached": 1, "read": 5, "met": 4, "late": 1, "median_minutes": 30.0, "p90_minutes": 80.0},
    {"facility": "A", "priority": "routine", "target_minutes": None, "queued": 0, "reading": 0, "near_breach": 0,
     "breached": 0, "read": 2, "met": 1, "late": 1, "median_minutes": 90.0, "p90_minutes": 114.0},
    {"facility": "B", "priority": "urgent", "target_minutes": 240.0, "queued": 1, "reading": 1, "near_breach": 0,
     "breached": 0, "read": 0, "met": 0, "late": 0, "median_minutes": None, "p90_minutes": None},
]
READER_ROWS = [
    {"reader": "", "queued": 3, "reading": 0, "preliminary": 0, "final": 0, "amended": 0, "late": 0},
    {"reader": "ann", "queued": 0, "reading": 0, "preliminary": 0, "final": 4, "amended": 1, "late": 1},
    {"reader": "bob", "queued": 0, "reading": 1, "preliminary": 0, "final": 2, "amended": 0, "late": 1},
    {"reader": "carl", "queued": 0, "reading": 0, "preliminary": 1, "final": 0, "amended": 0, "late": 0},
]


def ago(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


def seed(url: str) -> None:
    """Facility A: STAT under a 60-minute contract (five reads in the window, one 30 h ago, one study past
    the contract though its published due is hours away, one near it), routine without a contract (two
    reads against their due times, one preliminary); facility B: urgent under 240 minutes, one held, one queued."""
    import psycopg

    from app.group import GroupDB, add_reader, complete, publish, record_report_state, set_facility
    from app.group.board import claim_study
    from app.group.queue import Published
    from app.group.reports import ReportState
    from app.group.tat import set_targets

    def study(uid: str, facility: str, priority: str, arrived: float, due: float) -> Published:
        return Published(uid, facility, priority, ago(-due), "CT", arrival=ago(arrived))

    reads = {f"stat{t}": (60 + t, 60) for t in STAT_TATS} | {"stat-old": (1800 + 500, 1800)}
    reads |= {"routine-late": (180, 120), "routine-met": (240, 120)}  # due 2.5 h ago / in 1 h
    with GroupDB(url) as db:
        for name in ("A", "B"):
            set_facility(db, name, "TX")
        for reader in ("ann", "bob", "carl"):
            add_reader(db, reader, facilities=["A", "B"], licenses=["TX"], cap=20)
        set_targets(db, "A", {"STAT": 60})
        set_targets(db, "B", {"urgent": 240})
        publish(db, [study(uid, "A", "STAT", arrived, 300) for uid, (arrived, _) in reads.items()
                     if uid.startswith("stat")], "ann")
        publish(db, [study("routine-late", "A", "routine", 180, -150), study("routine-met", "A", "routine", 240, 60),
                     study("routine-prelim", "A", "routine", 30, 600),
                     study("stat-breached", "A", "STAT", 70, 300), study("stat-near", "A", "STAT", 45, 300),
                     study("b-held", "B", "urgent", 10, 230), study("b-queued", "B", "urgent", 10, 230)], "ann")
        for uid in reads:
            reader = "bob" if uid.startswith("routine") else "ann"
            claim_study(db, reader, uid)
            complete(db, reader, uid)
        record_report_state(db, ReportState("r-stat10", "stat10", "addended", "ann"))
        record_report_state(db, ReportState("r-prelim", "routine-prelim", "preliminary", "carl"))
        claim_study(db, "bob", "b-held")
    with psycopg.connect(url) as conn:
        for uid, (_, read) in reads.items():
            conn.execute("UPDATE study_events SET at = %s WHERE study_uid = %s AND action IN ('read', 'report')",
                         (ago(read), uid))
