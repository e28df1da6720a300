"""De-identified export as DICOMDIR media (pydicom FileSet; checked by dciodvfy, dcmtk's dcmgpdir and dcmmkdir,
and our own importer) and by C-STORE to a consultant's node (a real dcmtk storescp); signatures (MAC
Parameters, Digital Signatures) and original/encrypted attribute sequences never leave."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.fileset import FileSet

from app.cli.main import main
from app.config import Paths
from app.export import DeidOptions, export_deidentified
from app.network.nodes import Node, load, save
from app.reporting.signing import load_identity
from app.workstation import Workstation
from tests.core.net_peers import free_port, start_storescp, stop, wait_port
from tests.core.report_fixtures import make_pki, study_files
from tests.core.test_deid_export import SENTINELS, TEXT, UID, _all_files, _annex_e_file, _dciodvfy_errors


def _signed_study(home: Path, shared_data: Path, tmp_path: Path) -> tuple[str, str]:
    """Six CT slices and a signed report (SR + encapsulated PDF) in a new data dir: (study uid, patient ID)."""
    pki = make_pki(tmp_path / "pki")
    with Workstation(Paths(home, home / "config"), "dr.test") as ws:
        ws.import_paths(study_files(shared_data)[:6])
        uid = ws.cache.list_studies()[0].study_instance_uid
        report = ws.draft(uid, "ct-head", {"findings": "No acute finding."})
        ws.sign(report.id, load_identity(pki.p12, pki.password))
        return uid, ws.cache.get_study(uid).patient_id


def _dcmtk(*args: str, cwd: Path) -> str:
    done = subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, timeout=120)
    return f"rc={done.returncode}\n{done.stdout}{done.stderr}"


def test_signatures_and_original_attributes_never_leave(tmp_path: Path, shared_data: Path) -> None:
    image, _ = _annex_e_file(study_files(shared_data)[0], tmp_path)
    ds = pydicom.dcmread(image)
    mac = Dataset()
    mac.add_new(0x04000010, "UI", f"{UID}.90")  # MAC Calculation Transfer Syntax UID
    mac.add_new(0x04000015, "CS", TEXT[:16])  # MAC Algorithm
    ds.add_new(0x4FFE0001, "SQ", [mac])  # MAC Parameters Sequence: the Annex E table does not list it
    ds.save_as(image)
    assert b"\xfe\x4f\x01\x00" in image.read_bytes() and b"\xfa\xff\xfa\xff" in image.read_bytes()
    export_deidentified([("a", image)], tmp_path / "out", DeidOptions())
    (name, data), = _all_files(tmp_path / "out")
    out = pydicom.dcmread(tmp_path / "out" / name)
    assert not any(s in data for s in SENTINELS)
    assert all(t not in out for t in (0x4FFE0001, 0xFFFAFFFA, 0x04000500, 0x04000561))


def test_dicomdir_media_read_by_dcmtk_dciodvfy_and_our_importer(tmp_path: Path, shared_data: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    uid, patient = _signed_study(home, shared_data, tmp_path)
    media = tmp_path / "media"
    assert main(["--data-dir", str(home), "export", "--deidentify", uid, str(media), "--dicomdir"]) == 0
    assert "7 de-identified instance(s)" in capsys.readouterr().out  # 6 CT + the SR (the PDF is left out)
    assert _dciodvfy_errors(media / "DICOMDIR") == []
    fileset = FileSet(media / "DICOMDIR")
    assert len(fileset) == 7 and {i.Modality for i in fileset} == {"CT", "SR"}
    assert not any(patient.encode() in data for _, data in _all_files(media))
    # dcmtk as independent readers: dcmgpdir accepts every file (it refuses an empty required key), dcmmkdir
    # reads and updates our DICOMDIR
    copy = tmp_path / "copy"
    shutil.copytree(media, copy)
    made = _dcmtk("dcmgpdir", "+r", "--output-file", "DICOMDIR.dcmtk", "PT000000", cwd=copy)
    assert made.startswith("rc=0") and "E:" not in made and "cannot be added" not in made, made
    assert len(FileSet(copy / "DICOMDIR.dcmtk")) == 7
    updated = _dcmtk("dcmmkdir", "+U", "+r", "PT000000", cwd=copy)
    assert updated.startswith("rc=0") and "E:" not in updated, updated
    with Workstation(Paths(tmp_path / "other", tmp_path / "other" / "config"), "dr.consult") as ws:
        summary = ws.import_paths([media])
        studies = ws.cache.list_studies()
    assert summary.imported == 7 and summary.rejected == 0, summary
    assert len(studies) == 1 and studies[0].num_instances == 7 and studies[0].patient_id != patient
    assert main(["--data-dir", str(home), "export", "--deidentify", uid, str(tmp_path / "m.zip"), "--dicomdir"]) == 1
    assert "not a ZIP" in capsys.readouterr().err


def test_cstore_to_a_consultants_node(tmp_path: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    uid, patient = _signed_study(home, shared_data, tmp_path)
    port, received = free_port(), tmp_path / "consultant"
    peer = start_storescp(port, received, "CONSULT")
    before = set(Path(tempfile.gettempdir()).glob("telerad-deid-*"))
    try:
        wait_port(port, 10, peer)
        config = load(home / "config")
        config.add(Node("consultant", "CONSULT", "127.0.0.1", port))
        save(home / "config", config)
        assert main(["--data-dir", str(home), "export", "--deidentify", uid, "--to", "consultant"]) == 0
        assert "sent 7 of 7 de-identified instance(s) in 2 series to consultant" in capsys.readouterr().out
    finally:
        stop(peer)
    files = sorted(p for p in received.rglob("*") if p.is_file())
    assert len(files) == 7
    datasets = [pydicom.dcmread(p) for p in files]
    assert all(d.PatientIdentityRemoved == "YES" and d.PatientID != patient for d in datasets)
    assert not any(patient.encode() in p.read_bytes() for p in files)
    assert len({d.StudyInstanceUID for d in datasets}) == 1 and datasets[0].StudyInstanceUID != uid
    assert set(Path(tempfile.gettempdir()).glob("telerad-deid-*")) == before  # the temporary copy is gone
    assert main(["--data-dir", str(home), "export", "--deidentify", uid, "--to", "nobody"]) == 1
    assert "nobody" in capsys.readouterr().err
    assert main(["--data-dir", str(home), "export", "--deidentify", uid]) == 2
