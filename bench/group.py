"""Group reading benchmark: `.venv/bin/python bench/group.py` (PostgreSQL server binaries needed).

Claim latency ("next case" on PostgreSQL, app.group) with 50 reader processes draining 10,000 studies,
next to, measured in the same run: one reader claiming on PostgreSQL, and the lone reader's SQLite claim
(the write app.worklist.Worklist.claim makes: state row + history in one FULL-sync transaction).
Prints p50 / p95 / min / median in milliseconds, the 50-reader throughput and the load average.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

READERS, STUDIES, SOLO = 50, 10_000, 2_000


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def line(label: str, values: list[float]) -> str:
    return (f"{label:<34} p50 {pct(values, 0.5):7.2f} ms  p95 {pct(values, 0.95):7.2f} ms  "
            f"min {min(values) * 1000:6.2f}  median {statistics.median(values) * 1000:6.2f}  (n={len(values)})")


def sqlite_claims(n: int) -> list[float]:
    from app.worklist.db import WorklistDB

    with tempfile.TemporaryDirectory(prefix="telerad-bench-") as home:
        db = WorklistDB.open(Path(home) / "worklist.sqlite")
        uids = [f"1.2.{i}" for i in range(n)]
        db.insert_states([{"study_uid": u, "status": "unread", "arrival": "2026-12-03T00:00:00+00:00"} for u in uids])
        out = []
        for uid in uids:
            t0 = time.perf_counter()
            with db.lock, db.transaction():
                db.put_state(uid, claimed_by="solo", claimed_at="2026-12-03T00:00:01+00:00")
                db.add_history(uid, "2026-12-03T00:00:01+00:00", "solo", "claim", "", "solo")
            out.append(time.perf_counter() - t0)
        db.close()
    return out


def main() -> int:
    from tests.core import group_worker
    from tests.group_pg import PgServer

    root = Path(tempfile.mkdtemp(prefix="telerad-pg-"))
    server = PgServer(root)
    server.start()
    try:
        solo_url = server.createdb("bench_solo")
        group_worker.seed(solo_url, SOLO * 5, 1)  # reader r0 may read one facility of five: SOLO studies
        solo = group_worker.pull(solo_url, "r0")["latencies"]
        url = server.createdb("bench_group")
        group_worker.seed(url, STUDIES, READERS)
        ctx = multiprocessing.get_context("fork")
        out = ctx.Queue()
        procs = [ctx.Process(target=group_worker.pull, args=(url, f"r{i}", out)) for i in range(READERS)]
        started = time.monotonic()
        for p in procs:
            p.start()
        results = [out.get(timeout=600) for _ in procs]
        elapsed = time.monotonic() - started
        for p in procs:
            p.join(30)
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
    group = [x for r in results for x in r["latencies"]]
    local = sqlite_claims(SOLO)
    print(line("SQLite, lone reader (reference)", local))
    print(line("PostgreSQL, 1 reader", solo))
    print(line(f"PostgreSQL, {READERS} readers", group))
    read = sum(len(r["read"]) for r in results)
    print(f"{READERS} readers read {read} studies in {elapsed:.1f} s ({read / elapsed:.0f} claims+reads/s); "
          f"p50 ratio to SQLite {pct(group, 0.5) / pct(local, 0.5):.1f}x; load average {os.getloadavg()}")
    return 0 if read == STUDIES else 1


if __name__ == "__main__":
    sys.exit(main())
