"""Audit controls: PS3.15 A.5 events for the PHI-touching use cases, exported as A.5.1 XML over syslog
(RFC 5424) on TLS (RFC 5425) to a real rsyslogd, through a durable spool; the local chain verifies."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from app.audit import AuditLog, events
from app.audit.message import Source, to_xml
from app.audit.repository import AuditRepository, save_repository
from app.audit.syslog import frame
from app.config import Paths
from app.network.nodes import LocalAE, Node, NodeConfig, save
from app.network.query import Query
from app.workstation import Workstation
from tests.core.net_peers import Orthanc, free_port, make_pki
from tests.core.report_fixtures import make_pki as make_signing_pki
from tests.core.report_fixtures import study_files
from tests.core.syslog_peer import Rsyslog

SCHEMA = Path(__file__).resolve().parents[1] / "data" / "dicom-audit-message.rng"
SEQ = re.compile(r'ParticipantObjectName>seq (\d+)<')


@pytest.fixture(scope="module")
def schema():  # type: ignore[no-untyped-def]
    from lxml import etree

    return etree.RelaxNG(etree.parse(str(SCHEMA)))


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def rsyslog(tmp_path: Path, pki: dict[str, Path]):  # type: ignore[no-untyped-def]
    server = Rsyslog(tmp_path / "rsyslog", free_port(), pki["ca1.crt"], pki["server-ca1.crt"], pki["server-ca1.key"])
    try:
        yield server.start()
    finally:
        server.stop()


def _configure(config_dir: Path, pki: dict[str, Path], port: int) -> None:
    save_repository(config_dir, AuditRepository(
        host="127.0.0.1", port=port, ca_file=str(pki["ca1.crt"]), cert_file=str(pki["client-ca1.crt"]),
        key_file=str(pki["client-ca1.key"]), source_id="telerad-test", site_id="TEST SITE",
        retry_min_s=0.1, retry_max_s=0.5))


def _valid(schema: Any, xml: bytes) -> bool:
    from lxml import etree

    return bool(schema.validate(etree.fromstring(xml)))


def _wait(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def _received(server: Rsyslog) -> dict[int, str]:
    """seq -> XML of every message rsyslog wrote (a seq seen twice fails: nothing is sent twice)."""
    found: dict[int, str] = {}
    for line in server.lines():
        msgid, app, xml = line.split(" ", 2)
        assert (msgid, app) == ("IHE+RFC-3881", "telerad")
        xml = xml.lstrip("\ufeff")
        seq = int(SEQ.search(xml).group(1))  # type: ignore[union-attr]
        assert seq not in found, f"event {seq} delivered twice"
        found[seq] = xml
    return found


def test_every_event_kind_is_valid_against_the_a51_schema_and_a_broken_one_is_not(tmp_path: Path, schema) -> None:
    with AuditLog(tmp_path / "audit.sqlite") as log:
        recs = [log.record(event, action=action, **kw) for event, action, kw in [
            (events.APPLICATION_ACTIVITY, "E", {"event_type": events.APPLICATION_START}),
            (events.QUERY, "E", {"detail": {"node": "pacs", "level": "study", "keys": ["PatientID"]}}),
            (events.BEGIN_TRANSFERRING, "E", {"study_uid": "1.2.3", "detail": {"node": "pacs"}}),
            (events.INSTANCES_TRANSFERRED, "C", {"study_uid": "1.2.3", "patient_id": "P1",
                                                 "detail": {"direction": "retrieved", "node": "pacs"}}),
            (events.IMPORT, "C", {"study_uid": "1.2.3", "patient_id": "P1"}),
            (events.INSTANCES_ACCESSED, "R", {"study_uid": "1.2.3", "patient_id": "P1"}),
            (events.EXPORT, "R", {"study_uid": "1.2.3", "outcome": 8, "detail": {"node": "x", "error": "refused"}}),
            (events.STUDY_DELETED, "D", {"study_uid": "1.2.3"}),
            (events.SECURITY_ALERT, "E", {"outcome": 4, "event_type": events.NODE_AUTHENTICATION,
                                          "detail": {"peer": "10.0.0.9", "reason": "unknown CA"}}),
            (events.AUDIT_LOG_USED, "R", {"detail": {"uri": "file:///audit.sqlite"}}),
        ]]
    source = Source("telerad@test", "SITE")
    for rec in recs:
        xml = to_xml(rec, source, patient_id="P1" if rec.patient_hash else None)
        assert _valid(schema, xml), (rec.event_name, schema.error_log.last_error)
    broken = to_xml(recs[0], source).replace(b'EventOutcomeIndicator="0"', b'EventOutcomeIndicator="3"')
    assert not _valid(schema, broken)
    framed = frame(b"<AuditMessage/>", hostname="host one", timestamp="2026-12-03T10:00:00.000+00:00")
    length, message = framed.split(b" ", 1)
    assert int(length) == len(message) and message.startswith(b"<85>1 2026-12-03T10:00:00.000+00:00 hostone telerad ")
    assert b" IHE+RFC-3881 - \xef\xbb\xbf<AuditMessage/>" in message


def _session(ws: Workstation, files: list[Path], signing: Any, server: Rsyslog) -> list[tuple[str, str, str]]:
    """Twelve actions (the repository down during 5-8); the (event, type, action) each should write."""
    from app.reporting.signing import load_identity

    expected: list[tuple[str, str, str]] = []

    def expect(event: events.AuditEvent, action: str, kind: events.AuditEvent | None = None) -> None:
        expected.append((event.code, kind.code if kind else "", action))

    ws.start_application("scripted session")                                   # 1 application start
    expect(events.APPLICATION_ACTIVITY, "E", events.APPLICATION_START)
    rows = ws.network().query(Query(patient_id="*"), "orthanc")                # 2 query
    expect(events.QUERY, "E")
    uid = rows[0]["StudyInstanceUID"]
    ws.retrieve("orthanc", uid, method="get")                                  # 3 retrieve
    expect(events.BEGIN_TRANSFERRING, "E")
    expect(events.INSTANCES_TRANSFERRED, "C")
    ws.open_for_reading(uid)                                                   # 4 study opened
    expect(events.INSTANCES_ACCESSED, "R")
    server.stop()                                                              # -- repository down
    report = ws.draft(uid, "ct-head", {"findings": "Acute subdural haematoma."})  # 5 report created
    expect(events.INSTANCES_ACCESSED, "C")
    identity = load_identity(signing.p12, signing.password)
    ws.sign(report.id, identity)                                               # 6 report signed
    expect(events.INSTANCES_ACCESSED, "C")
    ws.start_addendum(uid, "laterality", {"impression": "Left."})             # 7 report amended
    expect(events.INSTANCES_ACCESSED, "U")
    assert ws.audit_verify() == (True, None)                                   # 8 audit log read
    expect(events.AUDIT_LOG_USED, "R")
    server.start()                                                             # -- repository back
    assert ws.delete_study(uid)                                                # 9 delete
    expect(events.STUDY_DELETED, "D")
    ws.import_paths(files)                                                     # 10 import (study + run)
    expect(events.IMPORT, "C")
    expect(events.IMPORT, "C")
    stored = next(p for p in ws.paths.cache.rglob("*") if p.is_file() and p.suffix == ".dcm")
    stored.unlink()
    ws.check_cache()                                                           # 11 security alert
    expect(events.SECURITY_ALERT, "E")
    return expected                                                            # 12 close: application stop


def test_scripted_session_reaches_rsyslog_over_tls_with_the_server_down_for_part(
        tmp_path: Path, shared_data: Path, pki: dict[str, Path], rsyslog: Rsyslog, schema) -> None:
    files = study_files(shared_data)[:12]
    orthanc = Orthanc(tmp_path / "orthanc").start()
    try:
        orthanc.upload(files)
        home = tmp_path / "home"
        paths = Paths(home, home / "config")
        nodes = NodeConfig(local=LocalAE("TELERAD", free_port(), "127.0.0.1"))
        nodes.add(Node("orthanc", orthanc.aet, "127.0.0.1", orthanc.dicom_port, "get"))
        save(paths.config_dir, nodes)
        _configure(paths.config_dir, pki, rsyslog.port)
        signing = make_signing_pki(tmp_path / "signing")
        with Workstation(paths, "dr.audit") as ws:
            expected = _session(ws, files, signing, rsyslog)
        expected.append((events.APPLICATION_ACTIVITY.code, events.APPLICATION_STOP.code, "E"))
    finally:
        orthanc.stop()

    with AuditLog(paths.audit_db) as log:
        records = log.records()
        assert log.verify() == (True, None)
    assert [(r.event_id, r.event_type or "", r.action) for r in records] == expected
    assert len(expected) == 14  # twelve actions: retrieve and import write two events each
    assert _wait(lambda: len(rsyslog.lines()) >= len(records)), rsyslog.lines()
    received = _received(rsyslog)
    assert sorted(received) == [r.seq for r in records]  # nothing lost, nothing twice
    for rec in records:
        xml = received[rec.seq].encode("utf-8")
        assert _valid(schema, xml), (rec.event_name, schema.error_log.last_error)
        assert f'csd-code="{rec.event_id}"'.encode() in xml and rec.hash.encode() in xml
    delivered_patient = [x for x in received.values() if 'csd-code="2" codeSystemName="RFC-3881"' in x]
    assert delivered_patient and all("sha256:" not in x for x in delivered_patient)  # the clear ID went out
    with Workstation(paths, "dr.audit") as ws:
        status = ws.audit_export_status()
        assert (status.spool.unsent, status.spool.sent) == (0, len(records))
        cleared = ws.audit._conn.execute("SELECT COUNT(*) FROM spool WHERE patient_id IS NOT NULL").fetchone()[0]
        assert cleared == 0  # sent rows keep no clear patient ID


def test_spool_survives_a_restart_with_the_repository_down(tmp_path: Path, pki: dict[str, Path], rsyslog: Rsyslog,
                                                            schema, capsys: pytest.CaptureFixture[str]) -> None:
    from app.cli.main import main

    home = tmp_path / "home"
    paths = Paths(home, home / "config")
    _configure(paths.config_dir, pki, rsyslog.port)
    rsyslog.stop()
    with Workstation(paths, "dr.audit") as ws:
        ws.start_application("first run")
    assert main(["--data-dir", str(home), "audit", "export-status"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"unsent:\s+2 ", out) and "sent:          0" in out, out  # application start and stop
    rsyslog.start()
    with Workstation(paths, "dr.audit") as ws:
        assert _wait(lambda: ws.audit_export_status().spool.unsent == 0)
    assert main(["--data-dir", str(home), "audit", "verify"]) == 0
    assert "audit log intact" in capsys.readouterr().out
    with AuditLog(paths.audit_db) as log:
        seqs = [r.seq for r in log.records()]
    assert _wait(lambda: len(rsyslog.lines()) >= len(seqs))
    assert sorted(_received(rsyslog)) == seqs
    assert all(_valid(schema, x.encode()) for x in _received(rsyslog).values())


def test_a_broken_chain_fails_verify_and_raises_a_security_alert(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    import sqlite3

    from app.cli.main import main

    home = tmp_path / "home"
    paths = Paths(home, home / "config")
    with Workstation(paths, "u") as ws:
        ws.start_application("cli")
    conn = sqlite3.connect(paths.audit_db)
    conn.execute("DROP TRIGGER events_no_update")
    conn.execute("UPDATE events SET detail = ? WHERE seq = 1", [json.dumps({"what": "forged"})])
    conn.commit()
    conn.close()
    assert main(["--data-dir", str(home), "audit", "verify"]) == 1
    assert "broken at record 1" in capsys.readouterr().err
    with AuditLog(paths.audit_db) as log:
        assert log.records()[-1].event_id == events.SECURITY_ALERT.code


def test_a_leased_row_is_not_claimed_by_another_sender_until_released(tmp_path: Path) -> None:
    from app.audit import spool

    with AuditLog(tmp_path / "audit.sqlite") as log:
        log.spooling = True
        for n in range(3):
            log.record(events.QUERY, action="E", patient_id=f"P{n}")
        first = spool.claim(log, "a", limit=2)
        assert [p.record.seq for p in first] == [1, 2] and first[0].patient_id == "P0"
        assert [p.record.seq for p in spool.claim(log, "b")] == [3]  # 1 and 2 are leased to a
        spool.release(log, [1], "ConnectionRefusedError")
        spool.mark_sent(log, [2])
        assert [p.record.seq for p in spool.claim(log, "b")] == [1, 3]
        status = spool.status(log)
        assert (status.unsent, status.sent, status.last_error) == (2, 1, "ConnectionRefusedError")
        assert log._conn.execute("SELECT patient_id FROM spool WHERE seq = 2").fetchone() == (None,)
        assert spool.erase_patient(log, "P0") == 1  # a purge: the unsent message falls back to the hash
        assert spool.claim(log, "b")[0].patient_id is None
