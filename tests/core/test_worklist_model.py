"""Worklist model: reading order, turnaround clock with an injected clock, status transitions, persistence."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from app.worklist import (
    ClaimedError, IllegalTransition, Priority, Rule, Status, TatState, Worklist, WorklistConfig, format_clock,
)
from app.worklist.db import SCHEMA_VERSION, WorklistDB, schema_version
from tests.core.test_worklist_support import T0, FakeCache, FakeClock, study


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def wl(tmp_path: Path, clock: FakeClock) -> Worklist:
    w = Worklist.open(tmp_path, clock=clock)
    yield w
    w.close()


def uids(entries: list) -> list[str]:
    return [e.study_instance_uid for e in entries]


def test_reading_order_stat_first_then_time_to_breach(wl: Worklist, clock: FakeClock) -> None:
    wl.set_priority_rules([Rule("STAT", description=r"\bstroke\b"), Rule("urgent", department="emergency")])
    cache = FakeCache([
        study("routine-old", received=T0 - timedelta(hours=23, minutes=30)),   # due in 30 min
        study("urgent-new", received=T0, description="CT ABDOMEN"),             # due in 4 h (dept set below)
        study("stat-new", received=T0, description="CT head stroke"),           # due in 60 min
        study("stat-older", received=T0 - timedelta(minutes=50), description="code STROKE CT"),  # due in 10 min
        study("routine-new", received=T0),
    ])
    wl.refresh(cache)
    wl.set_priority("urgent-new", "urgent", "dr_a")
    order = uids(wl.entries())
    assert order == ["stat-older", "stat-new", "routine-old", "urgent-new", "routine-new"]
    e = wl.entry("stat-new")
    assert e.priority is Priority.STAT and e.priority_source == "rule"
    assert e.due == T0 + timedelta(minutes=60)
    assert wl.entry("urgent-new").due == T0 + timedelta(hours=4)
    # finished studies drop to the end, whatever their priority
    wl.mark_read("stat-older", "dr_a")
    assert uids(wl.entries())[-1] == "stat-older"


def test_breach_and_near_breach_follow_the_injected_clock(wl: Worklist, clock: FakeClock) -> None:
    wl.refresh(FakeCache([study("s1", received=T0)]))
    wl.set_priority("s1", Priority.STAT, "dr_a")
    e = wl.entry("s1")
    near = wl.config.near_breach_fraction
    assert e.tat_state(clock(), near) is TatState.OK
    clock.advance(minutes=44)
    assert e.tat_state(clock(), near) is TatState.OK and format_clock(e.remaining(clock())) == "0:16:00"
    clock.advance(minutes=1)  # 15 min left = 25 % of 60 min
    assert e.tat_state(clock(), near) is TatState.NEAR
    clock.advance(minutes=15)
    assert e.tat_state(clock(), near) is TatState.BREACHED
    clock.advance(minutes=5)
    assert format_clock(e.remaining(clock())) == "-0:05:00"
    e = wl.mark_read("s1", "dr_a")  # reported 5 min late: clock stops
    assert e.reported_at == clock() and e.tat_state(clock(), near) is TatState.LATE
    clock.advance(hours=5)
    assert wl.entry("s1").tat_state(clock(), near) is TatState.LATE


def test_targets_are_configurable_and_persisted(tmp_path: Path, clock: FakeClock) -> None:
    wl = Worklist.open(tmp_path, clock=clock)
    wl.refresh(FakeCache([study("s1", received=T0)]))
    assert wl.entry("s1").due == T0 + timedelta(hours=24)
    wl.set_config(WorklistConfig(routine_target=timedelta(hours=12)))
    assert wl.entry("s1").due == T0 + timedelta(hours=12)
    wl.close()
    again = Worklist.open(tmp_path, clock=clock)
    assert again.config.routine_target == timedelta(hours=12)
    again.close()


def test_status_transitions_and_illegal_ones_refused(wl: Worklist) -> None:
    wl.refresh(FakeCache([study("s1"), study("s2")]))
    with pytest.raises(IllegalTransition):
        wl.set_status("s1", Status.FINAL, "dr_a")  # unread -> final skips reading
    with pytest.raises(IllegalTransition):
        wl.set_status("s1", Status.AMENDED, "dr_a")
    e = wl.start_reading("s1", "dr_a")
    assert e.status is Status.IN_PROGRESS and e.claimed_by == "dr_a"
    with pytest.raises(ClaimedError):
        wl.set_status("s1", Status.PRELIMINARY, "dr_b")
    assert wl.set_status("s1", Status.PRELIMINARY, "dr_a").status is Status.PRELIMINARY
    assert wl.set_status("s1", Status.FINAL, "dr_a").status is Status.FINAL
    for bad in (Status.UNREAD, Status.IN_PROGRESS, Status.PRELIMINARY):
        with pytest.raises(IllegalTransition):
            wl.set_status("s1", bad, "dr_a")
    assert wl.set_status("s1", Status.AMENDED, "dr_a").status is Status.AMENDED
    # releasing an in-progress study returns it to unread and drops the claim
    wl.start_reading("s2", "dr_b")
    e = wl.release("s2", "dr_b")
    assert e.status is Status.UNREAD and e.claimed_by is None
    actions = [(h["action"], h["old"], h["new"]) for h in wl.history("s1")]
    assert actions[0] == ("status", "unread", "in_progress") and actions[-1] == ("status", "final", "amended")


def test_claims(wl: Worklist) -> None:
    wl.refresh(FakeCache([study("s1")]))
    assert wl.claim("s1", "dr_a").claimed_by == "dr_a"
    with pytest.raises(ClaimedError):
        wl.claim("s1", "dr_b")
    assert wl.claim("s1", "dr_b", force=True).claimed_by == "dr_b"


def test_state_survives_restart(tmp_path: Path, clock: FakeClock) -> None:
    cache = FakeCache([study("s1", received=T0), study("s2", received=T0)])
    wl = Worklist.open(tmp_path, clock=clock)
    wl.refresh(cache)
    wl.start_reading("s1", "dr_a")
    wl.set_priority("s2", "STAT", "dr_a")
    wl.close()
    clock.advance(hours=3)
    cache.studies = [study("s1", received=T0 + timedelta(hours=2)), *cache.studies[1:]]  # re-sent later
    again = Worklist.open(tmp_path, clock=clock)
    again.refresh(cache)
    s1, s2 = again.entry("s1"), again.entry("s2")
    assert s1.status is Status.IN_PROGRESS and s1.claimed_by == "dr_a"
    assert s1.arrival == T0  # first arrival kept
    assert s2.priority is Priority.STAT and s2.priority_source == "reader"
    assert s2.due == T0 + timedelta(minutes=60)
    again.set_priority("s2", None, "dr_a")
    assert again.entry("s2").priority is Priority.ROUTINE
    again.close()


def test_schema_migrations_and_wal(tmp_path: Path) -> None:
    db = WorklistDB.open(tmp_path / "worklist.sqlite")
    assert schema_version(db.db) == SCHEMA_VERSION >= 2
    assert db.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert {"state", "history", "settings", "request_fields"} <= set(db.db.table_names())
    db.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    from app.worklist import WorklistSchemaError

    with pytest.raises(WorklistSchemaError):
        WorklistDB.open(tmp_path / "worklist.sqlite")


def test_remote_results_and_forget(wl: Worklist) -> None:
    cache = FakeCache([study("local", patient_id="P1")])
    remote = [{"study_instance_uid": "remote-new", "patient_id": "P1", "modalities": "CT\\SR",
               "study_date": "20250301", "description": "CT HEAD", "body_part": "HEAD", "institution": "NORTH"}]
    priors = [{"study_instance_uid": "remote-old", "patient_id": "P1", "modalities": ["CT"],
               "study_date": "20200101", "body_part": "HEAD", "institution": "NORTH"},
              {"study_instance_uid": "other-site", "patient_id": "P1", "source_node": "SOUTH"}]
    wl.refresh(cache, remote=remote, remote_priors=priors)
    assert not wl.entry("remote-new").local and wl.entry("remote-new").modalities == ("CT", "SR")
    assert wl.entry("remote-old").reference and not wl.entry("remote-old").to_read
    assert wl.entries()[-1].study_instance_uid == "remote-old"
    assert wl.entry("local").priors == ("remote-new", "remote-old")  # SOUTH: another ID domain
    wl.forget("remote-new")
    assert wl.entry("remote-new") is None and "remote-new" not in wl.entry("local").priors
