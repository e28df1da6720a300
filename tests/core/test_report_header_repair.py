"""Our SR and encapsulated PDF are valid (0 dciodvfy errors) for every importable study of the shared data
and for deliberately damaged copies (empty Type 1/1C, wrong VRs, over-long values, bad dates/times, wrong
character sets, broken sequences); each damage is listed as a repair, and the repairs reach the report record."""

from __future__ import annotations

import io
import re
import subprocess
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

import pydicom
import pytest
from pydicom.dataset import Dataset

from app.dicom.part10 import dataset_bytes
from app.reporting.dicom_common import header_repairs
from app.reporting.dicom_pdf import build_encapsulated_pdf
from app.reporting.dicom_sr import build_sr
from app.reporting.store import ReportStore
from app.reporting.study_source import read_source, study_info
from app.store.prepare import Rejected, prepare

SKIP_SUFFIXES = {".md", ".txt", ".gz", ".json", ".png", ".xml"}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _importable_studies(shared_data: Path, out: Path) -> dict[str, Path]:
    """One instance per study, as the cache stores it (``prepare``'s canonical bytes)."""
    studies: dict[str, Path] = {}
    for path in sorted(p for p in shared_data.rglob("*") if p.is_file()):
        if "LICENSES" in path.parts or path.suffix.lower() in SKIP_SUFFIXES:
            continue
        try:
            prepared = prepare(path.read_bytes())
        except Rejected:
            continue
        uid = prepared.header.study_instance_uid
        if uid not in studies:
            target = out / f"study{len(studies)}.dcm"
            target.write_bytes(prepared.content)
            studies[uid] = target
    return studies


def _set(keyword: str, vr: str, value: object) -> Callable[[Dataset], None]:
    def damage(ds: Dataset) -> None:
        if keyword in ds:
            del ds[keyword]
        ds.add_new(keyword, vr, value)
    return damage


def _raw(keyword: str, vr: str, placeholder: str, raw: bytes) -> Callable[[Dataset], list[tuple[bytes, bytes]]]:
    """A value pydicom refuses to hold (e.g. DS "abc"): written as ``placeholder``, then patched in the bytes."""
    def damage(ds: Dataset) -> list[tuple[bytes, bytes]]:
        _set(keyword, vr, placeholder)(ds)
        return [(placeholder.encode(), raw)]
    return damage


def _code_item(**values: str) -> Dataset:
    item = Dataset()
    for k, v in values.items():
        setattr(item, k, v)
    return item


def _charset(term: str, name: bytes) -> Callable[[Dataset], None]:
    def damage(ds: Dataset) -> None:
        ds.SpecificCharacterSet = term
        ds["PatientName"].value = name
    return damage


def _many(*damages: Callable[[Dataset], None]) -> Callable[[Dataset], None]:
    def damage(ds: Dataset) -> None:
        for d in damages:
            d(ds)
    return damage


def _delete(*keywords: str) -> Callable[[Dataset], None]:
    def damage(ds: Dataset) -> None:
        for k in keywords:
            if k in ds:
                del ds[k]
    return damage


# name -> (damage, a keyword its repair must name)
DAMAGES: dict[str, tuple[Callable[[Dataset], object], str]] = {
    "identity-removed-empty-method": (_many(_set("PatientIdentityRemoved", "CS", "YES"),
                                            _set("DeidentificationMethod", "LO", "")), "DeidentificationMethod"),
    "identity-removed-no-method": (_many(_set("PatientIdentityRemoved", "CS", "YES"),
                                         _delete("DeidentificationMethod", "DeidentificationMethodCodeSequence")),
                                   "DeidentificationMethod"),
    "identity-removed-empty-code-seq": (_many(_set("PatientIdentityRemoved", "CS", "YES"),
                                              _set("DeidentificationMethodCodeSequence", "SQ", [])),
                                        "DeidentificationMethodCodeSequence"),
    "empty-1c-without-condition": (_many(_set("PatientIdentityRemoved", "CS", "NO"),
                                         _set("DeidentificationMethod", "LO", "")), "DeidentificationMethod"),
    "identity-removed-bad-enum": (_set("PatientIdentityRemoved", "CS", "Y"), "PatientIdentityRemoved"),
    "over-long-ids": (_many(_set("PatientID", "LO", "P" * 80), _set("StudyID", "SH", "S" * 30),
                            _set("AccessionNumber", "SH", "A" * 20)), "PatientID"),
    "over-long-name": (_set("PatientName", "PN", "Doe" * 30 + "^John^^^^Extra^More"), "PatientName"),
    "control-characters": (_set("StudyDescription", "LO", "HEAD\x07\x1b[0m CT\r\n"), "StudyDescription"),
    "sex-as-lo": (_set("PatientSex", "LO", "MALE"), "PatientSex"),
    "age-as-lo": (_set("PatientAge", "LO", "45"), "PatientAge"),
    "weight-not-a-number": (_raw("PatientWeight", "DS", "71.25", b"ab,c "), "PatientWeight"),
    "weight-too-many-digits": (_set("PatientWeight", "DS", "71.12345678901234"), "PatientWeight"),
    "size-as-is-not-a-number": (_raw("PatientSize", "DS", "1.625", b"1A2B "), "PatientSize"),
    "date-with-dashes-as-lo": (_set("StudyDate", "LO", "2001-01-02"), "StudyDate"),
    "time-with-colons": (_set("StudyTime", "TM", "14:04:38"), "StudyTime"),
    "impossible-birth-date": (_set("PatientBirthDate", "DA", "19991332"), "PatientBirthDate"),
    "pregnancy-out-of-range": (_set("PregnancyStatus", "US", 7), "PregnancyStatus"),
    "several-ids-in-vm1": (_set("PatientID", "LO", "A\\B"), "PatientID"),
    "unknown-charset-term": (_charset("LATIN1", "M\xfcller^J\xfcrgen".encode("latin-1")), "SpecificCharacterSet"),
    "latin1-under-default": (_charset("", "M\xfcller^J\xfcrgen".encode("latin-1")), "SpecificCharacterSet"),
    "invalid-utf8-under-192": (_charset("ISO_IR 192", "M\xfcller^J\xfcrgen".encode("latin-1")), ""),
    "iso2022-escapes-under-100": (_charset("ISO_IR 100", b"\x1b$BF|K\\\x1b(B^Taro"), ""),
    "code-item-without-meaning": (_set("ProcedureCodeSequence", "SQ",
                                       [_code_item(CodeValue="123", CodingSchemeDesignator="99X")]),
                                  "ProcedureCodeSequence"),
    "empty-sequence-item": (_set("OtherPatientIDsSequence", "SQ", [Dataset()]), "OtherPatientIDsSequence"),
    "referenced-study-without-uids": (_set("ReferencedStudySequence", "SQ", [_code_item(ReferencedSOPClassUID="")]),
                                      "ReferencedStudySequence"),
    "type2-missing": (_delete("PatientName", "PatientID", "StudyID", "AccessionNumber", "StudyDate",
                              "ReferringPhysicianName"), ""),
}


def _damaged(base: Path, name: str, out: Path) -> Path:
    damage = DAMAGES[name][0]
    ds = pydicom.dcmread(base)
    patches = damage(ds) or []
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    data = buffer.getvalue()
    for old, new in patches:
        assert data.count(old) == 1
        data = data.replace(old, new)
    target = out / f"damaged-{name}.dcm"
    target.write_bytes(prepare(data).content)  # the importer accepts it: it reaches the cache
    return target


def _build(source: Path, out: Path) -> list[Path]:
    """SR and encapsulated PDF built as ``sign_report`` builds them (read_source, build_sr, build_encapsulated_pdf)."""
    from pydicom.uid import generate_uid

    src = read_source(source)
    store = ReportStore(out / f"{source.stem}.sqlite")
    draft = store.create_draft(study_info(src))
    store.update_section(draft.id, "findings", "No acute abnormality.")
    signed = store.signed_version(draft.id, "Example^Alice^^Dr", "2026-01-02T10:00:00+00:00")
    store.close()
    sr = build_sr(signed, src, generate_uid(), generate_uid(), 9001, "Telerad Reading", "Telerad Hospital")
    epdf = build_encapsulated_pdf(PDF, signed, src, generate_uid(), generate_uid(), 9002, "Telerad Hospital")
    paths = [out / f"{source.stem}-sr.dcm", out / f"{source.stem}-pdf.dcm"]
    for path, ds in zip(paths, (sr, epdf)):
        path.write_bytes(dataset_bytes(ds))
    return paths


def _dciodvfy(path: Path) -> tuple[list[str], list[str]]:
    out = subprocess.run(["dciodvfy", str(path)], capture_output=True, timeout=60)
    lines = (out.stdout + out.stderr).decode("utf-8", "replace").splitlines()
    return [x for x in lines if x.startswith("Error")], [x for x in lines if x.startswith("Warning")]


@pytest.fixture(scope="module")
def sources(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("sources")
    studies = _importable_studies(shared_data, folder)
    assert len(studies) >= 40, f"only {len(studies)} importable studies in {shared_data}"
    base = next(p for p in studies.values() if pydicom.dcmread(p, stop_before_pixels=True).get("Modality") == "CT")
    found = {f"shared:{uid}": p for uid, p in studies.items()}
    found.update({f"damaged:{n}": _damaged(base, n, folder) for n in DAMAGES})
    found["base"] = base
    return found


def test_every_damage_is_repaired_and_listed(sources: dict[str, Path]) -> None:
    assert header_repairs(sources["base"]) == []  # nothing is "repaired" in a valid header
    for name, (_, keyword) in DAMAGES.items():
        repairs = header_repairs(sources[f"damaged:{name}"])
        if keyword:
            assert any(r.startswith(keyword) for r in repairs), (name, repairs)
        assert all("M\xfcller" not in r and "PPPP" not in r for r in repairs), "a repair line carries a value"


def test_objects_pass_dciodvfy_for_every_source(sources: dict[str, Path], tmp_path: Path) -> None:
    built = {name: _build(path, tmp_path) for name, path in sources.items() if name != "base"}
    jobs = [(name, path) for name, paths in built.items() for path in paths]
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda job: _dciodvfy(job[1]), jobs))
    errors = {f"{name} {path.name}": errs for (name, path), (errs, _) in zip(jobs, results) if errs}
    warnings = Counter(re.sub(r"<[^>]*>|\[[^]]*\]", "..", w)[:110] for _, warns in results for w in warns)
    print(f"\n{len(jobs)} objects from {len(built)} sources; warnings: {dict(warnings)}")
    assert errors == {}


def test_repairs_are_recorded_with_the_report(sources: dict[str, Path], tmp_path: Path) -> None:
    source = sources["damaged:identity-removed-empty-method"]
    store = ReportStore(tmp_path / "reports.sqlite")
    draft = store.create_draft(study_info(read_source(source)))
    store.record_repairs(draft.id, header_repairs(source))
    assert any(r.startswith("DeidentificationMethod") for r in store.repairs(draft.id))
    store.close()
