"""One volume-loading measurement in a fresh process; prints a JSON line.

usage: volume_child.py MODE FOLDER [REPEATS] [WORKERS]
MODE: serial  - plain pydicom loop: dcmread + pixel_array + np.stack
      cached  - load_volume with SliceRefs as a cache index has them (raw offsets known)
      paths   - load_volume with positions only (workers parse headers and decode)
Time is the best of REPEATS runs (other load on the machine only adds) after one warm-up run
(page cache and worker pool warm); the first-slice time is the median;
memory is measured on a separate run under tracemalloc: tracemalloc peak of this process plus the
shared-memory segment size (not seen by tracemalloc), and the ru_maxrss growth.
"""

from __future__ import annotations

import json
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name != "DIRFILE")


def _serial(files: list[Path]) -> dict:
    import numpy as np
    from pydicom import dcmread

    return {"array": np.stack([dcmread(f).pixel_array for f in files])}


def _load(refs: list, workers: int | None) -> dict:
    from app.dicom.volume import load_volume

    out: dict = {}
    start = time.perf_counter()

    def first(index: int, arr) -> None:
        out["first_s"] = time.perf_counter() - start

    vol = load_volume(refs, on_first_slice=first, workers=workers)
    out["array"] = vol.array
    out["shm_bytes"] = vol._shm.size if vol._shm is not None else 0
    out["volume"] = vol
    return out


def main() -> None:
    mode, folder = sys.argv[1], Path(sys.argv[2])
    repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    workers = int(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[4] != "auto" else None
    files = _files(folder)
    if mode == "serial":
        run = lambda: _serial(files)  # noqa: E731
    else:
        from app.dicom.series import SliceRef, read_slice_refs
        from app.dicom.volume import warm_pool

        refs = [r for f in files for r in read_slice_refs(f)]  # what the cache index holds
        if mode == "paths":
            refs = [SliceRef(path=r.path, ipp=r.ipp, iop=r.iop, pixel_spacing=r.pixel_spacing,
                             rows=r.rows, cols=r.cols) for r in refs]
        warm_pool(workers)  # the application warms the pool at start-up
        run = lambda: _load(refs, workers)  # noqa: E731
    run()  # warm-up: page cache, imports, plugin registration (result dropped)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    tracemalloc.start()
    result = run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    voxel_bytes = result["array"].size * 2  # int16 voxels (what the viewer keeps)
    del result
    times, firsts = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
        firsts.append(result.get("first_s", 0.0))
        del result
    print(json.dumps({
        "mode": mode, "files": len(files), "time_s": min(times), "times": times,
        "first_s": statistics.median(firsts), "voxel_bytes": voxel_bytes,
        "tracemalloc_peak": peak, "rss_growth": max(rss1 - rss0, 0),
        "shm_bytes": 0 if mode == "serial" else _shm_size(files, mode, workers),
    }))


def _shm_size(files: list[Path], mode: str, workers: int | None) -> int:
    from app.dicom.series import SliceRef, read_slice_refs

    refs = [r for f in files for r in read_slice_refs(f)]
    if mode == "paths":
        refs = [SliceRef(path=r.path, ipp=r.ipp, iop=r.iop, pixel_spacing=r.pixel_spacing,
                         rows=r.rows, cols=r.cols) for r in refs]
    return _load(refs, workers)["shm_bytes"]


if __name__ == "__main__":
    main()
