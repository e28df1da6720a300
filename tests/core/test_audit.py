"""Audit log: hash chain, append-only triggers, tamper detection, DICOM event codes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from app.audit import AuditLog, events
from app.audit.log import GENESIS, record_hash


@pytest.fixture()
def log(tmp_path: Path) -> AuditLog:
    audit = AuditLog(tmp_path / "audit.sqlite")
    audit.record(events.IMPORT, action="C", study_uid="1.2.3", patient_id="PAT-7", detail={"n": 3}, user="alice")
    audit.record(events.INSTANCES_ACCESSED, action="R", study_uid="1.2.3", user="bob")
    audit.record(events.QUERY, action="E", outcome=4, detail={"filter": "CT"}, user="bob")
    audit.record("110113", action="E", outcome=8, detail={"why": "bad peer"}, user="system")
    return audit


def test_event_codes() -> None:
    assert events.IMPORT.code == "110107" and events.INSTANCES_ACCESSED.code == "110103"
    assert events.QUERY.code == "110112" and events.INSTANCES_TRANSFERRED.code == "110104"
    assert events.EXPORT.code == "110106" and events.SECURITY_ALERT.code == "110113"
    assert events.BEGIN_TRANSFERRING.code == "110102" and events.STUDY_DELETED.code == "110105"
    assert len(events.EVENTS) == 15


def test_chain_verifies_and_fields(log: AuditLog) -> None:
    records = log.records()
    assert [r.seq for r in records] == [1, 2, 3, 4]
    assert records[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(records, records[1:]))
    assert records[0].event_name == "Import" and records[3].event_name == "Security Alert"
    assert records[0].time.endswith("+00:00") and records[0].host
    assert records[0].patient_hash and "PAT-7" not in records[0].patient_hash
    assert records[0].patient_hash == log.patient_hash("PAT-7") != log.patient_hash("PAT-8")
    assert log.verify() == (True, None)


def test_update_and_delete_are_refused(log: AuditLog, tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "audit.sqlite")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE events SET user = 'mallory' WHERE seq = 2")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM events WHERE seq = 4")
    conn.close()
    assert log.verify() == (True, None)


def _tamper(path: Path, sql: str) -> None:
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER events_no_update")
    conn.execute("DROP TRIGGER events_no_delete")
    conn.execute(sql)
    conn.commit()
    conn.close()


@pytest.mark.parametrize(
    ("sql", "bad"),
    [
        ("UPDATE events SET user = 'mallory' WHERE seq = 2", 2),
        ("UPDATE events SET detail = '{\"n\":4}' WHERE seq = 1", 1),
        ("DELETE FROM events WHERE seq = 2", 3),
        ("UPDATE events SET outcome = 0 WHERE seq = 4", 4),
    ],
)
def test_tampering_is_detected(log: AuditLog, tmp_path: Path, sql: str, bad: int) -> None:
    _tamper(tmp_path / "audit.sqlite", sql)
    assert log.verify() == (False, bad)


def test_rehashing_one_row_still_breaks_the_chain(log: AuditLog, tmp_path: Path) -> None:
    record = log.records()[1]
    fields = {**record.__dict__, "user": "mallory"}
    forged = record_hash(fields)
    _tamper(tmp_path / "audit.sqlite", f"UPDATE events SET user = 'mallory', hash = '{forged}' WHERE seq = 2")
    assert log.verify() == (False, 3)


def test_invalid_action_or_outcome(log: AuditLog) -> None:
    with pytest.raises(ValueError):
        log.record(events.EXPORT, action="X")
    with pytest.raises(ValueError):
        log.record(events.EXPORT, action="R", outcome=3)


def test_reopen_keeps_chain_and_salt(log: AuditLog, tmp_path: Path) -> None:
    salted = log.patient_hash("P")
    log.close()
    again = AuditLog(tmp_path / "audit.sqlite")
    again.record(events.EXPORT, action="R", user="carol")
    assert again.patient_hash("P") == salted
    assert again.verify() == (True, None) and len(again.records()) == 5
