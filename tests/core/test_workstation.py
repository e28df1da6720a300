"""The composition root: one database layer (FULL durability, versioned schemas) and the rule that the report
decides the reading status, whichever way the report was signed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from app.config import Paths
from app.db import SchemaTooNewError, pragma_synchronous
from app.worklist import Status
from app.workstation import Workstation, WorkstationError
from tests.core.report_fixtures import make_pki, study_files


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def ws(tmp_path: Path, shared_data: Path):  # type: ignore[no-untyped-def]
    with Workstation(Paths(tmp_path / "home", tmp_path / "home" / "config"), "dr.test") as ws:
        ws.import_paths(study_files(shared_data)[:12])
        yield ws


def _uid(ws: Workstation) -> str:
    return ws.cache.list_studies()[0].study_instance_uid


def test_every_medico_legal_connection_is_full_sync(ws: Workstation) -> None:
    outbox = ws.reporting().outbox()
    connections = {"reports": ws.report_store.db, "outbox": outbox.db, "audit": ws.audit.db,
                   "study index": ws.cache.db, "worklist": ws.worklist.db.db}
    assert {name: pragma_synchronous(db) for name, db in connections.items()} == dict.fromkeys(connections, "FULL")
    for db in connections.values():
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert db.execute("PRAGMA user_version").fetchone()[0] >= 1  # every database has a schema version


def test_a_newer_audit_schema_is_refused(tmp_path: Path) -> None:
    from app.audit import AuditLog

    path = tmp_path / "audit.sqlite"
    AuditLog(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(SchemaTooNewError, match="audit log schema 99"):
        AuditLog(path)


def test_an_unversioned_audit_log_migrates_and_keeps_its_chain(tmp_path: Path) -> None:
    from app.audit import AuditLog, events

    path = tmp_path / "audit.sqlite"
    with AuditLog(path) as log:
        log.record(events.IMPORT, action="C", user="u")
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 0")  # as the logs written before the audit DB had a version
    conn.close()
    with AuditLog(path) as log:
        log.record(events.IMPORT, action="C", user="u")
        assert log.verify() == (True, None) and len(log.records()) == 2


def test_sign_then_addendum_drive_the_worklist(ws: Workstation, pki, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from app.reporting.signing import load_identity

    uid = _uid(ws)
    session = ws.open_for_reading(uid)
    assert session.claimed and session.entry is not None and session.entry.status is Status.IN_PROGRESS
    report = ws.draft(uid, "ct-head", {"findings": "Acute subdural haematoma.", "impression": "Acute SDH."})
    ws.set_critical(report.id, True, "Acute subdural haematoma")
    entry = ws.worklist.entry(uid)
    assert entry is not None and entry.report.flags == ("critical", "critical-not-communicated")
    identity = load_identity(pki.p12, pki.password)
    from app.reporting.critical import CriticalNotCommunicatedError, communication

    with pytest.raises(CriticalNotCommunicatedError):  # the closed loop: who was told, before signing
        ws.sign(report.id, identity)
    told = communication("Dr Bob Referrer", "phone", ws.user, role="ED physician", read_back=True)
    ws.sign(report.id, identity, communication=told)
    entry = ws.worklist.entry(uid)
    assert entry is not None and entry.status is Status.FINAL and entry.report.status == "final"
    assert entry.report.critical and entry.report.critical_text == "Acute subdural haematoma"
    addendum = ws.start_addendum(uid, "laterality", {"impression": "Left, not right."})
    assert ws.worklist.entry(uid).status is Status.FINAL  # type: ignore[union-attr]  (amended once signed)
    ws.sign(addendum.id, identity)
    assert ws.worklist.entry(uid).status is Status.AMENDED  # type: ignore[union-attr]
    assert ws.worklist.entry(uid).report.status == "addended"  # type: ignore[union-attr]
    history = [(h["old"], h["new"]) for h in ws.worklist.history(uid) if h["action"] == "status"]
    assert history == [("unread", "in_progress"), ("in_progress", "final"), ("final", "amended")]


def test_a_report_signed_behind_the_worklist_is_repaired_on_listing(ws: Workstation, pki) -> None:  # type: ignore[no-untyped-def]
    """A crash between the report's commit and the worklist update (or a report signed by an older
    version) leaves the worklist behind: the next listing brings it to the report's state."""
    from app.reporting import service
    from app.reporting.signing import load_identity

    uid = _uid(ws)
    ws.open_for_reading(uid)
    report = ws.draft(uid, "ct-head", {"findings": "Normal."})
    signed = service.sign(ws.reporting(), report.id, load_identity(pki.p12, pki.password))  # bypasses the use case
    # the signing transaction is the status change: the entry reads the report store
    entry = ws.worklist.remark(uid)
    assert entry is not None and entry.status is Status.FINAL and ws.worklist.recorded_status(uid) is Status.IN_PROGRESS
    assert entry.reported_at is not None and entry.reported_at.isoformat()[:19] == signed.report.signed_at[:19]
    [entry] = [e for e in ws.worklist_entries() if e.study_instance_uid == uid]
    assert entry.status is Status.FINAL and entry.report.status == "final" and not entry.report.critical
    assert ws.worklist.recorded_status(uid) is Status.FINAL  # recorded on listing, with its history row
    assert [h["new"] for h in ws.worklist.history(uid) if h["action"] == "status"] == ["in_progress", "final"]


def test_delete_is_audited_and_leaves_the_worklist(ws: Workstation) -> None:
    from app.audit import events

    uid = _uid(ws)
    ws.worklist_entries()
    assert ws.delete_study(uid) and not ws.delete_study(uid)
    assert ws.worklist.entry(uid) is None and ws.cache.get_study(uid) is None
    assert [r.study_uid for r in ws.audit.records() if r.event_id == events.STUDY_DELETED.code] == [uid]
    with pytest.raises(WorkstationError, match="not in the local cache"):
        ws.open_for_reading(uid)


def test_lent_services_stay_open_and_unused_ones_are_never_opened(tmp_path: Path) -> None:
    from app.store import Cache

    with Cache.open(tmp_path / "cache") as cache:
        with Workstation(Paths(tmp_path, tmp_path / "config"), "u", services={"cache": cache}) as ws:
            assert ws.cache is cache and ws.report_store.for_study("1.2.3") == []
        assert cache.list_studies() == []  # still open after the workstation closed
    assert not (tmp_path / "audit.sqlite").exists() and not (tmp_path / "worklist.sqlite").exists()


def test_settings_errors_name_the_file_and_the_key(tmp_path: Path) -> None:
    from app.network.nodes import NodeError
    from app.reporting.settings import SettingsError

    ws = Workstation(Paths(tmp_path, tmp_path / "config"), "u")
    (tmp_path / "config").mkdir()
    assert ws.settings().reporting.retry_base_s == 5.0 and ws.settings().nodes.nodes == {}
    (tmp_path / "config" / "reporting.json").write_text('{"retry_base_s": "soon"}')
    with pytest.raises(SettingsError, match=r"reporting\.json: retry_base_s: must be a number"):
        ws.settings()
    (tmp_path / "config" / "reporting.json").write_text('{"hl7": {"host": "ris", "port": 70000}}')
    with pytest.raises(SettingsError, match=r"reporting\.json: hl7\.port: must be an integer"):
        ws.settings()
    (tmp_path / "config" / "reporting.json").unlink()
    (tmp_path / "config" / "nodes.json").write_text("[1, 2]")
    with pytest.raises(NodeError, match=r"nodes\.json: must hold a JSON object"):
        ws.settings()
