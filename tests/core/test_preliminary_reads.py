"""Preliminary and final reads through `telerad report sign`: a night read signed as preliminary (SR
UNVERIFIED, ORU result status P, the study preliminary and unclaimed) is finalised by a second radiologist who
records the discrepancy; both SRs pass dciodvfy and the final one references the preliminary one."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import hl7
import pydicom

from tests.core.report_fixtures import make_pki, study_files
from tests.core.test_report_cli import telerad


def _dciodvfy_errors(path: Path) -> list[str]:
    out = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=60)
    return [line for line in (out.stdout + out.stderr).splitlines() if line.startswith("Error")]


def _outputs(shown: dict) -> dict[str, Path]:
    """role -> file of the signed outputs (preliminary ones under their own folder)."""
    found = {}
    for p in map(Path, shown["outputs"]):
        prefix = "preliminary_" if p.parent.name == "preliminary" else ""
        found[prefix + {"sr.dcm": "sr", "report.hl7": "hl7", "report.pdf": "pdf", "report-pdf.dcm": "epdf"}[p.name]] = p
    return found


def _oru_status(path: Path) -> tuple[str, set[str]]:
    message = hl7.parse(path.read_bytes().decode("utf-8"))
    obr = [s for s in message if str(s[0]) == "OBR"][0]
    return str(obr(25)), {str(s(11)) for s in message if str(s[0]) == "OBX"}


def test_a_preliminary_read_is_finalised_by_another_radiologist(tmp_path: Path, shared_data: Path) -> None:
    home = tmp_path / "home"
    telerad(home, "import", *map(str, study_files(shared_data)[:12]))
    uid = json.loads(telerad(home, "studies", "--json").stdout)[0]["study_instance_uid"]
    (home / "config").mkdir(exist_ok=True)
    (home / "config" / "reporting.json").write_text(json.dumps({"hl7": {"host": "127.0.0.1", "port": 9}}))
    night, day = make_pki(tmp_path / "night", "Dr Nora Night"), make_pki(tmp_path / "day", "Dr Dan Day")
    for pki in (night, day):
        (pki.p12.parent / "pw").write_bytes(pki.password)
    text = tmp_path / "report.txt"
    text.write_text("Findings:\nNo haemorrhage. Old left MCA infarct.\n\nImpression:\nNo acute finding.\n")
    telerad(home, "worklist", "open", uid)
    telerad(home, "report", "draft", uid, "--template", "ct-head", "--text-file", str(text))

    def sign(pki, *extra: str, check: bool = True):  # type: ignore[no-untyped-def]
        return telerad(home, "report", "sign", uid, "--p12", str(pki.p12), "--password-file",
                       str(pki.p12.parent / "pw"), *extra, check=check)

    assert "signed preliminary read" in sign(night, "--preliminary").stdout
    [shown] = json.loads(telerad(home, "report", "show", uid, "--json").stdout)
    assert shown["state"] == "preliminary" and shown["preliminary_signer"] == "Night^Nora^^Dr"
    files = _outputs(shown)
    preliminary_sr = pydicom.dcmread(files["preliminary_sr"])
    assert preliminary_sr.VerificationFlag == "UNVERIFIED" and "VerifyingObserverSequence" not in preliminary_sr
    assert _dciodvfy_errors(files["preliminary_sr"]) == []
    assert _oru_status(files["preliminary_hl7"]) == ("P", {"P"})
    [row] = json.loads(telerad(home, "worklist", "--json").stdout)
    assert (row["status"], row["claimed_by"], row["report_status"]) == ("preliminary", None, "preliminary")

    same = sign(night, "--review", "none", check=False)
    assert same.returncode == 1 and "another radiologist" in same.stderr
    unreviewed = sign(day, check=False)
    assert unreviewed.returncode == 1 and "--review" in unreviewed.stderr and "Traceback" not in unreviewed.stderr
    signed = sign(day, "--review", "minor", "--review-note", "old infarct not mentioned at night").stdout
    assert "minor discrepancy" in signed

    [final] = json.loads(telerad(home, "report", "show", uid, "--json").stdout)
    assert final["state"] == "final" and final["signer"] == "Day^Dan^^Dr"
    assert (final["review"], final["reviewed_by"], final["review_note"]) == (
        "minor", "Day^Dan^^Dr", "old infarct not mentioned at night")
    files = _outputs(final)
    final_sr = pydicom.dcmread(files["sr"])
    assert final_sr.VerificationFlag == "VERIFIED" and _dciodvfy_errors(files["sr"]) == []
    referenced = [i.ReferencedSOPInstanceUID for study in final_sr.PredecessorDocumentsSequence
                  for series in study.ReferencedSeriesSequence for i in series.ReferencedSOPSequence]
    assert referenced == [preliminary_sr.SOPInstanceUID]
    assert _oru_status(files["hl7"]) == ("F", {"F"})
    [row] = json.loads(telerad(home, "worklist", "--json").stdout)
    assert (row["status"], row["report_status"]) == ("final", "final")
    [study] = json.loads(telerad(home, "studies", "--json").stdout)
    assert {"CT", "SR", "DOC"} <= set(study["modalities"])  # both reads' objects are part of the study
