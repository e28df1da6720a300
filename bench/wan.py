"""Reading from home: `.venv/bin/python bench/wan.py` (root: network namespaces from ../shared/tools/wanlink).

A 300-slice CT stored uncompressed in Orthanc (``pacs`` namespace), retrieved from the ``home`` namespace by dcmtk
getscu (TCP_NODELAY=1) and by our retrieve (:func:`app.network.fetch.retrieve_into_cache`: WADO-RS, JPEG-LS lossless
on the wire, reader first, 8 connections) over the same link in the same run: 50 Mbit/s / 30 ms, 20 Mbit/s / 40 ms /
0.1 % loss, then a 10 s and a 120 s drop mid-transfer. Prints each figure with its ratio to getscu and to the link
floor (bytes on the wire / rate), and the load average. The link is taken down on every exit path.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("TELERAD_PLAINTEXT", "1")  # the unencrypted figures (bench/atrest.py compares both)
SHARED = REPO.parent / "shared"
WANLINK = SHARED / "tools" / "wanlink" / "wanlink.sh"
PY = str(REPO / ".venv" / "bin" / "python")
PACS, DICOM_PORT, HTTP_PORT = "10.77.0.1", 4242, 8042

from bench.network import copy_study  # noqa: E402
from tests.core.net_peers import Orthanc, dicom_files  # noqa: E402


def wanlink(*args: str) -> None:
    # no pipes: the relay it starts would hold them open
    subprocess.run(["bash", str(WANLINK), *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_pacs(root: Path, files: list[Path]) -> subprocess.Popen:
    """Load Orthanc on loopback, then run the same storage inside the ``pacs`` namespace."""
    peer = Orthanc(root)
    peer.start()
    peer.upload(files)
    peer.stop()
    cfg = peer.config()
    cfg.update(DicomPort=DICOM_PORT, HttpPort=HTTP_PORT, RemoteAccessAllowed=True)
    (root / "pacs.json").write_text(json.dumps(cfg))
    proc = subprocess.Popen(["ip", "netns", "exec", "pacs", "env", "TCP_NODELAY=1", "Orthanc", str(root / "pacs.json"),
                             f"--logdir={root / 'logs'}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.5)
    return proc


def home(*cmd: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", "netns", "exec", "home", "env", "TCP_NODELAY=1", *cmd], capture_output=True,
                          text=True, timeout=timeout)


def getscu(study: str, out: Path) -> tuple[float, int]:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    start = time.monotonic()
    r = home("getscu", "-aet", "GETSCU", "-aec", "ORTHANC", "-od", str(out), "-k", "QueryRetrieveLevel=STUDY",
             "-k", f"StudyInstanceUID={study}", PACS, str(DICOM_PORT))
    took = time.monotonic() - start
    if r.returncode:
        print("getscu failed:", r.stderr[-300:])
    return took, sum(p.stat().st_size for p in out.iterdir())


def ours(study: str, source: Path, method: str = "auto", outage: tuple[float, float] | None = None,
         resume_s: float = 600.0, connections: int = 0) -> dict:
    url = f"http://{PACS}:{HTTP_PORT}/dicom-web" if method in ("auto", "dicomweb") else "-"
    cmd = ["ip", "netns", "exec", "home", PY, str(REPO / "bench" / "wan_child.py"), url, "ORTHANC", PACS,
           str(DICOM_PORT), study, str(source), method, str(resume_s)] + ([str(connections)] if connections else [])
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    drop = None
    if outage is not None:
        time.sleep(outage[0])
        drop = subprocess.Popen(["bash", str(WANLINK), "outage", str(int(outage[1]))], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    out, err = child.communicate(timeout=900)
    if drop is not None:
        drop.wait(300)
    try:
        return json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": err[-600:]}


def line(label: str, seconds: float, ref: float, floor: float) -> str:
    return f"  {label:42} {seconds:7.1f} s  {seconds / ref:5.2f}x getscu  {seconds / floor:5.2f}x floor"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--slices", type=int, default=300)
    ap.add_argument("--connections", default="", help="also try these WADO-RS connection counts, e.g. 2,8")
    ap.add_argument("--skip", default="", help="comma list of: slow,drop10,drop120,cget")
    args = ap.parse_args()
    skip = set(args.skip.split(","))
    if os.geteuid() != 0:
        print("needs root (network namespaces)")
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="wanbench-"))
    pacs = None
    try:
        study, files = copy_study(dicom_files(SHARED / "data" / "ct" / "philips_phantom_study1_1mm"), args.slices,
                                  tmp / "src")
        raw = sum(p.stat().st_size for p in files)
        wanlink("down") if (Path(os.environ.get("WANLINK_STATE", "/tmp/wanlink")) / "relay.pid").exists() else None
        wanlink("up", "50mbit", "15", "0")
        pacs = start_pacs(tmp / "orthanc", files)
        print(f"study: {len(files)} slices, {raw / 1e6:.1f} MB stored uncompressed; load {os.getloadavg()}")
        rows: list[tuple[str, float, float]] = []
        for rate, mbit, delay, loss in (("50mbit", 50, "15", "0"), ("20mbit", 20, "20", "0.1")):
            if rate == "20mbit":
                if "slow" in skip:
                    continue
                wanlink("profile", rate, delay, loss)
            ref, wire = getscu(study, tmp / "getscu")
            floor_raw = wire * 8 / (mbit * 1e6)
            res = ours(study, tmp / "src")
            print(f"== {mbit} Mbit/s, RTT {2 * int(delay)} ms, loss {loss} %  (load {os.getloadavg()[0]:.2f}) ==")
            print(line("dcmtk getscu (uncompressed)", ref, ref, floor_raw))
            if "total" not in res:
                print("  ours failed:", res)
                continue
            floor_ours = res["bytes"] * 8 / (mbit * 1e6)
            print(line(f"ours total ({res['bytes'] / 1e6:.1f} MB, ts {res.get('transfer_syntax')})", res["total"],
                       ref, floor_raw) + f"  {res['total'] / floor_ours:5.2f}x its own floor")
            print(f"  opening slice in the cache after {res['first']:.2f} s; {res['count']} slices, "
                  f"{res['pixels_equal']}/{res['compared']} pixel-equal; floors: raw {floor_raw:.1f} s, "
                  f"compressed {floor_ours:.1f} s")
            target = 0.35 if mbit == 50 else 0.30
            print(f"  target total <= {target}x getscu: {res['total'] / ref:.2f}x"
                  + (" ; first slice <= 2 s: " + f"{res['first']:.2f} s" if mbit == 50 else ""))
            rows.append((rate, ref, res["total"]))
            for n in [int(c) for c in args.connections.split(",") if c]:
                alt = ours(study, tmp / "src", connections=n)
                if "total" in alt:
                    print(line(f"ours with {n} connections", alt["total"], ref, floor_raw)
                          + f"  first slice {alt['first']:.2f} s")
        if rows and "drop10" not in skip:
            wanlink("profile", "50mbit", "15", "0")
            base = rows[0][2]
            res = ours(study, tmp / "src", outage=(4.0, 10))
            print(f"== 50 Mbit/s, 10 s drop at 4 s (load {os.getloadavg()[0]:.2f}) ==")
            print(f"  ours: {res.get('total', 0):.1f} s (undisturbed {base:.1f} s + {res.get('total', 0) - base:.1f} s;"
                  f" target <= +35 s); {res.get('count')} slices, {res.get('pixels_equal')}/{res.get('compared')}"
                  f" pixel-equal, incomplete at end {res.get('incomplete')}, flag after {res.get('flag_after')}")
        if rows and "cget" not in skip:
            res = ours(study, tmp / "src", method="get", outage=(4.0, 10))
            print(f"== our C-GET, 10 s drop at 4 s (item 5: failure response accepted, then resumed) ==")
            print(f"  {res.get('total', 0):.1f} s, {res.get('count')} slices, {res.get('pixels_equal')}/"
                  f"{res.get('compared')} pixel-equal, incomplete {res.get('incomplete')}, "
                  f"flagged while waiting {res.get('flagged_while_waiting')} {res.get('count_while_waiting', '')}"
                  + (f" error {res['error']}" if "error" in res else ""))
        if rows and "drop120" not in skip:
            res = ours(study, tmp / "src", outage=(4.0, 120))
            print(f"== 50 Mbit/s, 120 s drop at 4 s ==")
            print(f"  ours: {res.get('total', 0):.1f} s; flagged incomplete while the link was down: "
                  f"{res.get('flagged_while_waiting')} ({res.get('count_while_waiting', '-')}); completed by itself: "
                  f"{res.get('count')} slices, {res.get('pixels_equal')}/{res.get('compared')} pixel-equal, "
                  f"flag after {res.get('flag_after')}" + (f" error {res['error']}" if "error" in res else ""))
        print(f"load average at end {os.getloadavg()}")
    finally:
        if pacs is not None:
            pacs.kill()
            pacs.wait(10)
        subprocess.run(["bash", str(WANLINK), "down"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
