"""Crash safety: SIGKILL the importing process at each write step, then reopen and check."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from app.importer import import_paths
from app.store import Cache
from app.store.crash import POINTS
from app.store.prepare import prepare
from app.store.schema import integrity
from tests.core._store_factory import copy_small_studies, make_file

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def source(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_small_studies(shared_data, tmp_path_factory.mktemp("crash_src"))


@pytest.fixture(scope="module")
def reference(source: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, int]:
    with Cache.open(tmp_path_factory.mktemp("crash_ref") / "cache") as cache:
        summary = import_paths(cache, [source])
        assert summary.imported == 14
        return {s.study_instance_uid: s.num_instances for s in cache.list_studies()}


def _run_child(root: Path, folder: Path, crashpoint: str | None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("TELERAD_CRASHPOINT", None)
    if crashpoint:
        env["TELERAD_CRASHPOINT"] = crashpoint
    return subprocess.run([sys.executable, "-m", "tests.core._crash_child", str(root), str(folder)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def _assert_consistent(cache: Cache) -> None:
    assert integrity(cache.db) == "ok"
    assert os.listdir(cache.root / "tmp") == []
    rows = {r[0]: (r[1], r[2]) for r in cache.db.execute("SELECT path, sha256, state FROM instances")}
    files = {p.relative_to(cache.root).as_posix() for p in (cache.root / "objects").rglob("*") if p.is_file()}
    assert files == set(rows), "every file has a row and every row a file"
    for rel, (sha, state) in rows.items():
        assert state == "ok"
        prepared = prepare((cache.root / rel).read_bytes())  # complete, valid file
        assert prepared.sha256 == sha
    for study in cache.list_studies():
        actual = cache.db.execute(
            "SELECT COUNT(*) FROM instances i JOIN series se ON se.id = i.series_ref JOIN studies st"
            " ON st.id = se.study_ref WHERE st.study_uid = ?", [study.study_instance_uid]).fetchone()[0]
        assert study.num_instances == actual > 0


@pytest.mark.slow
@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize("hit", [1, 6])
def test_kill_and_recover(point: str, hit: int, source: Path, reference: dict[str, int], tmp_path: Path) -> None:
    root = tmp_path / "cache"
    killed = _run_child(root, source, f"{point}:{hit}")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert not (root / "clean-shutdown").exists()
    with Cache.open(root) as cache:
        report = cache.reconcile_report
        assert report.unclean_shutdown and report.integrity == "ok"
        if point == "after_temp_write":
            assert report.temp_removed == 1 and report.reindexed == 0
        elif point in ("after_rename", "before_commit"):
            assert report.reindexed == 1 and report.temp_removed == 0  # adopted, not lost
        else:
            assert not report.repaired_anything
        _assert_consistent(cache)
        stored = sum(s.num_instances for s in cache.list_studies())
        assert stored == hit - (1 if point == "after_temp_write" else 0)
    finished = _run_child(root, source, None)
    assert finished.returncode == 0, finished.stderr
    with Cache.open(root) as cache:
        assert not cache.reconcile_report.unclean_shutdown
        _assert_consistent(cache)
        assert {s.study_instance_uid: s.num_instances for s in cache.list_studies()} == reference


def test_crashpoints_are_inert_without_env() -> None:
    from app.store import crash
    from app.tasks import killpoints

    if not os.environ.get(crash.ENV_VAR):
        assert crash.crashpoint is killpoints._noop
        for name in POINTS:
            crash.crashpoint(name)  # returns: we are still alive


def test_corrupt_index_is_rebuilt_from_files(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    with Cache.open(root) as cache:
        for i in range(5):
            cache.store_bytes(make_file(study_uid="1.2.5", instance_number=i))
    (root / "cache.sqlite").write_bytes(b"this is not a database" * 100)
    (root / "clean-shutdown").unlink()
    with Cache.open(root) as cache:
        report = cache.reconcile_report
        assert report.database_rebuilt and report.integrity != "ok" and report.reindexed == 5
        [study] = cache.list_studies()
        assert study.num_instances == 5
    assert list(root.glob("cache.sqlite.corrupt-*"))


def test_missing_and_stray_files_reconciled(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    data = make_file(study_uid="1.2.6")
    with Cache.open(root) as cache:
        cache.store_bytes(data)
        [path] = list((root / "objects").rglob("*.dcm"))
    path.unlink()
    (root / "tmp" / "leftover.part").write_bytes(b"x")
    stray = root / "objects" / "zz" / "junk.dcm"
    stray.parent.mkdir()
    stray.write_bytes(b"junk")
    with Cache.open(root) as cache:  # closed cleanly: the store is not walked, the tampering not yet seen
        assert cache.reconcile_report.walked == 0 and cache.reconcile_report.temp_removed == 1
        [study] = cache.list_studies()
        [series] = cache.list_series(study.study_instance_uid)
        assert cache.list_instances(series.series_instance_uid)[0].state == "ok"
        report = cache.check()  # `telerad check`: every file against the index
        assert report.walked == 1  # the stray file (the stored one was deleted)
        assert (report.marked_missing, report.temp_removed, report.quarantined) == (1, 0, 1)
        [study] = cache.list_studies()
        [series] = cache.list_series(study.study_instance_uid)
        [inst] = cache.list_instances(series.series_instance_uid)
        assert inst.state == "missing"
        assert not stray.exists() and len(cache.list_quarantine()) == 1
        again = cache.store_bytes(data)
        assert again.status == "imported" and "restored" in (again.reason or "")
        assert cache.list_instances(series.series_instance_uid)[0].state == "ok" and path.is_file()


def test_open_walks_the_store_only_after_an_unclean_shutdown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.store import reconcile as reconcile_module

    root = tmp_path / "cache"
    with Cache.open(root) as cache:
        for i in range(3):
            cache.store_bytes(make_file(study_uid="1.2.8", instance_number=i))
    walks: list[str] = []
    real = reconcile_module._files_under
    monkeypatch.setattr(reconcile_module, "_files_under", lambda r, sub: walks.append(sub) or real(r, sub))
    with Cache.open(root) as cache:
        assert walks == [] and cache.reconcile_report.walked == 0 and not cache.reconcile_report.unclean_shutdown
    (root / "clean-shutdown").unlink()  # as a crash leaves it
    with Cache.open(root) as cache:
        assert cache.reconcile_report.unclean_shutdown and cache.reconcile_report.walked == 3
        assert walks == ["objects", "quarantine"]
    with Cache.open(root, check=True) as cache:
        assert cache.reconcile_report.walked == 3 and cache.reconcile_report.integrity == "ok"
