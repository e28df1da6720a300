"""The turnaround dashboard (app.workstation.tat) on a real PostgreSQL and on a lone reader's worklist: median
and 90th-percentile TAT, breaches of each facility's contract target, counts by status and reader, CSV."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from app.config import resolve_paths
from app.group import GroupDB, GroupError
from app.group.tat import reader_rows, set_targets, tat_rows
from app.worklist import Priority, Status
from tests.group_pg import group_url, pg_server  # noqa: F401  (fixtures)
from tests.group_tat_seed import FACILITY_ROWS, NOW, READER_ROWS, seed

REPO = Path(__file__).resolve().parents[2]


def telerad(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TELERAD_HOME", "TELERAD_GROUP")}
    return subprocess.run([sys.executable, "-m", "app", "--data-dir", str(home), *args], capture_output=True,
                          text=True, env=env, timeout=120, cwd=REPO)


def test_percentiles_breaches_and_readers_in_postgresql(group_url: str) -> None:  # noqa: F811
    seed(group_url)
    with GroupDB(group_url) as db:
        assert [asdict(r) for r in tat_rows(db, since_hours=24, near_minutes=30)] == FACILITY_ROWS
        assert [asdict(r) for r in reader_rows(db, since_hours=24)] == READER_ROWS
        wide = {(r.facility, r.priority): r for r in tat_rows(db, since_hours=48, near_minutes=30)}
        assert wide["A", "STAT"].read == 6 and wide["A", "STAT"].late == 2  # the read of 30 h ago: 500 minutes
        assert wide["A", "STAT"].median_minutes == 40.0  # 10 20 30 50 100 500
        assert set_targets(db, "A", {"routine": 50}) == {"STAT": 60.0, "routine": 50.0}
        routine = {(r.facility, r.priority): r for r in tat_rows(db)}["A", "routine"]
        assert (routine.target_minutes, routine.met, routine.late) == (50.0, 0, 2)  # TAT 60 and 120 vs 50
        with pytest.raises(GroupError, match="PRIORITY=MINUTES"):
            set_targets(db, "A", {"STAT": 0})


def test_cli_sets_targets_and_exports_both_tables_as_csv(tmp_path: Path, group_url: str) -> None:  # noqa: F811
    seed(group_url)
    home, out = tmp_path / "home", tmp_path / "tat.csv"
    with psycopg.connect(group_url) as conn:
        conn.execute("DELETE FROM facility_targets WHERE facility = 'B'")
    done = telerad(home, "--group", group_url, "readers", "facility", "B", "--target", "urgent=240")
    assert done.returncode == 0 and "B: targets urgent 240 min" in done.stdout, done.stderr
    bad = telerad(home, "--group", group_url, "readers", "facility", "B", "--target", "soon=5")
    assert bad.returncode == 2 and "PRIORITY=MINUTES" in bad.stderr and "Traceback" not in bad.stderr
    done = telerad(home, "--group", group_url, "tat", "--csv", str(out))
    assert done.returncode == 0, done.stderr
    facilities, readers = out.read_text(encoding="utf-8").split("\n\n")
    table = list(csv.DictReader(io.StringIO(facilities)))
    assert table == [{k: "" if v is None else str(v) for k, v in row.items()} for row in FACILITY_ROWS]
    by_reader = {r["reader"]: r for r in csv.DictReader(io.StringIO(readers))}
    assert list(by_reader) == ["(queue)", "ann", "bob", "carl"]
    assert by_reader["bob"] == {"reader": "bob", "queued": "0", "reading": "1", "preliminary": "0", "final": "2",
                                "amended": "0", "late": "1"}
    shown = telerad(home, "--group", group_url, "tat")
    assert shown.returncode == 0 and "MEDIAN_MINUTES" in shown.stdout and "(queue)" in shown.stdout, shown.stderr
    lone = telerad(tmp_path / "lone", "tat", "--json")
    assert lone.returncode == 0 and json.loads(lone.stdout)["rows"] == [], lone.stderr


@dataclass(frozen=True)
class Entry:
    """What local_rows reads of a worklist entry."""

    site: str
    priority: Priority
    arrival: datetime
    due: datetime
    target: timedelta
    status: Status
    claimed_by: str | None
    reported_at: datetime | None
    reference: bool = False


def entry(status: Status, arrived_h: float, read_h: float | None, claimed: str | None = None) -> Entry:
    hour = timedelta(hours=1)
    arrival = NOW - arrived_h * hour
    return Entry("S", Priority.URGENT, arrival, arrival + 4 * hour, 4 * hour, status, claimed,
                 None if read_h is None else NOW - read_h * hour)


def test_local_mode_counts_like_the_group() -> None:
    from app.workstation.tat import TatDashboard, local_rows, write_csv

    entries = [entry(Status.FINAL, 3, 2), entry(Status.FINAL, 7, 1), entry(Status.AMENDED, 5, 2, "bob"),
               entry(Status.FINAL, 50, 40), entry(Status.IN_PROGRESS, 1, None, "ann"),
               entry(Status.UNREAD, 3.75, None), entry(Status.UNREAD, 5, None),
               entry(Status.PRELIMINARY, 2, 1, "carl"), replace(entry(Status.UNREAD, 9, None), reference=True)]
    rows, readers = local_rows(entries, "ann", NOW, 24, 30)  # type: ignore[arg-type]
    assert [asdict(r) for r in rows] == [  # TATs 60, 360 (late), 180 minutes; 40 h ago: outside
        {"facility": "S", "priority": "urgent", "target_minutes": 240.0, "queued": 2, "reading": 1, "near_breach": 1,
         "breached": 1, "read": 3, "met": 2, "late": 1, "median_minutes": 180.0, "p90_minutes": 324.0}]
    assert [asdict(r) for r in readers] == [
        {"reader": "", "queued": 2, "reading": 0, "preliminary": 0, "final": 0, "amended": 0, "late": 0},
        {"reader": "ann", "queued": 0, "reading": 1, "preliminary": 0, "final": 2, "amended": 0, "late": 1},
        {"reader": "bob", "queued": 0, "reading": 0, "preliminary": 0, "final": 0, "amended": 1, "late": 0},
        {"reader": "carl", "queued": 0, "reading": 0, "preliminary": 1, "final": 0, "amended": 0, "late": 0}]
    text = io.StringIO()
    write_csv(TatDashboard(rows, readers, 24, 30, "local", NOW), text)
    assert text.getvalue().splitlines()[1] == "S,urgent,240.0,2,1,1,1,3,2,1,180.0,324.0"


def test_a_lone_reader_s_dashboard_counts_their_worklist(tmp_path: Path) -> None:
    from app.workstation import Workstation
    from app.workstation.tat import dashboard

    samples = REPO / "resources" / "samples"
    with Workstation(resolve_paths(str(tmp_path / "home")), "ann") as ws:
        ws.import_paths([samples / "cr-chest", samples / "us-abdomen", samples / "mg-screening"])
        uids = [e.study_instance_uid for e in ws.worklist_entries()]
        ws.worklist.mark_read(uids[0], "ann")
        board = dashboard(ws)
    assert board.source == "local" and len(uids) >= 3
    assert sum(r.read for r in board.rows) == 1 and sum(r.queued for r in board.rows) == len(uids) - 1
    assert all(r.target_minutes == 24 * 60 for r in board.rows if r.priority == "routine")
    read = next(r for r in board.rows if r.read)
    assert read.median_minutes is not None and 0 <= read.median_minutes < 5  # read just after it arrived
    assert {r.reader: r.final for r in board.readers}["ann"] == 1


def test_a_workstation_publishes_each_study_s_arrival(tmp_path: Path, group_url: str) -> None:  # noqa: F811
    from app.workstation import Workstation

    with Workstation(resolve_paths(str(tmp_path / "home")), "ann") as ws:
        ws.group_url = group_url
        ws.import_paths([REPO / "resources" / "samples" / "cr-chest"])
        arrivals = {e.study_instance_uid: e.arrival for e in ws.worklist_entries()}
    with psycopg.connect(group_url) as conn:
        published = dict(conn.execute("SELECT study_uid, arrival FROM studies").fetchall())
    assert published and published == arrivals
