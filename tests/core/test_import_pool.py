"""Importing local files through the worker pool (app.importer.parallel): the same outcomes as reading them in
this process (duplicates, conflicts, rejections, restores), progress in order, cancel, encrypted folders,
a worker that dies, nothing left in tmp/."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from app.crypto import DataKeys, is_stored_encrypted, register, unregister
from app.crypto.marker import write_marker
from app.importer import ImportCancelled, import_paths
from app.importer import parallel as parallel_module
from app.store import Cache
from tests.core._store_factory import cancel_after, write_series
from tests.core.test_store_batch import _mixed_items, _state


def _summary(s) -> tuple:  # type: ignore[no-untyped-def]
    return (s.seen, s.imported, s.duplicates, s.quarantined, s.skipped, s.rejected, sorted(s.rejected_files),
            sorted(s.quarantined_files), sorted(s.skipped_files), dict(s.studies))


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """Real files (a DICOMDIR set, the tilted CT) plus new, duplicate, conflicting, junk and bad-UID inputs."""
    root = tmp_path_factory.mktemp("pool_in")
    shutil.copytree(shared_data / "media" / "pydicom_dicomdirtests" / "77654033", root / "a")
    shutil.copytree(shared_data / "ct" / "philips_phantom_study2_tilted", root / "ct")
    for i, (data, _node, _label) in enumerate(_mixed_items()):
        (root / f"m{i:02}.dcm").write_bytes(data)
    return root


def _no_fallback(caplog: pytest.LogCaptureFixture) -> None:
    assert not [r for r in caplog.records if "import worker failed" in r.getMessage()]  # the workers did it


def test_pool_gives_the_same_store_as_one_process(folder: Path, tmp_path: Path,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    results = {}
    for parallel in (False, True):
        with Cache.open(tmp_path / f"cache-{parallel}") as cache:
            seen: list[int] = []
            first = import_paths(cache, [folder], parallel=parallel, batch_size=16,
                                 progress=lambda p: seen.append(p.done))
            assert seen == list(range(1, first.seen + 1))
            again = import_paths(cache, [folder], parallel=parallel)
            rows = sorted(cache.db.execute("SELECT sop_uid, path, size, sha256, pixel_offset FROM instances"))
            results[parallel] = (_summary(first), _summary(again), _state(cache), rows)
            assert os.listdir(cache.root / "tmp") == []
    assert results[True] == results[False]
    _no_fallback(caplog)
    first, again = results[True][0], results[True][1]
    assert first[1] > 60 and first[2] == first[3] == 1 and first[5] >= 1
    assert again[1] == 0 and again[2] >= first[1]


def test_pool_restores_a_missing_file(folder: Path, tmp_path: Path) -> None:
    with Cache.open(tmp_path / "c") as cache:
        import_paths(cache, [folder / "ct"], parallel=True)
        rel = cache.db.execute("SELECT path FROM instances ORDER BY path LIMIT 1").fetchone()[0]
        (cache.root / rel).unlink()
        again = import_paths(cache, [folder / "ct"], parallel=True)
        assert again.imported == 1 and (cache.root / rel).is_file()


def test_pool_cancel_stores_exactly_what_was_reported(tmp_path: Path) -> None:
    src = write_series(tmp_path / "in", 60, "1.2.89")
    cancel, seen, progress = cancel_after(21)
    with Cache.open(tmp_path / "c") as cache:
        with pytest.raises(ImportCancelled) as info:
            import_paths(cache, [src], progress=progress, cancel=cancel, parallel=True, batch_size=8)
        assert info.value.summary.imported == 21 and [p.done for p in seen] == list(range(1, 22))
        assert cache.list_studies()[0].num_instances == 21
        assert os.listdir(cache.root / "tmp") == []  # staged ahead, never stored: removed
        rest = import_paths(cache, [src], parallel=True)
        assert (rest.imported, rest.duplicates) == (39, 21)


def test_pool_writes_encrypted_files_in_an_encrypted_folder(folder: Path, tmp_path: Path,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    home = tmp_path / "home"
    home.mkdir()
    keys = DataKeys.from_master(os.urandom(32))
    register(home, keys)
    try:
        write_marker(home, keys.check)
        with Cache.open(home / "cache") as cache:
            summary = import_paths(cache, [folder / "ct"], parallel=True)
            assert summary.imported == 54
            files = list((cache.root / "objects").rglob("*.dcm"))
            assert len(files) == 54 and all(is_stored_encrypted(p) for p in files)
            report = cache.check()
            assert (report.reindexed, report.quarantined, report.marked_missing) == (0, 0, 0)
            _no_fallback(caplog)
    finally:
        unregister(home)


def test_a_failing_worker_falls_back_to_this_process(folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("worker lost")

    monkeypatch.setattr(parallel_module, "stage_files", broken)
    with Cache.open(tmp_path / "c") as cache:
        summary = import_paths(cache, [folder / "ct"], parallel=True)
        assert summary.imported == 54 and summary.skipped == 1  # DIRFILE
        assert any("import worker failed" in r.getMessage() for r in caplog.records)
        assert os.listdir(cache.root / "tmp") == []
