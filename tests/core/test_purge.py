"""Retention purge (retention.json, `telerad purge`, the daily run): a study imported, viewed, reported,
signed, delivered to a real dcmtk storescp and ordered over a real MLLP peer leaves, once the rule's days
have passed and it is purged, no byte of its patient's name or ID (in any case, UTF-8 or UTF-16, nor their
unsalted or salted sha256 outside the audit log's patient_hash column) anywhere in the data dir; and the
rule keeps what it says it keeps (unsigned drafts, undelivered signed reports, report copies for their
days, unreported studies until N days after their last access)."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hl7.client import CR, EB, SB

from app.cli.main import main
from app.audit.repository import AuditRepository, save_repository
from app.clock import frozen_at
from app.network.nodes import Node, load, save
from app.reporting.runner import run_outbox
from app.reporting.signing import load_identity
from app.workstation.retention import RetentionRule, save_rule
from app.workstation.workstation import Workstation
from tests.core.net_peers import free_port, start_storescp, stop, wait_port
from tests.core.report_fixtures import make_pki
from tests.core.test_orders_parse import order_message
from tests.core.test_phi_on_disk import _modes, _patient_copy

PATIENT = {"name": "Mnbvcxzlkj^Delta", "id": "PHID-77001"}
MLLP_SEND = Path(sys.executable).with_name("mllp_send")
DAY = timedelta(days=1)


def _needles(ws: Workstation, patient: dict[str, str]) -> set[bytes]:
    """The patient's name and ID as stored anywhere: any case, UTF-8 / UTF-16 (LE, BE), sha256 hex."""
    family = patient["name"].split("^")[0]
    texts = {v for s in (family, patient["name"], patient["id"]) for v in (s, s.upper(), s.lower())}
    needles = {t.encode(enc) for t in texts for enc in ("utf-8", "utf-16-le", "utf-16-be")}
    needles |= {hashlib.sha256(t.encode()).hexdigest().encode() for t in texts}
    return needles


def _holding(home: Path, needles: set[bytes], salted: str) -> set[str]:
    """Files (and names) under ``home`` holding a needle; the salted hash only outside the audit log's
    patient_hash column."""
    found = set()
    for path in home.rglob("*"):
        rel = str(path.relative_to(home))
        if any(n.decode("latin-1") in rel for n in needles) or salted in rel:
            found.add(rel)
        if path.is_file():
            data = path.read_bytes()
            if any(n in data for n in needles) or (salted.encode() in data and path.name != "audit.sqlite"):
                found.add(rel)
    audit = sqlite3.connect(home / "audit.sqlite")
    try:
        for table, in audit.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
            columns = [r[1] for r in audit.execute(f"PRAGMA table_info({table})") if r[1] != "patient_hash"]
            for row in audit.execute(f"SELECT {', '.join(columns)} FROM {table}"):
                if salted in repr(row):
                    found.add(f"audit.sqlite:{table}")
    finally:
        audit.close()
    return found


def _send_hl7(port: int, messages: list[bytes], folder: Path) -> None:
    """python-hl7's ``mllp_send`` (a second process), every message acknowledged AA."""
    batch = folder / "orders.hl7"
    batch.write_bytes(b"".join(SB + m + EB + CR for m in messages))
    done = subprocess.run([str(MLLP_SEND), "-p", str(port), "-f", str(batch), "127.0.0.1"],
                          capture_output=True, timeout=120, check=True)
    assert done.stdout.count(b"MSA|AA") == len(messages), done.stdout


def _sign(ws: Workstation, uid: str, pki, node: str | None = "PACS") -> None:  # type: ignore[no-untyped-def]
    report = ws.draft(uid, sections={"findings": "No acute abnormality."})
    ws.sign(report.id, load_identity(pki.p12, pki.password), node=node)


def _deliver(ws: Workstation) -> int:
    ctx = ws.reporting(with_cache=False)
    return run_outbox(ctx.outbox(), ctx.home).sent


@pytest.fixture
def pacs(tmp_path: Path):  # type: ignore[no-untyped-def]
    port = free_port()
    peer = start_storescp(port, tmp_path / "pacs")
    try:
        wait_port(port, 10, peer)
        yield port
    finally:
        stop(peer)


def _workstation(home: Path, port: int) -> Workstation:
    ws = Workstation.open(home, user="reader")
    config = load(ws.paths.config_dir)
    config.add(Node("PACS", "STORESCP", "127.0.0.1", port))
    save(ws.paths.config_dir, config)
    return ws


def test_purge_leaves_no_byte_of_the_patient(tmp_path: Path, shared_data: Path, pacs: int,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    pki = make_pki(tmp_path / "pki")
    source, uid = _patient_copy(shared_data, tmp_path, PATIENT, AccessionNumber="ACCP77001")
    home = tmp_path / "home"
    old = os.umask(0o022)
    try:
        with _workstation(home, pacs) as ws:  # the audit repository is down: the export spool keeps clear IDs
            save_repository(ws.paths.config_dir, AuditRepository(host="127.0.0.1", port=free_port(),
                                                                  ca_file=str(pki.ca_pem), retry_min_s=0.2))
            listener = ws.start_hl7_listener(port=0, host="127.0.0.1")
            _send_hl7(listener.port, [order_message("ORDP1", "ACCP77001", PATIENT["id"], name="MNBVCXZLKJ^DELTA",
                                                    reason="Mnbvcxzlkj follow-up")], tmp_path)
            ws.import_paths([source])
            assert ws.order_context([uid])[uid].accession == "ACCP77001"  # the order matched the study
            ws.open_for_reading(uid)
            ws.record_access(uid, "show")
            _sign(ws, uid, pki)
            assert _deliver(ws) == 2  # SR and encapsulated PDF reached the PACS
            delivered = datetime.now(timezone.utc)
            needles, salted = _needles(ws, PATIENT), ws.audit.patient_hash(PATIENT["id"])
            assert salted and _holding(home, needles, salted)  # the session left PHI everywhere
            assert ws.audit.db.execute("SELECT count(*) FROM spool WHERE patient_id = ?",
                                       [PATIENT["id"]]).fetchone()[0] >= 2  # the order, the import...
            with frozen_at(delivered + 31 * DAY):
                result = ws.purge()
            assert [i.study_uid for i in result.purged] == [uid] and not result.kept
            assert result.purged[0].decision.images and result.purged[0].decision.reports
            # the window's workstation stays open: its WAL files were truncated, nothing left in them
            wals = list(home.rglob("*-wal"))
            assert any(p.parent.name == "cache" for p in wals) and len(wals) >= 5, wals
            assert all(p.stat().st_size == 0 for p in wals), [(p.name, p.stat().st_size) for p in wals]
            assert _holding(home, needles, salted) == set()
            deletes = [r for r in ws.audit.records() if r.event_id == "110105"]
            assert len(deletes) == 1 and json.loads(deletes[0].detail)["command"] == "purge"
            assert "report copies kept 30 days" in json.loads(deletes[0].detail)["retention"]
        assert _holding(home, needles, salted) == set() and _modes(home) == {}
    finally:
        os.umask(old)
    assert main(["--data-dir", str(home), "audit", "verify"]) == 0  # the chain is intact after the purge
    capsys.readouterr()


def test_purge_keeps_what_the_rule_keeps(tmp_path: Path, shared_data: Path, pacs: int,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    pki = make_pki(tmp_path / "pki")
    home = tmp_path / "home"
    patients = {k: {"name": f"Keep{k}^Test", "id": f"KEEP-{k}"} for k in ("A", "B", "C", "D")}
    uids = {k: _patient_copy(shared_data, tmp_path, p) for k, p in patients.items()}
    with _workstation(home, pacs) as ws:
        save_rule(ws.paths.config_dir, RetentionRule(14, 30, 10))
        ws.import_paths([src for src, _ in uids.values()])
        uid = {k: u for k, (_, u) in uids.items()}
        _sign(ws, uid["A"], pki)  # signed and delivered
        assert _deliver(ws) == 2
        ws.draft(uid["B"], sections={"findings": "Pending comparison."})  # an unsigned draft
        _sign(ws, uid["C"], pki, node=None)  # signed, kept local: never delivered
        start = datetime.now(timezone.utc)  # D: unreported, last access = its arrival
    cli = ["--data-dir", str(home), "purge"]

    assert main([*cli, "--dry-run", "--now", (start + 20 * DAY).isoformat()]) == 0
    out = capsys.readouterr().out
    assert f"would purge {uid['A']}: images purged" in out and f"would purge {uid['D']}: purged: unreported" in out
    assert f"kept {uid['B']}: an unsigned report" in out and f"kept {uid['C']}: a signed report not delivered" in out
    with Workstation.open(home) as ws:
        assert len(ws.cache.list_studies()) == 4  # a dry run removes nothing

    assert main([*cli, "--now", (start + 5 * DAY).isoformat()]) == 0
    out = capsys.readouterr().out
    assert "0 purged, 4 kept" in out and f"kept {uid['D']}: unreported, last accessed" in out

    assert main([*cli, "--now", (start + 20 * DAY).isoformat(), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert {(i["study_uid"], i["images"], i["reports"]) for i in shown["purged"]} == {
        (uid["A"], True, False), (uid["D"], True, False)}
    with Workstation.open(home) as ws:
        assert {s.study_instance_uid for s in ws.cache.list_studies()} == {uid["B"], uid["C"]}
        kept = ws.report_store.for_study(uid["A"])  # A's images went; its signed report copy stays 30 days
        assert len(kept) == 1 and kept[0].state == "final"
        assert ws.report_store.outputs(kept[0].id) and all(Path(o.path).is_file() for o in
                                                            ws.report_store.outputs(kept[0].id))

    assert main([*cli, "--now", (start + 400 * DAY).isoformat()]) == 0
    out = capsys.readouterr().out
    assert f"purged {uid['A']}: purged: report delivered" in out and "1 purged, 2 kept" in out
    with Workstation.open(home) as ws:
        assert not ws.report_store.for_study(uid["A"])
        assert {s.study_instance_uid for s in ws.cache.list_studies()} == {uid["B"], uid["C"]}
        assert len(ws.report_store.for_study(uid["B"])) == 1 and len(ws.report_store.for_study(uid["C"])) == 1
        needles, salted = _needles(ws, patients["A"]), ws.audit.patient_hash(patients["A"]["id"])
    assert _holding(home, needles, salted) == set()  # purged in two steps (images, then report copies): gone
    assert _holding(home, _needles(ws, patients["B"]), "unused-salt")  # the kept study keeps its patient


def test_bad_rule_and_bad_now_get_clear_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    (home / "config").mkdir(parents=True)
    (home / "config" / "retention.json").write_text(json.dumps({"images_days_after_delivery": 40,
                                                                "reports_days_after_delivery": 30}))
    assert main(["--data-dir", str(home), "purge"]) == 2
    err = capsys.readouterr().err
    assert "retention.json" in err and "reports_days_after_delivery: must be at least" in err
    with pytest.raises(SystemExit):
        main(["--data-dir", str(home), "purge", "--now", "yesterday"])
    assert "not an ISO 8601 date/time" in capsys.readouterr().err


def test_daily_run_purges_in_the_background(tmp_path: Path, shared_data: Path) -> None:
    """The workstation's schedule (what the window and `telerad listen` start) runs the same use case."""
    source, uid = _patient_copy(shared_data, tmp_path, {"name": "Daily^Echo", "id": "DAILY-1"})
    home = tmp_path / "home"
    with Workstation.open(home, user="reader") as ws:
        save_rule(ws.paths.config_dir, RetentionRule(unreported_days_after_access=1))
        ws.import_paths([source])
        with frozen_at(datetime.now(timezone.utc) + 2 * DAY):
            schedule = ws.start_purge_schedule(first_delay_s=0.05, interval_s=3600)
            assert ws.start_purge_schedule() is schedule  # one per workstation
            deadline = time.monotonic() + 60
            while schedule.runs < 1 and time.monotonic() < deadline:
                time.sleep(0.05)
        assert schedule.runs == 1 and schedule.last_error is None, schedule.last_error
        assert [i.study_uid for i in schedule.last.purged] == [uid]
        assert ws.cache.get_study(uid) is None
        detail = json.loads([r for r in ws.audit.records() if r.event_id == "110105"][0].detail)
        assert detail["command"] == "purge (daily)"
    assert not schedule._thread.is_alive()  # closing the workstation stopped it
