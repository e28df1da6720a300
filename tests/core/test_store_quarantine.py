"""Cache.quarantine_bytes: unsolicited objects kept aside durably, never listed as studies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.store import Cache
from tests.core._store_factory import make_dataset, make_file, to_bytes


@pytest.fixture()
def cache(tmp_path: Path) -> Iterator[Cache]:
    c = Cache.open(tmp_path / "cache")
    yield c
    c.close()


def _table_counts(cache: Cache) -> tuple[int, ...]:
    return tuple(cache.db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                 for t in ("patients", "studies", "series", "instances"))


def test_quarantine_keeps_file_and_row_but_no_study(cache: Cache) -> None:
    ds = make_dataset(patient_id="PID-Q")
    data = to_bytes(ds)
    result = cache.quarantine_bytes(data, "unsolicited C-STORE from X", "modality", source="dicom:X@host")
    assert result.status == "quarantined" and result.reason == "unsolicited C-STORE from X"
    assert (result.sop_instance_uid, result.study_instance_uid) == (ds.SOPInstanceUID, ds.StudyInstanceUID)
    assert result.patient_id == "PID-Q"
    assert cache.list_studies() == [] and _table_counts(cache) == (0, 0, 0, 0)
    [q] = cache.list_quarantine()
    assert (q.reason, q.source, q.source_node) == ("unsolicited C-STORE from X", "dicom:X@host", "modality")
    assert q.sop_instance_uid == ds.SOPInstanceUID and q.study_instance_uid == ds.StudyInstanceUID
    assert q.path.parent == cache.root / "quarantine" and q.path.read_bytes()[128:132] == b"DICM"
    assert q.path.read_bytes()[132:] == data[132:]  # canonical: same File Meta and dataset
    assert list((cache.root / "tmp").iterdir()) == []


def test_quarantine_is_durable_and_consistent_after_reopen(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    with Cache.open(root) as cache:
        cache.quarantine_bytes(make_file(), "unsolicited", None)
    with Cache.open(root) as cache:
        assert not cache.reconcile_report.repaired_anything
        assert len(cache.list_quarantine()) == 1 and cache.list_studies() == []


def test_same_object_twice_keeps_one_copy(cache: Cache) -> None:
    data = make_file()
    first = cache.quarantine_bytes(data, "first", None)
    second = cache.quarantine_bytes(data, "second", None)
    assert first.status == second.status == "quarantined"
    assert [q.reason for q in cache.list_quarantine()] == ["first"]
    assert len(list((cache.root / "quarantine").iterdir())) == 1


def test_quarantine_does_not_touch_a_stored_copy(cache: Cache) -> None:
    ds = make_dataset()
    data = to_bytes(ds)
    assert cache.store_bytes(data).status == "imported"
    before = (_table_counts(cache), cache.list_studies())
    assert cache.quarantine_bytes(data, "unsolicited", None).status == "quarantined"
    assert (_table_counts(cache), cache.list_studies()) == before
    assert cache.list_studies()[0].flags == ()
    assert cache.get_instance(ds.SOPInstanceUID) is not None


@pytest.mark.parametrize("data, skip", [(b"not dicom at all" * 20, True), (None, False)])
def test_unusable_objects_are_rejected_like_store_bytes(cache: Cache, data: bytes | None, skip: bool) -> None:
    if data is None:  # DICOM with an invalid SOP Instance UID
        ds = make_dataset()
        ds.SOPInstanceUID = "1.2.abc"
        data = to_bytes(ds)
    result = cache.quarantine_bytes(data, "unsolicited", None)
    expected = cache.store_bytes(data)
    assert result.status == expected.status == "rejected"
    assert result.reason == expected.reason and result.skip is expected.skip is skip
    assert cache.list_quarantine() == [] and list((cache.root / "quarantine").iterdir()) == []


def test_quarantined_object_later_retrieved_is_imported(cache: Cache) -> None:
    data = make_file()
    cache.quarantine_bytes(data, "unsolicited", None)
    assert cache.store_bytes(data).status == "imported"
    [study] = cache.list_studies()
    assert study.num_instances == 1 and len(cache.list_quarantine()) == 1


def test_same_instance_in_another_lossless_syntax_is_a_duplicate(cache: Cache, shared_data: Path) -> None:
    """A PACS sends JPEG-LS once and uncompressed the next time: same pixels, no content conflict. A copy
    whose pixels differ stays a conflict (the stored one is kept, the other quarantined)."""
    import io

    import pydicom
    from pydicom.uid import JPEGLSLossless

    source = shared_data / "ct" / "single" / "CT_small.dcm"
    plain = pydicom.dcmread(source)
    compressed = pydicom.dcmread(source)
    compressed.compress(JPEGLSLossless, generate_instance_uid=False)
    buf = io.BytesIO()
    compressed.save_as(buf, enforce_file_format=True)
    assert cache.store_bytes(buf.getvalue()).status == "imported"
    again = cache.store_file(source)
    assert (again.status, again.reason) == ("duplicate", "same instance already stored (same pixels, another lossless encoding)")
    changed = plain.copy()
    arr = changed.pixel_array.copy()
    arr[0, 0] += 1
    changed.PixelData = arr.tobytes()
    buf = io.BytesIO()
    changed.save_as(buf, enforce_file_format=True)
    assert cache.store_bytes(buf.getvalue()).status == "quarantined"
    assert cache.get_study(plain.StudyInstanceUID).flags == ("conflict",)
