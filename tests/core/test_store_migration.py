"""Schema v3: incomplete-study flag, request columns for the worklist, migration of older caches."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydicom.dataset import Dataset

from app.store import SCHEMA_VERSION, Cache
from app.store import index as index_module
from app.store import lifecycle, schema
from tests.core._store_factory import make_dataset, make_file, to_bytes

NEW_COLUMNS = {"incomplete", "expected_instances", "incomplete_reason", "requested_procedure_priority",
               "study_priority_id", "patient_age", "requesting_service"}


@pytest.fixture()
def cache(tmp_path: Path) -> Iterator[Cache]:
    c = Cache.open(tmp_path / "cache")
    yield c
    c.close()


def _request_dataset(study_uid: str, **kwargs: object) -> Dataset:
    ds = make_dataset(study_uid=study_uid, **kwargs)  # type: ignore[arg-type]
    ds.StudyPriorityID = "HIGH"
    ds.PatientAge = "045Y"
    item = Dataset()
    item.RequestedProcedurePriority = "STAT"
    item.RequestingService = "Emergency"
    ds.RequestAttributesSequence = [item]
    return ds


def test_incomplete_flag_set_and_cleared(cache: Cache) -> None:
    cache.store_bytes(make_file(study_uid="1.2.40.1"))
    assert cache.mark_study_incomplete("1.2.40.1", 20, "C-MOVE ended: 19 failed") is True
    study = cache.get_study("1.2.40.1")
    assert study is not None and study.flags == ("incomplete",)
    assert study.incomplete_reason == "C-MOVE ended: 19 failed (1 of 20 instances)"
    assert cache.mark_study_incomplete("1.2.40.1", None, "cancelled") is True
    assert cache.get_study("1.2.40.1").incomplete_reason == "cancelled"  # type: ignore[union-attr]
    cache.store_bytes(make_file(study_uid="1.2.40.1"))  # more instances keep the flag
    assert cache.get_study("1.2.40.1").flags == ("incomplete",)  # type: ignore[union-attr]
    assert cache.clear_study_incomplete("1.2.40.1") is True
    study = cache.get_study("1.2.40.1")
    assert study is not None and study.flags == () and study.incomplete_reason == ""
    assert cache.mark_study_incomplete("9.9.9", 3, "x") is False and cache.clear_study_incomplete("9.9.9") is False
    assert cache.list_studies()[0].num_instances == 2


def test_incomplete_and_conflict_flags_together(cache: Cache) -> None:
    ds = make_dataset(study_uid="1.2.40.2", fill=1)
    cache.store_bytes(to_bytes(ds))
    cache.store_bytes(make_file(sop_uid=ds.SOPInstanceUID, study_uid="1.2.40.2", series_uid=ds.SeriesInstanceUID,
                                fill=2))
    cache.mark_study_incomplete("1.2.40.2", None, "short")
    assert cache.get_study("1.2.40.2").flags == ("conflict", "incomplete")  # type: ignore[union-attr]


def test_instance_uids_lists_present_files_only(cache: Cache) -> None:
    uids = {make_dataset().SOPInstanceUID for _ in range(3)}
    for i, uid in enumerate(sorted(uids)):
        cache.store_bytes(make_file(sop_uid=uid, study_uid="1.2.40.3", instance_number=i))
    cache.store_bytes(make_file(study_uid="1.2.40.4"))
    assert cache.instance_uids("1.2.40.3") == uids
    gone = sorted(uids)[0]
    record = cache.get_instance(gone)
    assert record is not None
    record.path.unlink()
    cache.db.execute("UPDATE instances SET state = 'missing' WHERE sop_uid = ?", [gone])
    assert cache.instance_uids("1.2.40.3") == uids - {gone}
    assert cache.instance_uids("7.7.7") == set()


def test_request_columns_from_header(cache: Cache) -> None:
    cache.store_bytes(to_bytes(_request_dataset("1.2.40.5")))
    study = cache.get_study("1.2.40.5")
    assert study is not None
    assert (study.requested_procedure_priority, study.study_priority_id, study.patient_age,
            study.requesting_service) == ("STAT", "HIGH", "045Y", "Emergency")


def test_request_columns_filled_by_a_later_instance(cache: Cache) -> None:
    cache.store_bytes(make_file(study_uid="1.2.40.6", instance_number=1))
    assert cache.get_study("1.2.40.6").study_priority_id == ""  # type: ignore[union-attr]
    later = _request_dataset("1.2.40.6", instance_number=2)
    later.RequestingService = "Oncology"  # top level wins over the sequence
    cache.store_bytes(to_bytes(later))
    third = make_dataset(study_uid="1.2.40.6", instance_number=3)
    third.PatientAge = "046Y"  # a filled column is not overwritten
    cache.store_bytes(to_bytes(third))
    study = cache.get_study("1.2.40.6")
    assert study is not None and study.num_instances == 3
    assert (study.requested_procedure_priority, study.patient_age, study.requesting_service) == (
        "STAT", "045Y", "Oncology")


def test_requesting_service_code_meaning_fallback(cache: Cache) -> None:
    ds = make_dataset(study_uid="1.2.40.7")
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = "C1", "99X", "Cardiology"
    ds.RequestingServiceCodeSequence = [code]
    cache.store_bytes(to_bytes(ds))
    assert cache.get_study("1.2.40.7").requesting_service == "Cardiology"  # type: ignore[union-attr]


def _open_old(root: Path, version: int, monkeypatch: pytest.MonkeyPatch) -> Cache:
    """Open a cache the way the code of schema ``version`` did: only its migrations, its row shape."""
    real_migrate = schema.migrate
    with monkeypatch.context() as patch:
        patch.setattr(lifecycle.schema, "migrate", lambda db: real_migrate(db, target=version))
        patch.setattr(index_module, "REQUEST_COLUMNS", ())
        cache = Cache.open(root)
        assert schema.schema_version(cache.db) == version
        columns = {r[1] for r in cache.db.execute("PRAGMA table_info(studies)")}
        assert not NEW_COLUMNS & columns
        data = to_bytes(_request_dataset("1.2.40.8"))
        assert cache.store_bytes(data).status == "imported"
        cache.store_bytes(make_file(study_uid="1.2.40.9"))
        cache.close()
    return cache


@pytest.mark.parametrize("old_version", [1, 2])
def test_old_cache_is_migrated_in_order_and_keeps_its_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           old_version: int) -> None:
    root = tmp_path / "cache"
    _open_old(root, old_version, monkeypatch)
    applied: list[int] = []
    real_execute = schema.sqlite_utils.Database.execute

    def spy(self, sql, *args, **kwargs):  # type: ignore[no-untyped-def]
        if sql.startswith("PRAGMA user_version ="):
            applied.append(int(sql.split("=")[1]))
        return real_execute(self, sql, *args, **kwargs)

    monkeypatch.setattr(schema.sqlite_utils.Database, "execute", spy)
    with Cache.open(root) as cache:
        monkeypatch.undo()
        assert applied == list(range(old_version + 1, SCHEMA_VERSION + 1)) and SCHEMA_VERSION == 3
        assert schema.schema_version(cache.db) == SCHEMA_VERSION
        assert NEW_COLUMNS <= {r[1] for r in cache.db.execute("PRAGMA table_info(studies)")}
        indexes = {r[0] for r in cache.db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert "idx_studies_date" in indexes and "idx_quarantine_sop" in indexes  # migration 2 ran
        assert not cache.reconcile_report.repaired_anything
        studies = {s.study_instance_uid: s for s in cache.list_studies()}
        assert set(studies) == {"1.2.40.8", "1.2.40.9"}
        old = studies["1.2.40.8"]
        assert old.num_instances == 1 and old.flags == () and old.patient_name == "Test^Patient"
        # backfilled from the stored file at migration time
        assert (old.requested_procedure_priority, old.study_priority_id, old.patient_age,
                old.requesting_service) == ("STAT", "HIGH", "045Y", "Emergency")
        assert studies["1.2.40.9"].study_priority_id == ""
        [series] = cache.list_series("1.2.40.8")
        [inst] = cache.list_instances(series.series_instance_uid)
        assert inst.path.is_file() and inst.state == "ok"
        assert cache.mark_study_incomplete("1.2.40.8", 2, "short") and cache.store_bytes(
            make_file(study_uid="1.2.40.8")).status == "imported"
        assert cache.get_study("1.2.40.8").num_instances == 2  # type: ignore[union-attr]
    with Cache.open(root) as cache:  # a current cache is not migrated or backfilled again
        assert applied == list(range(old_version + 1, SCHEMA_VERSION + 1))
        assert cache.get_study("1.2.40.8").flags == ("incomplete",)  # type: ignore[union-attr]


def test_migrate_returns_previous_version_and_refuses_newer(tmp_path: Path) -> None:
    db = schema.connect(tmp_path / "x.sqlite")
    assert schema.migrate(db, target=1) == 0
    assert schema.migrate(db) == 1 and schema.migrate(db) == SCHEMA_VERSION
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(schema.SchemaTooNewError):
        schema.migrate(db)
    db.close()
