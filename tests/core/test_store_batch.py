"""Cache.store_many: group commit with exactly store_bytes's per-item outcomes; the batching importer."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.importer import import_paths
from app.store import Cache
from app.store import files as files_module
from tests.core._store_factory import make_dataset, make_file, to_bytes


def _mixed_items() -> list[tuple[bytes, str | None, str]]:
    """New, in-batch duplicate, in-batch conflict, garbage, bad UID, several studies and directories."""
    a = make_dataset(study_uid="1.2.50.1", fill=1)
    a_bytes = to_bytes(a)
    a_changed = make_file(sop_uid=a.SOPInstanceUID, study_uid="1.2.50.1", series_uid=a.SeriesInstanceUID, fill=9)
    bad = make_dataset(study_uid="1.2.50.2")
    bad.SOPInstanceUID = "1.2.x"
    items = [(a_bytes, "NODE", "a"), (a_bytes, None, "a-again"), (a_changed, None, "a-changed"),
             (b"garbage" * 40, None, "junk"), (to_bytes(bad), None, "bad-uid")]
    items += [(make_file(study_uid=f"1.2.50.{3 + i % 2}", instance_number=i), None, f"n{i}") for i in range(6)]
    return items


def _state(cache: Cache) -> tuple[object, ...]:
    studies = [(s.study_instance_uid, s.num_series, s.num_instances, s.flags, s.source_node)
               for s in cache.list_studies()]
    quarantine = sorted((q.sop_instance_uid, q.reason, q.source, q.path.name) for q in cache.list_quarantine())
    return sorted(studies), quarantine


def _strip(results: list) -> list[tuple[object, ...]]:  # type: ignore[type-arg]
    return [(r.status, r.reason, r.sop_instance_uid, r.study_instance_uid, r.skip) for r in results]


def test_store_many_matches_store_bytes_item_by_item(tmp_path: Path) -> None:
    items = _mixed_items()
    with Cache.open(tmp_path / "one") as one, Cache.open(tmp_path / "many") as many:
        singles = [one.store_bytes(d, n, source=s) for d, n, s in items]
        batch = many.store_many(items)
        assert _strip(batch) == _strip(singles)
        assert [r.status for r in batch] == ["imported", "duplicate", "quarantined", "rejected", "rejected"] + [
            "imported"] * 6
        assert batch[3].skip and not batch[4].skip
        assert _state(many) == _state(one)
        assert many.get_study("1.2.50.1").flags == ("conflict",)  # type: ignore[union-attr]
        # the same batch again: everything is a duplicate or an already-known conflict
        again = many.store_many(items)
        singles_again = [one.store_bytes(d, n, source=s) for d, n, s in items]
        assert _strip(again) == _strip(singles_again)
        assert {r.status for r in again} == {"duplicate", "quarantined", "rejected"}
        assert _state(many) == _state(one)
        assert list((many.root / "tmp").iterdir()) == []


def test_batch_label_and_per_item_label(tmp_path: Path) -> None:
    ds = make_dataset(fill=1)
    changed = make_file(sop_uid=ds.SOPInstanceUID, study_uid=ds.StudyInstanceUID, fill=2)
    other = make_file(sop_uid=ds.SOPInstanceUID, study_uid=ds.StudyInstanceUID, fill=3)
    with Cache.open(tmp_path / "c") as cache:
        results = cache.store_many([(to_bytes(ds), "N"), (changed, None), (other, None, "own label")],
                                   source="batch label")
        assert [r.status for r in results] == ["imported", "quarantined", "quarantined"]
        assert sorted(q.source for q in cache.list_quarantine()) == ["batch label", "own label"]


def test_restores_a_missing_file_in_a_batch(tmp_path: Path) -> None:
    data = make_file()
    with Cache.open(tmp_path / "c") as cache:
        cache.store_bytes(data)
        [path] = (cache.root / "objects").rglob("*.dcm")
        path.unlink()
        cache.db.execute("UPDATE instances SET state = 'missing'")
        first, second = cache.store_many([(data, None), (data, None)])
        assert (first.status, first.reason) == ("imported", "restored a missing file")
        assert second.status == "duplicate" and path.is_file()
        assert cache.list_studies()[0].num_instances == 1


def test_one_transaction_and_one_fsync_per_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    items = [(make_file(study_uid="1.2.50.9", instance_number=i), None) for i in range(32)]
    with Cache.open(tmp_path / "c") as cache:
        statements: list[str] = []
        cache.db.conn.set_trace_callback(statements.append)
        synced: list[Path] = []
        real = files_module.fsync_dir
        monkeypatch.setattr(files_module, "fsync_dir", lambda d: (synced.append(Path(d)), real(d)))
        results = cache.store_many(items)
        cache.db.conn.set_trace_callback(None)
        assert [r.status for r in results] == ["imported"] * 32
        begins = [s for s in statements if s.upper().startswith("BEGIN")]
        commits = [s for s in statements if s.upper().startswith("COMMIT")]
        assert len(begins) == len(commits) == 1
        assert len(synced) == len(set(synced))  # each directory once
        leaf_dirs = {p.parent for p in (cache.root / "objects").rglob("*.dcm")}
        assert leaf_dirs <= set(synced) and set(synced) <= leaf_dirs | {d.parent for d in leaf_dirs} | {
            cache.root / "objects"}
        assert cache.list_studies()[0].num_instances == 32


def test_failed_batch_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    items = [(make_file(study_uid="1.2.50.10", instance_number=i), None) for i in range(4)]
    with Cache.open(tmp_path / "c") as cache:
        from app.store import batch as batch_module

        def boom(*args: object, **kwargs: object) -> None:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(batch_module, "refresh_counts", boom)
        with pytest.raises(OSError):
            cache.store_many(items)
        monkeypatch.undo()
        assert cache.list_studies() == [] and not list((cache.root / "objects").rglob("*.dcm"))
        assert [r.status for r in cache.store_many(items)] == ["imported"] * 4


def test_importer_batches_give_the_same_summary(tmp_path: Path, shared_data: Path) -> None:
    folder = tmp_path / "in"
    shutil.copytree(shared_data / "media" / "pydicom_dicomdirtests" / "77654033", folder / "a")
    for i, (data, _node, _label) in enumerate(_mixed_items()):
        (folder / f"m{i:02}.dcm").write_bytes(data)
    summaries = {}
    for size in (1, 4, 32):
        with Cache.open(tmp_path / f"cache{size}") as cache:
            s = import_paths(cache, [folder], batch_size=size)
            summaries[size] = (s.seen, s.imported, s.duplicates, s.quarantined, s.skipped, s.rejected,
                               sorted(s.rejected_files), sorted(s.quarantined_files), dict(s.studies), _state(cache))
    assert summaries[1] == summaries[4] == summaries[32]
    assert summaries[1][1] > 10 and summaries[1][2] == summaries[1][3] == 1
