"""C-MOVE into the cache through the durable spool (app.network.spool): our SCP answers a C-STORE only once
the instance is fsync'd there, the writer moves it into the cache; a kill right after an answer, or a full
disk, loses nothing that was acknowledged."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from app.network.retrieve import retrieve_study
from app.network.scp import StorageSCP
from app.network.sink import cache_sink
from app.network.spool import INCOMING, Spool
from app.store import Cache
from tests.core.net_peers import OUR_AET, pixel_hash

pytest_plugins = ["tests.core.net_fixtures"]
REPO = Path(__file__).resolve().parents[2]


def _move(net_config, cache: Cache, study: str, **kw):  # type: ignore[no-untyped-def]
    sink = cache_sink(cache)
    with StorageSCP(net_config, sink) as scp:
        return retrieve_study(net_config.get("orthanc"), OUR_AET, study, on_stored=sink, scp=scp, method="move",
                              **kw)


def _spooled(root: Path) -> list[Path]:
    return sorted(p for p in (root / INCOMING).rglob("*") if p.is_file()) if (root / INCOMING).is_dir() else []


def test_move_into_the_cache_through_the_spool(net_config, tilted_study, tmp_path: Path) -> None:
    with Cache.open(tmp_path / "cache") as cache:
        result = _move(net_config, cache, tilted_study.uid)
        assert not result.incomplete and result.outcomes["imported"] == 54 and result.failed == 0
        assert cache.instance_uids(tilted_study.uid) == set(tilted_study.sop_uids)
        stored = {uid: pixel_hash(cache.get_instance(uid).path) for uid in tilted_study.sop_uids}
        assert stored == tilted_study.hashes()
        assert _spooled(cache.root) == [] and list((cache.root / INCOMING).iterdir()) == []
        again = _move(net_config, cache, tilted_study.uid)  # the same instances again: duplicates, spool emptied
        assert again.outcomes["duplicate"] == 54 and not again.incomplete and _spooled(cache.root) == []


def test_kill_after_answers_loses_nothing_acknowledged(orthanc, net_config, scp_port, tilted_study,
                                                       tmp_path: Path) -> None:
    root, acked = tmp_path / "cache", 5
    env = {**os.environ, "TELERAD_CRASHPOINT": f"after_store_rsp:{acked}"}
    child = subprocess.run([sys.executable, "-m", "tests.core._move_crash_child", str(root), str(scp_port),
                            orthanc.aet, str(orthanc.dicom_port), tilted_study.uid], cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=120)
    assert child.returncode == -signal.SIGKILL, child.stderr
    left = [p for p in _spooled(root) if p.suffix == ".dcm"]
    assert left  # acknowledged, not yet stored when the process died (the writer batches for 0.1 s)
    with Cache.open(root) as cache:
        cache_sink(cache)  # stores what the spool holds
        have = cache.instance_uids(tilted_study.uid)
        assert len(have) >= acked and have <= set(tilted_study.sop_uids)
        assert _spooled(cache.root) == []
        rest = _move(net_config, cache, tilted_study.uid, have=have)
        assert not rest.incomplete and len(rest.received) == 54 - len(have)
        assert cache.instance_uids(tilted_study.uid) == set(tilted_study.sop_uids)


def test_full_spool_answers_out_of_resources_and_the_move_is_incomplete(net_config, tilted_study, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    put, calls = Spool.put, {"n": 0}

    def filling(self: Spool, data: bytes) -> Path:
        calls["n"] += 1
        if calls["n"] > 10:
            raise OSError(errno.ENOSPC, "No space left on device")
        return put(self, data)

    monkeypatch.setattr(Spool, "put", filling)
    with Cache.open(tmp_path / "cache") as cache:
        result = _move(net_config, cache, tilted_study.uid)
        assert result.incomplete and len(result.received) == 10 and result.outcomes["imported"] == 10
        assert cache.instance_uids(tilted_study.uid) == result.received
        assert _spooled(cache.root) == []
        monkeypatch.setattr(Spool, "put", put)
        rest = _move(net_config, cache, tilted_study.uid, have=result.received)
        assert not rest.incomplete and cache.instance_uids(tilted_study.uid) == set(tilted_study.sop_uids)
