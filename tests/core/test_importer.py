"""Importer: the whole shared data set, ZIP archives, DICOMDIR media, cancel and progress."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.audit import AuditLog
from app.dicom.header import parse_bytes
from app.importer import ImportCancelled, ZipLimits, import_paths
from app.store import Cache
from tests.core._store_factory import cancel_after, make_file, write_series

DICOMDIR_MEDIA = ("media", "pydicom_dicomdirtests")


@pytest.fixture()
def cache(tmp_path: Path) -> Iterator[Cache]:
    c = Cache.open(tmp_path / "cache")
    yield c
    c.close()


def _listing(folder: Path) -> set[str]:
    return {str(p) for p in folder.rglob("*")}


@pytest.fixture(scope="module")
def full_import(shared_data: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    home = tmp_path_factory.mktemp("full")
    private_tmp = tmp_path_factory.mktemp("tmpdir")  # any tempfile use would land here
    before_home, before_source = _listing(home), _listing(shared_data)
    saved, tempfile.tempdir = tempfile.tempdir, str(private_tmp)
    try:
        cache = Cache.open(home / "cache")
        audit = AuditLog(home / "audit.sqlite")
        summary = import_paths(cache, [shared_data], audit=audit)
    finally:
        tempfile.tempdir = saved
    writes = {"home": _listing(home) - before_home, "tmpdir": _listing(private_tmp),
              "source": _listing(shared_data) ^ before_source}
    yield cache, summary, audit, home, writes
    audit.close()
    cache.close()


def test_every_file_accounted_for(full_import, shared_data: Path) -> None:  # type: ignore[no-untyped-def]
    _cache, summary, *_ = full_import
    files_on_disk = sum(1 for p in shared_data.rglob("*") if p.is_file())
    assert summary.seen == files_on_disk
    assert summary.accounted == summary.seen
    assert summary.imported > 400 and summary.skipped >= 10 and summary.rejected >= 1
    assert len(summary.rejected_files) == summary.rejected
    assert all(reason for _label, reason in summary.rejected_files)
    text = summary.format()
    for label, reason in summary.rejected_files:
        assert f"{label}: {reason}" in text
    skipped = {Path(label).name for label, _ in summary.skipped_files}
    assert {"DIRFILE", "zipMR.gz", "MANIFEST.md", "DICOMDIR"} <= skipped
    rejected = {Path(label).name: reason for label, reason in summary.rejected_files}
    assert "MR_truncated.dcm" in rejected and "Pixel Data holds" in rejected["MR_truncated.dcm"]


def _not_multiprocessing(paths: set[str]) -> set[str]:
    """``paths`` less the worker pool's forkserver socket (multiprocessing's ``pymp-*/listener-*``: no data)."""
    def ours(p: Path) -> bool:
        return p.name.startswith("pymp-") and p.is_dir() or p.parent.name.startswith("pymp-") and p.is_socket()
    return {p for p in paths if not ours(Path(p))}


def test_nothing_written_outside_cache(full_import) -> None:  # type: ignore[no-untyped-def]
    cache, _summary, _audit, home, writes = full_import
    assert _not_multiprocessing(writes["tmpdir"]) == set() and writes["source"] == set()
    audit_files = {str(home / n) for n in ("audit.sqlite", "audit.sqlite-wal", "audit.sqlite-shm")}
    outside = {p for p in writes["home"] - audit_files if not Path(p).is_relative_to(cache.root)}
    assert outside == set() and len(writes["home"]) > 500
    paths = [r[0] for r in cache.db.execute("SELECT path FROM instances UNION ALL SELECT path FROM quarantine")]
    assert paths
    for rel in paths:
        assert not Path(rel).is_absolute()
        resolved = (cache.root / rel).resolve()
        assert resolved.is_relative_to(cache.root) and resolved.is_file()
    assert os.listdir(cache.root / "tmp") == []


def test_series_sizes_and_patient_grouping(full_import) -> None:  # type: ignore[no-untyped-def]
    cache, *_ = full_import
    sizes = {}
    for study in cache.list_studies():
        for series in cache.list_series(study.study_instance_uid):
            sizes.setdefault(series.num_instances, []).append((study, series))
    assert {140, 54, 192} <= sizes.keys()
    ct = [st for n in (140, 54) for st, se in sizes[n] if se.modality == "CT"]
    assert len(ct) == 2 and {s.patient_id for s in ct} == {"PLASTIC"}
    assert ct[0].study_instance_uid != ct[1].study_instance_uid
    patient_rows = cache.db.execute("SELECT COUNT(*) FROM patients WHERE patient_id = 'PLASTIC'").fetchone()[0]
    assert patient_rows == 1
    [(mr_study, mr_series)] = sizes[192]
    assert mr_series.modality == "MR" and mr_study.num_instances == 192
    instances = cache.list_instances(mr_series.series_instance_uid)
    assert [i.instance_number for i in instances] == sorted(i.instance_number for i in instances)
    assert all(i.pixel_offset and i.pixel_length == 256 * 256 * 2 for i in instances)


def test_stored_files_read_back_without_force(full_import) -> None:  # type: ignore[no-untyped-def]
    import pydicom

    cache, *_ = full_import
    rows = cache.db.execute("SELECT path, sha256, pixel_offset FROM instances").fetchall()
    for rel, _sha, _offset in rows[::7]:
        data = (cache.root / rel).read_bytes()
        assert data[:128] == b"\x00" * 128 and data[128:132] == b"DICM"
        pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)


def test_audit_records_import(full_import) -> None:  # type: ignore[no-untyped-def]
    cache, summary, audit, *_ = full_import
    records = audit.records()
    assert all(r.event_id == "110107" for r in records)
    run = records[-1]
    assert '"imported":%d' % summary.imported in run.detail
    per_study = [r for r in records if r.study_uid]
    assert len(per_study) == len(summary.studies) == len(cache.list_studies())
    assert audit.verify() == (True, None)
    assert all("PLASTIC" not in r.detail and r.patient_hash != "PLASTIC" for r in records)


def test_reimport_is_all_duplicates(full_import, shared_data: Path) -> None:  # type: ignore[no-untyped-def]
    cache, first, *_ = full_import
    again = import_paths(cache, [shared_data / "ct" / "philips_phantom_study2_tilted"])
    assert again.imported == 0 and again.duplicates == 54 and again.skipped == 1
    assert first.imported == sum(s.num_instances for s in cache.list_studies())


def test_dicomdir_media_import(cache: Cache, shared_data: Path) -> None:
    media = shared_data.joinpath(*DICOMDIR_MEDIA)
    summary = import_paths(cache, [media / "DICOMDIR"])
    assert summary.rejected == 0 and summary.skipped == 1  # the DICOMDIR itself
    assert summary.imported == 31  # every referenced instance, each once
    assert summary.seen == summary.accounted
    whole = import_paths(cache, [media])  # walk + the same DICOMDIRs: duplicates, not errors
    assert whole.rejected == 0 and whole.imported > 0
    assert whole.seen == sum(1 for p in media.rglob("*") if p.is_file())


def test_dicomdir_escaping_reference_is_refused(cache: Cache, shared_data: Path, tmp_path: Path) -> None:
    media = tmp_path / "media"
    shutil.copytree(shared_data.joinpath(*DICOMDIR_MEDIA, "TINY_ALPHA"), media / "CD")
    secret = tmp_path / "SECRET.dcm"
    secret.write_bytes(make_file())
    dicomdir = media / "CD" / "DICOMDIR"
    data = dicomdir.read_bytes()
    old = b"PT000000\\ST000000\\SE000000\\IM000000"
    new = b"..\\..\\SECRET.dcm".ljust(len(old), b" ")
    assert data.count(old) == 1
    dicomdir.write_bytes(data.replace(old, new))
    summary = import_paths(cache, [dicomdir])
    escapes = [(label, reason) for label, reason in summary.rejected_files if "escapes" in reason]
    assert len(escapes) == 1 and "SECRET" in escapes[0][0]
    assert summary.imported == 49  # the other references still import
    assert all("SECRET" not in (q.source or "") for q in cache.list_quarantine())


def test_zip_import_in_memory_with_bomb_guard(cache: Cache, tmp_path: Path) -> None:
    archive = tmp_path / "study.zip"
    good = [make_file(study_uid="1.2.77", instance_number=i) for i in range(3)]
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for i, data in enumerate(good):
            zf.writestr(f"../../evil/IMG{i}.dcm", data)
        zf.writestr("readme.txt", "not dicom")
        zf.writestr("bomb.bin", b"\x00" * (40 * 1024 * 1024))
    before = _listing(tmp_path)
    summary = import_paths(cache, [archive], limits=ZipLimits(max_member_bytes=30 * 1024 * 1024))
    assert (summary.imported, summary.skipped, summary.rejected) == (3, 1, 1)
    assert "larger than" in summary.rejected_files[0][1]
    assert _listing(tmp_path) - before <= {str(p) for p in (tmp_path / "cache").rglob("*")}
    assert not (tmp_path.parent / "evil").exists()
    ratio = import_paths(cache, [archive], limits=ZipLimits(ratio_floor=1024 * 1024, max_ratio=50))
    assert any("zip bomb" in r for _l, r in ratio.rejected_files)


def test_cancel_keeps_what_was_stored(cache: Cache, tmp_path: Path) -> None:
    folder = write_series(tmp_path / "in", 10, "1.2.88")
    cancel, seen, progress = cancel_after(4)
    with pytest.raises(ImportCancelled) as info:
        import_paths(cache, [folder], progress=progress, cancel=cancel)
    assert info.value.summary.cancelled and info.value.summary.imported == 4
    assert [p.done for p in seen] == [1, 2, 3, 4] and all(p.total == 10 for p in seen)
    assert cache.list_studies()[0].num_instances == 4
    rest = import_paths(cache, [folder])
    assert (rest.imported, rest.duplicates) == (6, 4)


def test_quarantine_file_named_by_content_hash(cache: Cache, tmp_path: Path) -> None:
    a = make_file(sop_uid="1.2.3.4.100", study_uid="1.2.3.4", fill=1)
    b = make_file(sop_uid="1.2.3.4.100", study_uid="1.2.3.4", fill=2)
    (tmp_path / "a.dcm").write_bytes(a)
    (tmp_path / "b.dcm").write_bytes(b)
    summary = import_paths(cache, [tmp_path / "a.dcm", tmp_path / "b.dcm"])
    assert (summary.imported, summary.quarantined) == (1, 1)
    [q] = cache.list_quarantine()
    stored = q.path.read_bytes()
    body = stored[parse_bytes(stored).body_offset:]
    assert stored == b  # already canonical: kept byte for byte
    assert q.path.name == f"{hashlib.sha256(body).hexdigest()}.dcm" == f"{q.sha256}.dcm"
