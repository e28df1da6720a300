"""De-identified export (PS3.15 Annex E Basic Profile and options): every Annex E attribute of a test file
holds a sentinel; after export no sentinel is left in any byte or file name, references between the
exported objects resolve, the objects pass dciodvfy, burned-in annotation blocks unless confirmed."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import zipfile
from pathlib import Path
from typing import Any, Iterator

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.datadict import dictionary_VR

from app.config import Paths
from app.export import DeidentificationBlocked, DeidOptions, export_deidentified
from app.export.deid import TABLE_EDITION
from app.workstation import Workstation, WorkstationError
from tests.core.report_fixtures import make_pki, study_files

TEXT = "ZQXSENTINEL"
UID = "1.2.999.7777"
DATE = "18870505"
SENTINELS = [TEXT.encode(), UID.encode(), DATE.encode()]


def _dciodvfy_errors(path: Path) -> list[str]:
    out = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=60)
    return [line for line in (out.stdout + out.stderr).splitlines() if line.startswith("Error")]


def _value(vr: str, n: int) -> Any:
    """A sentinel of the VR (None for numeric VRs: nothing to find in bytes)."""
    if vr == "UI":
        return f"{UID}.{n}"
    if vr in ("DA",):
        return DATE
    if vr == "DT":
        return DATE + "120000"
    if vr in ("AE", "CS", "SH", "LO", "PN", "LT", "ST", "UT", "UC", "UR"):
        return TEXT
    if vr in ("OB", "OW", "UN"):
        return (TEXT + " ").encode()
    return None


def _sentinel_item(n: int) -> Dataset:
    item = Dataset()
    item.PatientName = TEXT
    item.ReferencedSOPInstanceUID = f"{UID}.{n}.1"
    item.add_new(0x00291010, "LO", TEXT)  # private, without its creator
    nested = Dataset()
    nested.PatientID = TEXT
    item.AnatomicRegionSequence = [nested]  # a sequence the table does not list: still cleaned
    return item


def _annex_e_file(source: Path, folder: Path) -> tuple[Path, int]:
    """``source`` with every (single-tag) Annex E attribute of the table set to a sentinel; (file, count)."""
    import importlib

    table = importlib.import_module(f"dicomanonymizer.dicom_anonymization_databases.{TABLE_EDITION}")
    ds = pydicom.dcmread(source)
    count = 0
    for n, entry in enumerate(table.ALL_TAGS):
        if len(entry) != 2 or entry[0] in (0x0000, 0x0002) or entry == (0x7FE0, 0x0010):
            continue
        tag = entry[0] << 16 | entry[1]
        try:
            vr = dictionary_VR(tag).split(" ")[0]
        except KeyError:
            continue
        if vr == "SQ":
            ds.add_new(tag, "SQ", [_sentinel_item(n)])
        elif (value := _value(vr, n)) is not None:
            ds.add_new(tag, vr, value)
        else:
            continue
        count += 1
    block = ds.private_block(0x0011, f"{TEXT} CREATOR", create=True)
    block.add_new(0x01, "LO", TEXT)
    ds.SOPInstanceUID = f"{UID}.1.1"
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = f"{UID}.2", f"{UID}.3"
    ds.FrameOfReferenceUID = f"{UID}.4"
    path = folder / f"{TEXT}-image.dcm"
    ds.save_as(path)
    return path, count


def _referencing(image: Path, folder: Path) -> Path:
    """A second image whose Source and Referenced Image Sequences point at ``image``."""
    ds = pydicom.dcmread(image)
    ref = Dataset()
    ref.ReferencedSOPClassUID, ref.ReferencedSOPInstanceUID = ds.SOPClassUID, ds.SOPInstanceUID
    ds.SOPInstanceUID = f"{UID}.1.2"
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.SourceImageSequence = [ref]
    ds.ReferencedImageSequence = [ref]
    path = folder / f"{TEXT}-derived.dcm"
    ds.save_as(path)
    return path


def _all_files(root: Path) -> Iterator[tuple[str, bytes]]:
    if root.suffix == ".zip":
        with zipfile.ZipFile(root) as z:
            for name in z.namelist():
                yield name, z.read(name)
    else:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                yield str(path.relative_to(root)), path.read_bytes()


@pytest.mark.parametrize("dest_name", ["second-opinion", "second-opinion.zip"])
def test_no_sentinel_survives_in_bytes_or_names_and_references_resolve(tmp_path: Path, shared_data: Path,
                                                                       dest_name: str) -> None:
    source = study_files(shared_data)[0]
    image, count = _annex_e_file(source, tmp_path)
    derived = _referencing(image, tmp_path)
    assert count > 400 and all(s in image.read_bytes() for s in SENTINELS)  # the test file is really seeded
    dest = tmp_path / dest_name
    result = export_deidentified([("a", image), ("a", derived)], dest, DeidOptions())
    files = list(_all_files(dest))
    assert result.files == 2 and len(files) == 2
    for name, data in files:
        assert TEXT not in name and not any(s in data for s in SENTINELS), name
    out = [pydicom.dcmread(io.BytesIO(data)) for _, data in files]
    first, second = sorted(out, key=lambda d: "SourceImageSequence" in d)
    assert second.SourceImageSequence[0].ReferencedSOPInstanceUID == first.SOPInstanceUID
    assert second.ReferencedImageSequence[0].ReferencedSOPInstanceUID == first.SOPInstanceUID
    assert first.StudyInstanceUID == second.StudyInstanceUID and first.SeriesInstanceUID == second.SeriesInstanceUID
    assert first.file_meta.MediaStorageSOPInstanceUID == first.SOPInstanceUID
    assert first.PatientIdentityRemoved == "YES" and first.LongitudinalTemporalInformationModified == "REMOVED"
    assert first.DeidentificationMethodCodeSequence[0].CodeValue == "113100"
    assert not any(e.tag.is_private for e in first.iterall())


def test_options_shift_dates_and_keep_the_device(tmp_path: Path, shared_data: Path) -> None:
    source = study_files(shared_data)[0]
    original = pydicom.dcmread(source, stop_before_pixels=True)
    options = DeidOptions(retain_longitudinal=True, retain_device_identity=True, clean_descriptors=True,
                          date_shift_days=-400)
    export_deidentified([("a", source)], tmp_path / "out", options)
    ds = pydicom.dcmread(next((tmp_path / "out").rglob("*.dcm")))
    moved = dt.datetime.strptime(ds.StudyDate, "%Y%m%d") - dt.datetime.strptime(original.StudyDate, "%Y%m%d")
    assert moved.days == -400 and ds.LongitudinalTemporalInformationModified == "MODIFIED"
    assert ds.get("StationName") == original.get("StationName")
    # Clean Descriptors: the description stays, the patient's name ("HEAD" in this phantom) goes
    assert "TRAUMA/PLAIN" in ds.StudyDescription and str(original.PatientName) not in ds.StudyDescription
    assert [c.CodeValue for c in ds.DeidentificationMethodCodeSequence] == ["113100", "113107", "113109", "113105"]
    assert ds.PatientName != original.PatientName and ds.PatientID != original.PatientID


def test_burned_in_annotation_blocks_unless_confirmed(tmp_path: Path, shared_data: Path) -> None:
    ds = pydicom.dcmread(study_files(shared_data)[0])
    ds.BurnedInAnnotation = "YES"
    path = tmp_path / "burned.dcm"
    ds.save_as(path)
    with pytest.raises(DeidentificationBlocked, match="Burned In Annotation"):
        export_deidentified([("a", path)], tmp_path / "out", DeidOptions())
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out*"))
    export_deidentified([("a", path)], tmp_path / "out", DeidOptions(confirm_burned_in=True))
    assert len(list((tmp_path / "out").rglob("*.dcm"))) == 1


def test_signed_study_exports_with_sr_references_resolving_and_dciodvfy_clean(
        tmp_path: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from app.audit import events
    from app.cli.main import main
    from app.reporting.signing import load_identity

    home = tmp_path / "home"
    pki = make_pki(tmp_path / "pki")
    with Workstation(Paths(home, home / "config"), "dr.test") as ws:
        ws.import_paths(study_files(shared_data)[:6])
        uid = ws.cache.list_studies()[0].study_instance_uid
        patient = ws.cache.get_study(uid).patient_id
        report = ws.draft(uid, "ct-head", {"findings": "No acute finding."})
        ws.sign(report.id, load_identity(pki.p12, pki.password))
    dest = tmp_path / "consult.zip"
    assert main(["--data-dir", str(home), "export", "--deidentify", uid, str(dest)]) == 0
    assert "de-identified instance(s)" in capsys.readouterr().out
    unpacked = tmp_path / "unpacked"
    zipfile.ZipFile(dest).extractall(unpacked)
    paths = sorted(unpacked.rglob("*.dcm"))
    datasets = {p: pydicom.dcmread(p) for p in paths}
    sops = {str(d.SOPInstanceUID) for d in datasets.values()}
    reports = [d for d in datasets.values() if d.Modality == "SR"]
    refs = {str(item.ReferencedSOPInstanceUID) for d in reports for e in d.iterall() if e.VR == "SQ"
            for item in e.value if "ReferencedSOPInstanceUID" in item}
    assert reports and refs and refs <= sops  # the SR's content and evidence point at exported images
    for p in paths:
        assert patient.encode() not in p.read_bytes()
    checked = [p for p in paths if str(datasets[p].Modality) != "CT"] + [next(p for p in paths if datasets[p].Modality == "CT")]
    assert {str(p.relative_to(unpacked)): _dciodvfy_errors(p) for p in checked} == {
        str(p.relative_to(unpacked)): [] for p in checked}
    assert main(["--data-dir", str(home), "export", "--deidentify", uid, str(dest)]) == 1  # exists: refused
    assert "already exists" in capsys.readouterr().err
    with Workstation(Paths(home, home / "config"), "dr.test") as ws:
        exports = [r for r in ws.audit.records() if r.event_id == events.EXPORT.code]
        with pytest.raises(WorkstationError, match="not in the local cache"):
            ws.export_deidentified("1.2.3.4", tmp_path / "x", DeidOptions())
    assert exports and exports[-1].study_uid == uid and exports[-1].outcome == 0
