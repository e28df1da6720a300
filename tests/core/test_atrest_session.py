"""Encryption at rest, acceptance (issue 16): a study imported (with its HL7 order over a real MLLP peer),
viewed, reported, signed and delivered to a real dcmtk storescp, with the audit repository down (the export
spool keeps the patient IDs), in an encrypted data folder: afterwards no byte of the patient's name or ID
(any case, UTF-8 / UTF-16, nor their sha256) is anywhere in the data folder, outside the audit log's salted
patient_hash column; a wrong password or another folder's key gets a clear error and changes nothing; a
purge leaves nothing either."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from app.audit.repository import AuditRepository, save_repository
from app.cli.main import main
from app.clock import frozen_at
from app.security import AuthenticationError
from app.workstation import Workstation, security
from tests.core.net_peers import free_port
from tests.core.report_fixtures import make_pki
from tests.core.test_orders_parse import order_message
from tests.core.test_phi_on_disk import _modes, _patient_copy
from tests.core.test_purge import _deliver, _holding, _needles, _send_hl7, _sign, _workstation, pacs  # noqa: F401

PATIENT = {"name": "Qwertzuiop^Encrypted", "id": "PHID-ENC-4242"}
PASSWORD = "a long enough password"


@pytest.fixture(autouse=True)
def encrypted_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TELERAD_PLAINTEXT", raising=False)


def _phi(home: Path, needles: set[bytes], salted: str) -> set[str]:
    """test_purge's search; the audit log's WAL (open log) may hold its salted patient_hash column too, but
    no clear needle."""
    found = _holding(home, needles, salted)
    wal = home / "audit.sqlite-wal"
    if "audit.sqlite-wal" in found and not any(n in wal.read_bytes() for n in needles):
        found.discard("audit.sqlite-wal")
    return found


def _signed_in(home: Path, port: int, before=None) -> Workstation:  # type: ignore[no-untyped-def]
    ws = _workstation(home, port)
    if before is not None:
        before(ws)
    if ws.accounts.any():
        ws.sign_in("alice", PASSWORD)
    else:
        security.add_user(ws, "alice", PASSWORD, "Dr Alice Example")
        ws.sign_in("alice", PASSWORD)
    return ws


def test_a_reading_session_leaves_no_phi_in_the_data_folder(tmp_path: Path, shared_data: Path, pacs: int,  # noqa: F811
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    pki = make_pki(tmp_path / "pki")
    source, uid = _patient_copy(shared_data, tmp_path, PATIENT, AccessionNumber="ACCENC4242")
    home = tmp_path / "home"
    old = os.umask(0o022)
    try:
        repository = AuditRepository(host="127.0.0.1", port=free_port(), ca_file=str(pki.ca_pem), retry_min_s=0.2)
        with _signed_in(home, pacs, lambda ws: save_repository(ws.paths.config_dir, repository)) as ws:
            listener = ws.start_hl7_listener(port=0, host="127.0.0.1")
            _send_hl7(listener.port, [order_message("ORDE1", "ACCENC4242", PATIENT["id"],
                                                    name="QWERTZUIOP^ENCRYPTED", reason="Qwertzuiop follow-up")],
                      tmp_path)
            ws.import_paths([source])
            assert ws.order_context([uid])[uid].accession == "ACCENC4242"
            ws.open_for_reading(uid)
            ws.record_access(uid, "show")
            _sign(ws, uid, pki)
            assert _deliver(ws) == 2  # the PACS received the decrypted SR and PDF
            copies = ws.export_signed_report(uid, tmp_path / "copies")  # the user's copy, decrypted
            assert {p.suffix for p in copies} >= {".pdf", ".dcm"}
            assert all(p.read_bytes()[:5] == b"%PDF-" for p in copies if p.suffix == ".pdf")
            study = ws.cache.get_study(uid)
            assert study is not None and "Qwertzuiop" in str(study.patient_name)  # readable while unlocked
            needles, salted = _needles(ws, PATIENT), ws.audit.patient_hash(PATIENT["id"])
            assert ws.audit.db.execute("SELECT count(*) FROM spool WHERE patient_id IS NOT NULL").fetchone()[0] >= 2
            assert _phi(home, needles, salted) == set()  # while open (WAL files included)
        assert _phi(home, needles, salted) == set() and _modes(home) == {}
        received = list((tmp_path / "pacs").rglob("*"))
        assert any(PATIENT["id"].encode() in p.read_bytes() for p in received if p.is_file())  # plaintext there
    finally:
        os.umask(old)

    with Workstation.open(home, user="reader") as ws:  # the wrong password: refused, audited, nothing opened
        with pytest.raises(AuthenticationError):
            ws.sign_in("alice", "not the right password")
        assert "cache" not in ws._services
    before = {p: p.stat().st_mtime_ns for p in (home / "cache" / "objects").rglob("*") if p.is_file()}
    pw = tmp_path / "wrong"
    pw.write_text("not the right password\n")
    assert main(["--data-dir", str(home), "--unlock", str(pw), "studies"]) == 1
    err = capsys.readouterr().err
    assert "wrong user name or password" in err and "Traceback" not in err
    assert {p: p.stat().st_mtime_ns for p in (home / "cache" / "objects").rglob("*") if p.is_file()} == before

    with Workstation.open(home, user="reader") as ws:
        ws.sign_in("alice", PASSWORD)
        with frozen_at(datetime.now(timezone.utc) + timedelta(days=31)):
            result = ws.purge()
        assert [i.study_uid for i in result.purged] == [uid]
    assert _phi(home, needles, salted) == set()
    assert main(["--data-dir", str(home), "audit", "verify"]) == 0  # plaintext log, no password needed
