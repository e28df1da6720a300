"""Worklist entries from the cache index (no DICOM read) and cheap instance paths (issue 13, goal 3)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pydicom
import pytest
from pydicom.dataset import Dataset

from app.store import Cache
from app.store.files import resolve_inside
from app.worklist import Worklist
from app.worklist.build import build_entry
from app.worklist.header import read_request_fields
from app.worklist.types import Priority
from tests.core._store_factory import make_dataset, to_bytes

REQUEST = ("requested_procedure_priority", "study_priority_id", "patient_age", "requesting_service")


def _requested_study(study_uid: str, n: int) -> list[bytes]:
    out = []
    for i in range(n):
        ds = make_dataset(study_uid=study_uid, series_uid=f"{study_uid}.1", instance_number=i + 1)
        item = Dataset()
        item.RequestedProcedurePriority = "HIGH"
        item.RequestingService = "EMERGENCY"
        ds.RequestAttributesSequence = [item]
        ds.StudyPriorityID = "STAT"
        ds.PatientAge = "067Y"
        out.append(to_bytes(ds))
    return out


def test_new_study_entry_from_index_equals_entry_from_its_files(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    with Cache.open(tmp_path / "cache") as cache:
        cache.store_many([(data, None) for data in _requested_study("1.2.826.0.1.77.1", 3)])
        (summary,) = cache.list_studies()
        from_files = read_request_fields(cache, summary.study_instance_uid)
        assert from_files is not None and from_files.requesting_service == "EMERGENCY"

        def no_read(*args: object, **kwargs: object) -> None:
            raise AssertionError("the worklist read a DICOM file")

        monkeypatch.setattr(pydicom, "dcmread", no_read)
        wl = Worklist.open(tmp_path)
        entry = wl.refresh(cache)[0]
        monkeypatch.undo()
        assert entry.priority is Priority.STAT and entry.department == "EMERGENCY" and entry.age_years == 67
        bare = SimpleNamespace(**{k: getattr(summary, k) for k in summary.__dataclass_fields__ if k not in REQUEST})
        rebuilt = build_entry(bare, local=True, state=wl.db.state(summary.study_instance_uid) or {},
                              fields_row={"found": 1, **vars(from_files)}, rules=wl._rules, priors=())
        assert rebuilt == entry
        wl.close()


def test_list_instances_paths_equal_resolved_paths(tmp_path: Path) -> None:
    with Cache.open(tmp_path / "cache") as cache:
        cache.store_many([(data, None) for data in _requested_study("1.2.826.0.1.77.2", 4)])
        series = cache.list_series("1.2.826.0.1.77.2")[0].series_instance_uid
        rows = dict(cache.db.execute("SELECT sop_uid, path FROM instances").fetchall())
        listed = cache.list_instances(series)
        assert len(listed) == 4
        for inst in listed:
            assert inst.path == resolve_inside(cache.root, rows[inst.sop_instance_uid]) and inst.path.is_file()


def test_unusual_index_path_still_checked(tmp_path: Path) -> None:
    from app.store.queries import _path

    root = tmp_path.resolve()
    with pytest.raises(ValueError):
        _path(root, "objects/../../etc/passwd")
    assert _path(root, "objects/ab/x.dcm") == root / "objects" / "ab" / "x.dcm"
