"""PHI on disk: a whole session under umask 022 (import, open, draft, sign, receive one C-STORE from dcmtk's
storescu) leaves every directory 0700 and every file 0600 (0400 for signed objects); `telerad delete` removes
a study's images, drafts and unsigned report files, keeps its signed reports (retention rule, said in its
output), and leaves no byte of the patient's name or ID elsewhere in the data dir (audit log included: it
keeps salted hashes of patient IDs only)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pydicom
import pytest
from pydicom.uid import generate_uid

from app.cli.main import main
from app.reporting.signing import load_identity
from app.workstation.workstation import Workstation
from tests.core.net_peers import dcmtk, free_port, start_storescp, stop, wait_port
from tests.core.report_fixtures import make_pki

PEER_AET = "STORESCU"
SIGNED = {"name": "Qwertyuiop^Alfa", "id": "PHIA-90210"}  # imported, reported and signed, then deleted
UNSIGNED = {"name": "Zxcvbnmlkj^Bravo", "id": "PHIB-31337"}  # imported, drafted, then deleted; one more
# instance of it arrives by C-STORE (unsolicited: quarantined with its study)


def _patient_copy(shared_data: Path, folder: Path, patient: dict[str, str], study_uid: str = "",
                  **extra: str) -> tuple[Path, str]:
    ds = pydicom.dcmread(shared_data / "ct" / "single" / "CT_small.dcm")
    ds.PatientName, ds.PatientID = patient["name"], patient["id"]
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid or generate_uid(), generate_uid()
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    for keyword, value in extra.items():
        setattr(ds, keyword, value)
    path = folder / f"{patient['id']}-{ds.SOPInstanceUID}.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path, str(ds.StudyInstanceUID)


def _modes(home: Path) -> dict[str, str]:
    """Every path under ``home`` whose mode is not owner-only: dirs 0700, files 0600 (0400 read-only)."""
    bad = {}
    for root, dirs, files in os.walk(home):
        for name in dirs:
            mode = stat.S_IMODE(os.lstat(Path(root, name)).st_mode)
            if mode != 0o700:
                bad[str(Path(root, name).relative_to(home))] = oct(mode)
        for name in files:
            mode = stat.S_IMODE(os.lstat(Path(root, name)).st_mode)
            if mode not in (0o600, 0o400):
                bad[str(Path(root, name).relative_to(home))] = oct(mode)
    return bad


def _holding(home: Path, patient: dict[str, str]) -> set[str]:
    """Files under ``home`` holding the patient's name or ID (family name in any case, as text or UTF-16)."""
    family = patient["name"].split("^")[0]
    needles = {s.encode(enc) for s in (family, family.upper(), family.lower(), patient["id"], patient["id"].lower())
               for enc in ("utf-8", "utf-16-le")}
    found = set()
    for path in home.rglob("*"):
        if path.is_file() and any(n in path.read_bytes() for n in needles):
            found.add(str(path.relative_to(home)))
    return found


def _receive(ws: Workstation, instance: Path) -> None:
    """Our Storage SCP (the session's listener) receives ``instance`` from dcmtk's storescu."""
    from app.network.nodes import Node, load, save
    from app.network.session import NetworkSession

    config = load(ws.paths.config_dir)
    config.add(Node("modality", PEER_AET, "127.0.0.1", 104))
    save(ws.paths.config_dir, config)
    port = free_port()
    session = NetworkSession(ws.paths.config_dir, ws.cache, ws.audit, ws.user, listen=True, port=port)
    try:
        state = session.start()
        assert state.listening, state.scp_error
        sent = dcmtk("storescu", "-v", "-aet", PEER_AET, "-aec", "TELERAD", "127.0.0.1", str(port), str(instance),
                     timeout=60)
        assert sent.returncode == 0 and "Success" in sent.stdout + sent.stderr, sent.stdout + sent.stderr
    finally:
        session.shutdown()


def _key_image(ws: Workstation, study_uid: str) -> None:
    """What the window's "send key images" leaves: a PNG of the instance, named by its content hash (its
    bytes here: the patient's ID, so the PHI check sees whether it is gone)."""
    from app.config import private_dir

    series = ws.cache.list_series(study_uid)[0]
    instance = ws.cache.list_instances(series.series_instance_uid)[0]
    png = private_dir(ws.paths.key_images) / f"{instance.sha256[:16]}-1.png"
    with os.fdopen(os.open(png, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as fh:
        fh.write(b"\x89PNG fake " + UNSIGNED["id"].encode())


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> dict:
    base = tmp_path_factory.mktemp("phi")
    pki = make_pki(base / "pki")
    signed_src, signed_uid = _patient_copy(shared_data, base, SIGNED, PatientIdentityRemoved="YES",
                                           DeidentificationMethod="")
    unsigned_src, unsigned_uid = _patient_copy(shared_data, base, UNSIGNED)
    pushed, _ = _patient_copy(shared_data, base, UNSIGNED, unsigned_uid)
    home = base / "home"
    old = os.umask(0o022)
    try:
        with Workstation.open(home, user="reader") as ws:
            ws.import_paths([signed_src])
            ws.open_for_reading(signed_uid)
            report = ws.draft(signed_uid, sections={"findings": "No acute abnormality."})
            signed = ws.sign(report.id, load_identity(pki.p12, pki.password))
            ws.import_paths([unsigned_src])
            _receive(ws, pushed)
            ws.draft(unsigned_uid, sections={"findings": "Pending comparison."})
            _key_image(ws, unsigned_uid)
        modes_after_session = _modes(home)
    finally:
        os.umask(old)
    return {"home": home, "signed_uid": signed_uid, "unsigned_uid": unsigned_uid, "signed": signed,
            "modes": modes_after_session}


def test_session_leaves_only_owner_only_files(session: dict) -> None:
    home = session["home"]
    assert session["modes"] == {}
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE(session["signed"].sr.stat().st_mode) == 0o400
    assert len(list((home / "cache" / "quarantine").rglob("*"))) >= 1  # the C-STORE was received


def test_signed_report_records_its_header_repairs(session: dict, capsys: pytest.CaptureFixture[str]) -> None:
    home, uid = session["home"], session["signed_uid"]
    assert main(["--data-dir", str(home), "report", "show", uid, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert any(r.startswith("DeidentificationMethod") for r in shown[0]["header_repairs"]), shown[0]
    assert main(["--data-dir", str(home), "report", "show", uid]) == 0
    assert "source header repaired: DeidentificationMethod" in capsys.readouterr().out


def test_delete_keeps_signed_reports_and_removes_every_other_trace(session: dict,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    home = session["home"]
    signed_folder = str(session["signed"].sr.parent.relative_to(home))
    assert _holding(home, UNSIGNED) and _holding(home, SIGNED)

    assert main(["--data-dir", str(home), "delete", session["unsigned_uid"]]) == 0
    out = capsys.readouterr().out
    assert "its images, 1 unsigned report" in out and "kept" not in out
    assert _holding(home, UNSIGNED) == set()  # cache, index, reports DB, worklist, audit log: no byte left

    assert main(["--data-dir", str(home), "delete", session["signed_uid"]]) == 0
    out = capsys.readouterr().out
    assert ("kept 1 signed report with its PDF and DICOM objects (medico-legal retention: 'retention' "
            "(reporting.json) setting is 'keep')") in out
    left = _holding(home, SIGNED)
    assert left and all(p.startswith(signed_folder) or p == "reports.sqlite" for p in left), left
    assert session["signed"].sr.is_file() and session["signed"].pdf.is_file()
    assert main(["--data-dir", str(home), "delete", session["signed_uid"]]) == 0  # the kept report is still known
    assert "kept 1 signed report" in capsys.readouterr().out
    assert _modes(home) == {}


def test_delivered_rule_removes_signed_reports_once_sent(tmp_path: Path, shared_data: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """reporting.json "retention": "delivered": a signed report stays while its delivery is pending and goes
    with a second delete once the PACS (dcmtk storescp) has it."""
    from app.network.nodes import Node, load, save
    from app.reporting.settings import ReportingSettings, save_settings

    patient = {"name": "Plokijuhyg^Charlie", "id": "PHIC-4242"}
    pki = make_pki(tmp_path / "pki")
    source, uid = _patient_copy(shared_data, tmp_path, patient)
    home, port = tmp_path / "home", free_port()
    peer = start_storescp(port, tmp_path / "pacs")
    old = os.umask(0o022)
    try:
        wait_port(port, 10, peer)
        with Workstation.open(home, user="reader") as ws:
            config = load(ws.paths.config_dir)
            config.add(Node("PACS", "STORESCP", "127.0.0.1", port))
            save(ws.paths.config_dir, config)
            save_settings(ws.paths.config_dir, ReportingSettings(retention="delivered"))
            ws.import_paths([source])
            report = ws.draft(uid, sections={"findings": "No acute abnormality."})
            ws.sign(report.id, load_identity(pki.p12, pki.password), node="PACS")
        assert main(["--data-dir", str(home), "delete", uid]) == 0
        out = capsys.readouterr().out
        assert "kept 1 signed report" in out and "not every delivery of them was sent yet" in out
        with Workstation.open(home, user="reader") as ws:
            from app.reporting.runner import run_outbox

            ctx = ws.reporting(with_cache=False)
            assert run_outbox(ctx.outbox(), ctx.home).sent == 2  # SR and encapsulated PDF
    finally:
        os.umask(old)
        stop(peer)
    assert main(["--data-dir", str(home), "delete", uid]) == 0
    out = capsys.readouterr().out
    assert "1 delivered signed report" in out and "kept" not in out
    assert _holding(home, patient) == set() and _modes(home) == {}
