"""Crash safety of group commits: SIGKILL the batching importer mid-batch, reopen, reconcile, finish."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from app.importer import import_paths
from app.store import Cache
from app.store.prepare import prepare
from app.store.schema import integrity
from tests.core._store_factory import copy_small_studies

REPO = Path(__file__).resolve().parents[2]
TOTAL, BATCH = 14, 5  # batches of 5, 5, 4


@pytest.fixture(scope="module")
def source(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_small_studies(shared_data, tmp_path_factory.mktemp("batch_crash_src"))


@pytest.fixture(scope="module")
def reference(source: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, int]:
    with Cache.open(tmp_path_factory.mktemp("batch_crash_ref") / "cache") as cache:
        assert import_paths(cache, [source], batch_size=1).imported == TOTAL
        return {s.study_instance_uid: s.num_instances for s in cache.list_studies()}


def _run_child(root: Path, folder: Path, crashpoint: str | None, pool: bool = False) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TELERAD_CRASHPOINT"}
    if crashpoint:
        env["TELERAD_CRASHPOINT"] = crashpoint
    return subprocess.run([sys.executable, "-m", "tests.core._crash_child", str(root), str(folder), str(BATCH),
                           "1" if pool else "0"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def _expected(point: str, hit: int) -> tuple[int, int, int]:
    """(instances visible after reconcile, files adopted by reconcile, temp files removed).

    A batch writes all its temp files, syncs the filesystem once, then renames them all, then commits."""
    if point in ("after_temp_write", "after_rename"):  # per file; earlier batches are committed
        committed = (hit - 1) // BATCH * BATCH
        placed = hit - committed  # position of the hit file in its batch
        size = min(BATCH, TOTAL - committed)
        if point == "after_temp_write":
            return committed, 0, placed
        return hit, placed, size - placed
    if point == "after_batch_sync":  # every temp file of the batch written, none renamed
        committed = (hit - 1) * BATCH
        return committed, 0, min(BATCH, TOTAL - committed)
    stored = min(hit * BATCH, TOTAL)  # per batch
    return stored, (stored - (hit - 1) * BATCH) if point == "before_commit" else 0, 0


def _assert_consistent(cache: Cache) -> None:
    assert integrity(cache.db) == "ok" and os.listdir(cache.root / "tmp") == []
    rows = {r[0]: (r[1], r[2]) for r in cache.db.execute("SELECT path, sha256, state FROM instances")}
    files = {p.relative_to(cache.root).as_posix() for p in (cache.root / "objects").rglob("*") if p.is_file()}
    assert files == set(rows)
    for rel, (sha, state) in rows.items():
        assert state == "ok" and prepare((cache.root / rel).read_bytes()).sha256 == sha
    for study in cache.list_studies():
        actual = cache.db.execute(
            "SELECT COUNT(*) FROM instances i JOIN series se ON se.id = i.series_ref JOIN studies st"
            " ON st.id = se.study_ref WHERE st.study_uid = ?", [study.study_instance_uid]).fetchone()[0]
        assert study.num_instances == actual > 0


@pytest.mark.slow
@pytest.mark.parametrize("point, hit", [
    ("after_temp_write", 1), ("after_temp_write", 8), ("after_rename", 3), ("after_rename", 12),
    ("after_batch_sync", 2), ("before_commit", 1), ("before_commit", 3), ("after_commit", 2),
])
def test_kill_mid_batch_and_recover(point: str, hit: int, source: Path, reference: dict[str, int],
                                    tmp_path: Path) -> None:
    root = tmp_path / "cache"
    killed = _run_child(root, source, f"{point}:{hit}")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    stored, adopted, temp = _expected(point, hit)
    with Cache.open(root) as cache:
        report = cache.reconcile_report
        assert report.unclean_shutdown and report.integrity == "ok"
        assert (report.reindexed, report.temp_removed, report.quarantined) == (adopted, temp, 0)
        _assert_consistent(cache)
        assert sum(s.num_instances for s in cache.list_studies()) == stored
    finished = _run_child(root, source, None)
    assert finished.returncode == 0, finished.stderr
    with Cache.open(root) as cache:
        assert not cache.reconcile_report.unclean_shutdown
        _assert_consistent(cache)
        assert {s.study_instance_uid: s.num_instances for s in cache.list_studies()} == reference


@pytest.mark.slow
@pytest.mark.parametrize("point, hit", [
    ("after_batch_sync", 1), ("after_batch_sync", 3), ("after_rename", 2), ("after_rename", 13),
    ("before_commit", 2), ("after_commit", 1),
])
def test_kill_mid_batch_with_worker_pool(point: str, hit: int, source: Path, reference: dict[str, int],
                                         tmp_path: Path) -> None:
    """Files staged by the worker pool: the writer killed at each step of a batch loses nothing it reported
    and leaves only its staging folder (whatever the workers had staged ahead) for the next open to remove."""
    root = tmp_path / "cache"
    killed = _run_child(root, source, f"{point}:{hit}", pool=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    stored, adopted, _temp = _expected(point, hit)
    with Cache.open(root) as cache:
        report = cache.reconcile_report
        assert report.unclean_shutdown and report.integrity == "ok"
        assert (report.reindexed, report.temp_removed, report.quarantined) == (adopted, 1, 0)
        _assert_consistent(cache)
        assert sum(s.num_instances for s in cache.list_studies()) == stored
    finished = _run_child(root, source, None, pool=True)
    assert finished.returncode == 0, finished.stderr
    with Cache.open(root) as cache:
        assert not cache.reconcile_report.unclean_shutdown
        _assert_consistent(cache)
        assert {s.study_instance_uid: s.num_instances for s in cache.list_studies()} == reference
