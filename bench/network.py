"""Network benchmark: `.venv/bin/python bench/network.py [--rounds N]` (ratios from one run).

Retrieves the 140-slice CT and a 300-slice copy (new UIDs, made here) from a real Orthanc with
dcmtk getscu, dcmtk movescu + storescp, and our C-GET, C-MOVE, DICOMweb (WADO-RS) and
``retrieve_study(method="auto")`` (WADO-RS when the node has DICOMweb, new client each time) paths, all
with TCP_NODELAY=1, writing one file per instance without fsync (as dcmtk does). Best of N
interleaved rounds (the order rotates each round; best, median and min printed). Then C-GET, WADO-RS,
C-MOVE and auto into the real study cache (durable before reported stored; C-MOVE answers each
C-STORE once the instance is fsync'd in the spool, app.network.spool), N runs each, as ratios to
getscu-to-disk. Prints the load average: the box has 2 cores shared with Orthanc (and with whatever else runs).
"""

from __future__ import annotations

import argparse
import shutil
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("TELERAD_PLAINTEXT", "1")  # the unencrypted figures (bench/atrest.py compares both)
SHARED = REPO.parent / "shared" / "data"

from tests.core.net_peers import Orthanc, dcmtk, dicom_files, free_port, start_storescp, stop  # noqa: E402

OUR_AET = "TELERAD"


def copy_study(files: list[Path], count: int, out: Path) -> tuple[str, list[Path]]:
    """``count`` instances cycling over ``files`` with fresh study/series/instance UIDs."""
    from pydicom import dcmread
    from pydicom.uid import generate_uid

    out.mkdir(parents=True, exist_ok=True)
    study, series = generate_uid(), generate_uid()
    paths = []
    for i in range(count):
        ds = dcmread(files[i % len(files)])
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.InstanceNumber = i + 1
        path = out / f"{i:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return study, paths


class FileSink:
    """Writes each received instance to ``folder`` (no fsync), like getscu/storescp -od."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.count, self.lock = folder, 0, threading.Lock()

    def __call__(self, data: bytes, meta):  # type: ignore[no-untyped-def]
        from app.network.received import StoreOutcome

        (self.folder / f"{meta.sop_instance_uid}.dcm").write_bytes(data)
        with self.lock:
            self.count += 1
        return StoreOutcome("imported")


def timed(fn: Callable[[], int]) -> tuple[float, int]:
    start = time.perf_counter()
    n = fn()
    return time.perf_counter() - start, n


def fresh(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from app.network.dicomweb import DicomWebClient
    from app.network.nodes import LocalAE, Node, NodeConfig
    from app.network.retrieve import retrieve_study
    from app.network.scp import StorageSCP

    tmp = Path(tempfile.mkdtemp(prefix="telerad-netbench-"))
    scp_port, storescp_port = free_port(), free_port()
    orthanc = Orthanc(tmp / "orthanc", modalities={"telerad": [OUR_AET, "127.0.0.1", scp_port],
                                                   "storescp": ["STORESCP", "127.0.0.1", storescp_port]})
    orthanc.start()
    storescp = start_storescp(storescp_port, tmp / "storescp-out", "STORESCP")
    try:
        ct = dicom_files(SHARED / "ct" / "philips_phantom_study1_1mm")
        from pydicom import dcmread

        ct_uid = str(dcmread(ct[0], stop_before_pixels=True).StudyInstanceUID)
        big_uid, big = copy_study(ct, 300, tmp / "ct300")
        orthanc.upload(ct + big)
        studies = {"CT 140": (ct_uid, len(ct)), "CT 300": (big_uid, 300)}

        cfg = NodeConfig(local=LocalAE(OUR_AET, scp_port, "127.0.0.1"))
        node = Node("orthanc", orthanc.aet, "127.0.0.1", orthanc.dicom_port, dicomweb=orthanc.dicomweb_url)
        cfg.add(node)
        out = tmp / "out"
        sink_holder: dict[str, FileSink] = {}

        class DynSink:
            """The current sink; its ``spool``/``many`` too (a cache sink: C-MOVE answers once spooled)."""

            def __call__(self, data: bytes, meta):  # type: ignore[no-untyped-def]
                return sink_holder["sink"](data, meta)

            def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
                return getattr(sink_holder["sink"], name)

        scp = StorageSCP(cfg, DynSink()).start()
        web = DicomWebClient(orthanc.dicomweb_url)

        def getscu(uid: str) -> int:
            folder = fresh(out)
            dcmtk("getscu", "-aet", "GETSCU", "-aec", orthanc.aet, "-od", str(folder), "-k", "QueryRetrieveLevel=STUDY",
                  "-k", f"StudyInstanceUID={uid}", "127.0.0.1", str(orthanc.dicom_port))
            return len(list(folder.iterdir()))

        def movescu(uid: str) -> int:
            folder = fresh(tmp / "storescp-out")
            dcmtk("movescu", "-S", "-aet", "MOVESCU", "-aec", orthanc.aet, "-aem", "STORESCP", "-k",
                  "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={uid}", "127.0.0.1", str(orthanc.dicom_port))
            return len(list(folder.iterdir()))

        def ours(method: str) -> Callable[[str], int]:
            def run(uid: str) -> int:
                sink_holder["sink"] = sink = FileSink(fresh(out))
                if method == "dicomweb":
                    web.retrieve_study(uid, sink)
                else:
                    retrieve_study(node, OUR_AET, uid, on_stored=sink, scp=scp, method=method)  # type: ignore[arg-type]
                return sink.count
            return run

        paths = {"dcmtk getscu": getscu, "dcmtk movescu+storescp": movescu, "ours C-GET": ours("get"),
                  "ours C-MOVE": ours("move"), "ours DICOMweb WADO-RS": ours("dicomweb"),
                 "ours auto (retrieve_study)": ours("auto")}
        import os

        load0 = "%.2f %.2f %.2f" % os.getloadavg()
        best: dict[tuple[str, str], float] = {}
        runs: dict[tuple[str, str], list[float]] = {}

        def median(label: str, name: str) -> float:
            values = sorted(runs[(label, name)])
            return values[len(values) // 2]
        for label, (uid, n) in studies.items():
            order = list(paths.items())
            for r in range(args.rounds):
                # rotate the order each round: a path right after a big write pays for its writeback
                for name, fn in order[r % len(order):] + order[: r % len(order)]:
                    seconds, got = timed(lambda: fn(uid))
                    if got != n:
                        raise RuntimeError(f"{name} on {label}: {got} of {n} instances")
                    best[(label, name)] = max(best.get((label, name), 0.0), n / seconds)
                    runs.setdefault((label, name), []).append(n / seconds)

        import os

        print(f"== DICOM retrieve from Orthanc on loopback (best of {args.rounds}, images/s; ratio to getscu) ==")
        print("load average before/after: %s / %.2f %.2f %.2f" % (load0, *os.getloadavg()))
        ok = True
        for label in studies:
            ref = best[(label, "dcmtk getscu")]
            for name in paths:
                rate, mid, low = best[(label, name)], median(label, name), min(runs[(label, name)])
                print(f"{label:7} {name:26} {rate:6.0f} img/s (median {mid:4.0f}, min {low:4.0f})  {rate / ref:5.2f}x"
                      f" (median/median {mid / median(label, 'dcmtk getscu'):4.2f}x)")
            ours_best = max(best[(label, n)] for n in paths if n.startswith("ours"))
            get_ratio = best[(label, "ours C-GET")] / ref
            move_ratio = best[(label, "ours C-MOVE")] / ref
            print(f"{label:7} target: best ours >= 1.0x getscu: {ours_best / ref:.2f}x "
                  f"{'OK' if ours_best >= ref else 'MISSED'}; C-GET >= 0.6x: {get_ratio:.2f}x "
                  f"{'OK' if get_ratio >= 0.6 else 'MISSED'}; C-MOVE >= 0.6x: {move_ratio:.2f}x "
                  f"{'OK' if move_ratio >= 0.6 else 'MISSED'}")
            ok = ok and ours_best >= ref and get_ratio >= 0.6 and move_ratio >= 0.6

        from app.network.sink import cache_sink
        from app.store import Cache

        def into_cache(label: str, method: str) -> Callable[[str], int]:
            def run(uid: str) -> int:
                with Cache.open(fresh(tmp / "cache")) as cache:
                    sink_holder["sink"] = sink = cache_sink(cache)
                    if method == "dicomweb":
                        return len(web.retrieve_study(uid, sink).received)
                    return len(retrieve_study(node, OUR_AET, uid, on_stored=sink, scp=scp,
                                              method=method).received)  # type: ignore[arg-type]
            return run

        print("-- into the study cache (fsync'd before reported stored; C-MOVE answers each C-STORE once durable) --")
        cached = {"C-GET": "get", "WADO-RS": "dicomweb", "C-MOVE": "move", "auto": "auto"}
        for label, (uid, n) in studies.items():
            ref = best[(label, "dcmtk getscu")]
            for name, method in cached.items():
                rates = []
                for _ in range(args.rounds):
                    seconds, got = timed(lambda: into_cache(label, method)(uid))
                    if got != n:
                        raise RuntimeError(f"{name} into the cache on {label}: {got} of {n} instances")
                    rates.append(n / seconds)
                rates.sort()
                print(f"{label:7} ours {name:8} into the cache  best {rates[-1]:5.0f}  median "
                      f"{rates[len(rates) // 2]:5.0f} img/s  {rates[-1] / ref:5.2f}x / {rates[len(rates) // 2] / ref:4.2f}x "
                      "getscu-to-disk")
        print("load average at the end: %.2f %.2f %.2f" % os.getloadavg())
        web.close()
        scp.stop()
        return 0 if ok else 1
    finally:
        stop(storescp)
        orthanc.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
