"""Reports can be signed for every bundled demo study, whatever its header defects
(no Specific Character Set, no Patient's Sex, birth date "00000000"), and the outputs stay valid."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from app.config import resources_dir
from tests.core.report_fixtures import make_pki

SAMPLES = resources_dir() / "samples"
SOURCES = {
    "cr-no-charset": SAMPLES / "cr-chest" / "RG3_J2KR.dcm",
    "mr-no-sex": SAMPLES / "mr-enhanced" / "IM-0001-0170-0001.dcm",
    "mg-zero-birth-date": SAMPLES / "mg-screening" / "GH133.dcm",
    "us": SAMPLES / "us-abdomen" / "US1_UNCR.dcm",
}


def _errors(path: Path) -> list[str]:
    out = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=60)
    return [line for line in (out.stdout + out.stderr).splitlines() if line.startswith("Error")]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_sign_report_for_demo_study(name: str, tmp_path: Path, pki) -> None:  # type: ignore[no-untyped-def]
    import pydicom

    from app.reporting.signing import load_identity
    from app.reporting.store import ReportStore
    from app.reporting.templates import load_templates
    from app.reporting.workflow import report_db_path, report_files_dir, sign_report, start_draft

    source = SOURCES[name]
    store = ReportStore(report_db_path(tmp_path))
    report = start_draft(store, source, load_templates())
    store.update_section(report.id, "findings", "No acute abnormality.")
    signed = sign_report(store, report.id, load_identity(pki.p12, pki.password), source, report_files_dir(tmp_path))
    sr = pydicom.dcmread(signed.sr)
    original = pydicom.dcmread(source, stop_before_pixels=True)
    assert sr.VerificationFlag == "VERIFIED" and sr.StudyInstanceUID == original.StudyInstanceUID
    assert sr.PatientID == original.PatientID
    assert _errors(signed.sr) == [] and _errors(signed.encapsulated_pdf) == []
