"""Study cache: store rules (duplicate, conflict, preamble, validation), listing, deletion."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest

from app.store import SCHEMA_VERSION, Cache, CacheLockedError, NotACacheError
from app.store.schema import MIGRATIONS, schema_version
from tests.core._store_factory import make_dataset, make_file, to_bytes


@pytest.fixture()
def cache(tmp_path: Path) -> Iterator[Cache]:
    c = Cache.open(tmp_path / "cache")
    yield c
    c.close()


def _all_files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_open_creates_layout_and_schema(cache: Cache) -> None:
    for sub in ("objects", "quarantine", "tmp"):
        assert (cache.root / sub).is_dir()
    assert SCHEMA_VERSION == len(MIGRATIONS) >= 2
    assert schema_version(cache.db) == SCHEMA_VERSION
    assert cache.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert cache.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_second_open_is_refused_while_locked(cache: Cache) -> None:
    with pytest.raises(CacheLockedError):
        Cache.open(cache.root)


def test_import_then_duplicate_is_noop(cache: Cache) -> None:
    data = make_file()
    first = cache.store_bytes(data, "NODE_A")
    assert first.status == "imported" and first.reason is None
    before = _all_files(cache.root)
    second = cache.store_bytes(data)
    assert second.status == "duplicate"
    assert _all_files(cache.root) == before
    [study] = cache.list_studies()
    assert study.num_instances == 1 and study.source_node == "NODE_A" and study.flags == ()


def test_conflicting_duplicate_is_quarantined_and_flagged(cache: Cache) -> None:
    ds = make_dataset(fill=1)
    original = to_bytes(ds)
    changed = make_file(sop_uid=ds.SOPInstanceUID, study_uid=ds.StudyInstanceUID,
                        series_uid=ds.SeriesInstanceUID, fill=2)
    assert cache.store_bytes(original).status == "imported"
    result = cache.store_bytes(changed, source="/incoming/evil.dcm")
    assert result.status == "quarantined" and "different content" in (result.reason or "")
    [study] = cache.list_studies()
    assert "conflict" in study.flags and study.num_instances == 1
    [instance] = cache.list_instances(cache.list_series(study.study_instance_uid)[0].series_instance_uid)
    assert pydicom.dcmread(instance.path).PixelData == ds.PixelData  # the original is kept
    [q] = cache.list_quarantine()
    assert q.path.parent == cache.root / "quarantine" and q.path.name == f"{q.sha256}.dcm"
    assert q.source == "/incoming/evil.dcm" and q.path.read_bytes()[128:132] == b"DICM"
    assert pydicom.dcmread(q.path).PixelData != ds.PixelData
    assert cache.store_bytes(changed).status == "quarantined"
    assert len(cache.list_quarantine()) == 1


def test_preamble_is_zeroed(cache: Cache) -> None:
    evil = b"MZ\x90\x00" + b"\xcc" * 124
    ds = make_dataset()
    data = to_bytes(ds, preamble=evil)
    assert data[:2] == b"MZ"
    assert cache.store_bytes(data).status == "imported"
    [path] = [p for p in (cache.root / "objects").rglob("*.dcm")]
    stored = path.read_bytes()
    assert stored[:128] == b"\x00" * 128 and stored[128:132] == b"DICM"
    assert stored[128:] == data[128:]  # everything after the preamble is untouched


def test_file_without_meta_gets_file_meta(cache: Cache) -> None:
    ds = make_dataset()
    bare = to_bytes(ds, with_meta=False)
    assert bare[128:132] != b"DICM"
    assert cache.store_bytes(bare).status == "imported"
    [path] = list((cache.root / "objects").rglob("*.dcm"))
    stored = pydicom.dcmread(path)  # no force needed
    assert stored.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
    assert stored.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    assert stored.PixelData == ds.PixelData


def test_pixel_offset_points_at_pixel_data(cache: Cache, shared_data: Path) -> None:
    source = shared_data / "ct" / "single" / "CT_small.dcm"
    assert cache.store_file(source).status == "imported"
    [study] = cache.list_studies()
    [series] = cache.list_series(study.study_instance_uid)
    [inst] = cache.list_instances(series.series_instance_uid)
    assert inst.path.is_relative_to(cache.root) and inst.state == "ok"
    with open(inst.path, "rb") as fh:
        fh.seek(inst.pixel_offset)
        raw = fh.read(inst.pixel_length)
    assert raw == pydicom.dcmread(source).PixelData
    geo = inst.geometry
    assert (geo.rows, geo.columns, geo.bits_allocated) == (128, 128, 16)
    assert geo.image_position is not None and len(geo.image_orientation or ()) == 6
    assert geo.rescale_slope is not None and inst.transfer_syntax_uid == "1.2.840.10008.1.2.1"


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"Rows": 5}, "Pixel Data holds"),
        ({"Columns": 3}, "Pixel Data holds"),
        ({"BitsAllocated": 8, "BitsStored": 8, "HighBit": 7}, "Pixel Data holds"),
        ({"NumberOfFrames": 2}, "Pixel Data holds"),
        ({"Rows": 0}, "absurd dimensions"),
        ({"NumberOfFrames": 20000}, "absurd number of frames"),
        ({"BitsAllocated": 12}, "bits allocated"),
        ({"SamplesPerPixel": 2}, "samples per pixel"),
        ({"Rows": 65535, "Columns": 65535, "NumberOfFrames": 1000}, "declared pixel size over"),
    ],
)
def test_pixel_size_mismatch_rejected(cache: Cache, changes: dict[str, int], needle: str) -> None:
    ds = make_dataset()
    for keyword, value in changes.items():
        setattr(ds, keyword, value)
    result = cache.store_bytes(to_bytes(ds))
    assert result.status == "rejected" and not result.skip
    assert needle in (result.reason or "")
    assert cache.list_studies() == [] and _all_files(cache.root / "objects") == set()


@pytest.mark.parametrize("bad_uid", ["1.2.3.", "abc", "../../x", "1.2." + "3" * 130])
def test_invalid_sop_uid_rejected(cache: Cache, bad_uid: str) -> None:
    ds = make_dataset()
    ds.SOPInstanceUID = bad_uid
    result = cache.store_bytes(to_bytes(ds))
    assert result.status == "rejected" and "SOP Instance UID" in (result.reason or "")


@pytest.mark.parametrize("device_uid", ["1.02.3", "1.2." + "3" * 70])
def test_non_conformant_device_uids_are_stored(cache: Cache, device_uid: str) -> None:
    ds = make_dataset()
    ds.SOPInstanceUID = device_uid
    result = cache.store_bytes(to_bytes(ds))
    assert result.status == "imported" and result.sop_instance_uid == device_uid
    (instance,) = cache.list_instances(ds.SeriesInstanceUID)
    assert instance.path.is_relative_to(cache.root / "objects") and device_uid not in str(instance.path)


def test_non_dicom_is_rejected_as_skip(cache: Cache) -> None:
    result = cache.store_bytes(b"hello, this is a README\n" * 20)
    assert result.status == "rejected" and result.skip


def test_delete_study_leaves_nothing(cache: Cache) -> None:
    keep = make_dataset(patient_id="KEEP")
    cache.store_bytes(to_bytes(keep))
    baseline = _all_files(cache.root)
    study_uid = "1.2.826.0.1.3680043.8.498.1"
    series_uid = "1.2.826.0.1.3680043.8.498.2"
    sops = [f"1.2.826.0.1.3680043.8.498.3.{i}" for i in range(3)]
    for i, sop in enumerate(sops):
        r = cache.store_bytes(make_file(sop_uid=sop, study_uid=study_uid, series_uid=series_uid,
                                        patient_id="GONE", instance_number=i))
        assert r.status == "imported"
    conflict = make_file(sop_uid=sops[0], study_uid=study_uid, series_uid=series_uid, patient_id="GONE", fill=99)
    assert cache.store_bytes(conflict).status == "quarantined"
    assert cache.delete_study(study_uid)
    assert not cache.delete_study(study_uid)
    assert _all_files(cache.root) == baseline
    assert [s.patient_id for s in cache.list_studies()] == ["KEEP"]
    assert cache.db.execute("SELECT COUNT(*) FROM patients WHERE patient_id = 'GONE'").fetchone()[0] == 0
    leftover_dirs = [p for p in (cache.root / "objects").rglob("*") if p.is_dir() and not any(p.iterdir())]
    assert leftover_dirs == []


def test_studies_group_by_patient_and_aggregate(cache: Cache) -> None:
    study = "1.2.3.4.5"
    for i, modality in enumerate(["CT", "PR", "CT"]):
        ds = make_dataset(study_uid=study, series_uid=f"1.2.3.4.5.{i}", instance_number=i)
        ds.Modality = modality
        cache.store_bytes(to_bytes(ds))
    other = make_dataset()
    cache.store_bytes(to_bytes(other))
    studies = {s.study_instance_uid: s for s in cache.list_studies()}
    assert studies[study].modalities == ("CT", "PR")
    assert (studies[study].num_series, studies[study].num_instances) == (3, 3)
    assert cache.db.execute("SELECT COUNT(*) FROM patients").fetchone()[0] == 1


def test_store_bytes_is_thread_safe(cache: Cache) -> None:
    files = [make_file(study_uid="1.2.9", series_uid="1.2.9.1", instance_number=i) for i in range(40)]
    results: list[str] = []

    def worker(chunk: list[bytes]) -> None:
        for data in chunk:
            results.append(cache.store_bytes(data).status)
            results.append(cache.store_bytes(data).status)

    threads = [threading.Thread(target=worker, args=(files[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results).count("imported") == 40 and results.count("duplicate") == 40
    [study] = cache.list_studies()
    assert study.num_instances == 40


def test_charset_names_decoded(cache: Cache, shared_data: Path) -> None:
    for name in ("chrRuss.dcm", "chrH31.dcm", "chrX2.dcm", "chrArab.dcm", "chrI2.dcm"):
        assert cache.store_file(shared_data / "charset" / name).status == "imported"
    names = {s.patient_name for s in cache.list_studies()}
    expected = {"Люкceмбypг", "Yamada^Tarou=山田^太郎=やまだ^たろう", "Wang^XiaoDong=王^小东", "قباني^لنزار",
                "Hong^Gildong=洪^吉洞=홍^길동"}
    assert expected <= names


def test_clean_close_writes_marker_and_reopen_is_clean(tmp_path: Path) -> None:
    root = tmp_path / "c"
    with Cache.open(root) as c:
        c.store_bytes(make_file())
        assert not (root / "clean-shutdown").exists()
    assert (root / "clean-shutdown").exists()
    with Cache.open(root) as c2:
        report = c2.reconcile_report
        assert not report.unclean_shutdown and not report.repaired_anything
        assert len(c2.list_studies()) == 1


def test_no_stray_files_in_tmp(cache: Cache) -> None:
    for _ in range(3):
        cache.store_bytes(make_file())
    assert os.listdir(cache.root / "tmp") == []


def test_refuses_a_folder_that_is_not_a_cache(tmp_path: Path) -> None:
    (tmp_path / "tmp").mkdir()
    precious = tmp_path / "tmp" / "thesis.docx"
    precious.write_bytes(b"years of work")
    with pytest.raises(NotACacheError):
        Cache.open(tmp_path)
    assert precious.read_bytes() == b"years of work"
