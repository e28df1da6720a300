"""Group reading through the `telerad` command (real processes, a real PostgreSQL) and the report-state sync."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg

from app.config import resolve_paths
from tests.group_pg import free_port, group_url, pg_server  # noqa: F401  (fixtures)

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "resources" / "samples"


def telerad(home: Path, url: str, *args: str, reader: str = "ann") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TELERAD_HOME", "TELERAD_GROUP")}
    return subprocess.run([sys.executable, "-m", "app", "--data-dir", str(home), "--group", url, "--reader", reader,
                           *args], capture_output=True, text=True, env=env, timeout=300, cwd=REPO)


def ok(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_cli_publishes_claims_hands_over_releases_and_says_when_none_is_left(tmp_path: Path,
                                                                           group_url: str) -> None:  # noqa: F811
    home = tmp_path / "ann"
    ok(telerad(home, group_url, "import", str(SAMPLES)))  # entering the cache = entering the group worklist
    with psycopg.connect(group_url) as conn:
        published = dict(conn.execute("SELECT study_uid, facility FROM studies").fetchall())
    assert len(published) >= 5
    facility = sorted(set(published.values()))
    for name in facility:
        ok(telerad(home, group_url, "readers", "facility", name, "--state", "tx"))
    for reader in ("ann", "bob"):
        args = [a for f in facility for a in ("--facility", f)]
        ok(telerad(home, group_url, "readers", "add", reader, *args, "--license", "TX", "--cap", "20"))
    ok(telerad(home, group_url, "readers", "add", "cal", "--facility", facility[0], "--license", "CA"))

    first = json.loads(ok(telerad(home, group_url, "worklist", "next", "--json")))
    uid = first["study_instance_uid"]
    assert first["claimed_by"] == "ann" and uid in published
    refused = telerad(home, group_url, "worklist", "handover", uid, "--to", "cal")
    assert refused.returncode == 1 and "not" in refused.stderr and "Traceback" not in refused.stderr
    ok(telerad(home, group_url, "worklist", "handover", uid, "--to", "bob"))
    listed = {r["name"]: r for r in json.loads(ok(telerad(home, group_url, "readers", "list", "--json")))}
    assert listed["bob"]["holding"] == 1 and listed["ann"]["holding"] == 0 and listed["cal"]["licenses"] == ["CA"]
    not_hers = telerad(home, group_url, "worklist", "release", uid)
    assert not_hers.returncode == 1 and "does not hold" in not_hers.stderr
    ok(telerad(home, group_url, "worklist", "release", uid, reader="bob"))

    claimed = []
    while True:
        proc = telerad(home, group_url, "worklist", "next", "--json")
        if proc.returncode == 3:
            assert "no study left" in proc.stderr
            break
        claimed.append(json.loads(ok(proc))["study_instance_uid"])
        assert len(claimed) <= len(published)
    assert sorted(claimed) == sorted(published)  # the released study came back; each one once
    from app.audit import AuditLog

    with AuditLog(resolve_paths(str(home)).audit_db) as audit:
        details = [json.loads(r.detail).get("what") for r in audit.records() if r.event_id == "110111"]
    assert "group claim handed over" in details and details.count("group claim") == len(claimed) + 1
    bob = [json.loads(r.detail).get("what") for r in AuditLog(resolve_paths(str(home)).audit_db).records()
           if r.user == "bob"]
    assert "group claim released" in bob


def test_without_group_the_worklist_command_is_unchanged(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("TELERAD_HOME", "TELERAD_GROUP")}
    proc = subprocess.run([sys.executable, "-m", "app", "--data-dir", str(tmp_path), "worklist", "next"],
                          capture_output=True, text=True, env=env, timeout=120, cwd=REPO)
    assert proc.returncode == 2 and "--group" in proc.stderr
    assert not (tmp_path / "group.sqlite").exists()


def test_a_signed_report_waits_locally_while_the_group_is_down_and_is_recorded_once(tmp_path: Path,
                                                                                 group_url: str) -> None:  # noqa: F811
    from app.group import GroupDB, add_reader, next_case, publish, set_facility
    from app.group.queue import Published
    from app.group.reports import ReportState, record_report_state, report_states
    from app.reporting.model import Report, ReportKind, ReportState as Local, StudyInfo
    from app.workstation import Workstation
    from app.workstation import group
    from datetime import datetime, timezone

    with GroupDB(group_url) as db:
        set_facility(db, "A", "TX")
        add_reader(db, "ann", facilities=["A"], licenses=["TX"])
        publish(db, [Published("1.2.3", "A", "STAT", datetime.now(timezone.utc))], "ann")
        assert next_case(db, "ann").claim.study_uid == "1.2.3"
    report = Report("rep-1", StudyInfo("1.2.3"), ReportKind.ORIGINAL, Local.FINAL, {}, signed_at="2026-12-03T18:00:00Z")
    paths = resolve_paths(str(tmp_path / "home"))
    with Workstation(paths, "ann") as ws:
        ws.group_url = f"postgresql://telerad@127.0.0.1:{free_port()}/nowhere"  # nothing listens there
        group.report_signed(ws, report)  # no error: the signature happened, the state waits
        assert [s.report_id for s in group.session(ws).pending.items()] == ["rep-1"]
    with Workstation(paths, "ann") as ws:
        ws.group_url = group_url
        assert group.sync(ws) == 1
        assert group.sync(ws) == 0
        db = group.session(ws).db
        again = ReportState("rep-1", "1.2.3", "final", "ann", "2026-12-03T18:00:00Z")
        assert record_report_state(db, again) is False  # a push repeated after a crash: recorded once
        assert [s.state for s in report_states(db, "1.2.3")] == ["final"]
        status = db.run(lambda c: c.execute("SELECT status, read_by, claimed_by FROM studies").fetchone())
    assert status == ("final", "ann", None)


def test_the_reader_s_session_renews_its_leases(tmp_path: Path, group_url: str) -> None:  # noqa: F811
    import time
    from datetime import datetime, timezone

    from app.group import GroupDB, add_reader, next_case, publish, set_facility
    from app.group.queue import Published
    from app.workstation import Workstation
    from app.workstation import group

    with GroupDB(group_url) as db:
        set_facility(db, "A", "TX")
        for reader in ("ann", "bob"):
            add_reader(db, reader, facilities=["A"], licenses=["TX"])
        publish(db, [Published("1.2.3", "A", "routine", datetime.now(timezone.utc))], "ann")
        with Workstation(resolve_paths(str(tmp_path / "home")), "ann") as ws:
            ws.group_url = group_url
            group.start_lease_keeper(ws, every=0.3)
            assert group.next_case(ws, lease=1.0).claim.study_uid == "1.2.3"
            time.sleep(1.6)  # past the first lease: renewed meanwhile
            assert next_case(db, "bob").reason == "empty"
