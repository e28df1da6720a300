"""Child of bench/wan.py, run inside the ``home`` namespace: one retrieve into a fresh cache, then a pixel check.

`python bench/wan_child.py URL_OR_- AET HOST PORT STUDY_UID SOURCE_DIR METHOD [RESUME_S]` prints one JSON line:
total s, first (opening) slice in the cache s, bytes, count, incomplete flag seen meanwhile, pixels equal.
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def pixels_equal(cache, study_uid: str, source: Path) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """(equal, compared) by SOP Instance UID, decoded pixel arrays."""
    import numpy as np
    from pydicom import dcmread

    src = {}
    for p in source.iterdir():
        ds = dcmread(p)
        src[str(ds.SOPInstanceUID)] = ds.pixel_array
    equal = compared = 0
    for series in cache.list_series(study_uid):
        for inst in cache.list_instances(series.series_instance_uid):
            ds = dcmread(inst.path)
            compared += 1
            equal += bool(np.array_equal(ds.pixel_array, src.get(str(ds.SOPInstanceUID))))
    return equal, compared


def main() -> int:
    url, aet, host, port, study_uid, source, method = sys.argv[1:8]
    resume_s = float(sys.argv[8]) if len(sys.argv) > 8 else 600.0
    connections = int(sys.argv[9]) if len(sys.argv) > 9 else None
    from app.network.arrivals import Arrivals
    from app.network.fetch import Resume, retrieve_into_cache
    from app.network.nodes import Node
    from app.store import Cache

    node = Node("pacs", aet, host, int(port), "get", None if url == "-" else url)
    out: dict = {"flagged_while_waiting": False}
    with tempfile.TemporaryDirectory() as tmp, Cache.open(Path(tmp) / "cache") as cache:
        arrivals = Arrivals()
        start = time.monotonic()
        first: list[float] = []

        def listen(uid: str, snap) -> None:  # type: ignore[no-untyped-def]
            if uid and not first:
                first.append(time.monotonic() - start)
            if snap.waiting and not out["flagged_while_waiting"]:
                study = cache.get_study(study_uid)
                out["flagged_while_waiting"] = bool(study is not None and "incomplete" in study.flags)
                out["count_while_waiting"] = snap.label

        arrivals.subscribe(listen)
        watch = threading.Thread(target=arrivals.wait_for, daemon=True)
        watch.start()
        result = retrieve_into_cache(cache, node, "TELERAD", study_uid, method=method, arrivals=arrivals,
                                     resume=Resume(give_up_after=resume_s), connections=connections)
        out["total"] = time.monotonic() - start
        out["first"] = first[0] if first else None
        out["bytes"] = arrivals.snapshot().bytes
        out["count"] = len(cache.instance_uids(study_uid))
        out["incomplete"] = result.incomplete
        study = cache.get_study(study_uid)
        out["flag_after"] = bool(study is not None and "incomplete" in study.flags)
        paths = [i.path for s in cache.list_series(study_uid) for i in cache.list_instances(s.series_instance_uid)]
        if paths:
            from pydicom import dcmread

            out["transfer_syntax"] = str(dcmread(paths[0], stop_before_pixels=True).file_meta.TransferSyntaxUID)
            out["bytes"] = out["bytes"] or sum(Path(p).stat().st_size for p in paths)
        out["pixels_equal"], out["compared"] = pixels_equal(cache, study_uid, Path(source))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
