"""Acceptance: the report outbox against a real Orthanc -- sign while the peer is down, deliver when it comes
up, survive SIGKILLs before a send and between a send and its bookkeeping; resends are harmless."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time
import sys
from pathlib import Path

from app.network.nodes import LocalAE, Node, NodeConfig, save
from app.reporting.settings import ReportingSettings, save_settings
from tests.core.net_peers import OUR_AET, Orthanc, free_port
from tests.core.report_fixtures import make_pki, study_files

REPO = Path(__file__).resolve().parents[2]
REPORTS = 5


def telerad(home: Path, *args: str, kill_at: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TELERAD_HOME", "TELERAD_REPORT_KILLPOINT")}
    if kill_at:
        env["TELERAD_REPORT_KILLPOINT"] = kill_at
    return subprocess.run([sys.executable, "-m", "app", "--data-dir", str(home), *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


def queue(home: Path) -> list[dict]:
    proc = telerad(home, "outbox", "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def sources(shared_data: Path, folder: Path, count: int) -> list[Path]:
    """``count`` one-image studies made from a slice of the shared CT (new study/series/SOP UIDs)."""
    import pydicom
    from pydicom.uid import generate_uid

    files = study_files(shared_data)
    out = []
    for i in range(count):
        ds = pydicom.dcmread(files[len(files) // 2])
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID = generate_uid(), generate_uid(), generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.AccessionNumber = f"ACC{i}"
        path = folder / f"src{i}.dcm"
        ds.save_as(path)
        out.append(path)
    return out


def setup_home(home: Path, peer: Orthanc, shared_data: Path, tmp: Path, *, stow: bool = False) -> list[str]:
    """Nodes + settings, ``REPORTS`` studies in the cache from node ``pacs``; returns their study UIDs."""
    from app.store import Cache

    cfg = NodeConfig(local=LocalAE(OUR_AET, free_port(), "127.0.0.1"))
    cfg.add(Node("pacs", peer.aet, "127.0.0.1", peer.dicom_port, dicomweb=peer.dicomweb_url))
    save(home / "config", cfg)
    save_settings(home / "config", ReportingSettings(retry_base_s=0.4, retry_cap_s=2.0,
                                                     dicomweb_only=frozenset({"pacs"}) if stow else frozenset()))
    tmp.mkdir(parents=True, exist_ok=True)
    with Cache.open(home / "cache") as cache:
        results = [cache.store_file(p, "pacs") for p in sources(shared_data, tmp, REPORTS if not stow else 1)]
    assert all(r.status == "imported" for r in results)
    return [r.study_instance_uid for r in results]


def sign_all(home: Path, study_uids: list[str]) -> list:
    """Draft + sign every study's report in-process (as the workstation does); returns SignedReports."""
    from app.audit import AuditLog
    from app.reporting.service import ReportingContext, draft_for_study, sign
    from app.reporting.signing import load_identity
    from app.store import Cache

    pki = make_pki(home / "pki")
    identity = load_identity(pki.p12, pki.password)
    with Cache.open(home / "cache") as cache, AuditLog(home / "audit.sqlite") as audit:
        ctx = ReportingContext.open(home, home / "config", cache, audit, "tester")
        try:
            signed = []
            for i, uid in enumerate(study_uids):
                report = draft_for_study(ctx, uid, sections={"findings": f"Report {i}: no acute abnormality."})
                signed.append(sign(ctx, report.id, identity))
            for s in signed:  # the SR and encapsulated PDF are part of their study in the cache
                modalities = {x.modality for x in cache.list_series(s.report.study.study_uid)}
                assert {"SR", "DOC", "CT"} <= modalities
        finally:
            ctx.close()
    return signed


def dataset_sha(part10: bytes) -> str:
    """sha256 of the data set after the File Meta group (the peer rewrites its own file meta)."""
    import struct

    assert part10[128:132] == b"DICM" and part10[132:136] == b"\x02\x00\x00\x00"  # (0002,0000) first
    group_length = struct.unpack("<I", part10[140:144])[0]
    return hashlib.sha256(part10[144 + group_length:]).hexdigest()


def ours_in_orthanc(peer: Orthanc, expected: dict[str, bytes]) -> dict[str, str]:
    """SOP Instance UID -> sha256 of the stored data set, for every one of our instances Orthanc holds."""
    found = {}
    for oid in peer.rest("GET", "/instances"):
        tags = peer.rest("GET", f"/instances/{oid}/simplified-tags")
        if tags["SOPInstanceUID"] in expected:
            found[tags["SOPInstanceUID"]] = dataset_sha(peer.rest("GET", f"/instances/{oid}/file"))
    return found


def test_outbox_survives_peer_down_and_sigkills(tmp_path: Path, shared_data: Path) -> None:
    home = tmp_path / "home"
    peer = Orthanc(tmp_path / "orthanc", dicom_port=free_port(), http_port=free_port())  # not started yet
    signed = sign_all(home, setup_home(home, peer, shared_data, tmp_path / "src"))
    files = {}
    for s in signed:
        for path in (s.sr, s.encapsulated_pdf):
            import pydicom

            files[str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID)] = path.read_bytes()
    assert len(files) == 2 * REPORTS
    rows = queue(home)
    assert sorted(r["sop_instance_uid"] for r in rows) == sorted(files)
    assert {(r["state"], r["node"]) for r in rows} == {("queued", "pacs")}

    # Peer down: every attempt fails, with its reason, and is scheduled for a retry.
    down = telerad(home, "outbox", "send", "--once")
    assert down.returncode == 1, down.stderr
    rows = queue(home)
    assert {r["state"] for r in rows} == {"failed"} and all(r["attempts"] == 1 for r in rows)
    assert all("association with pacs" in r["last_error"] for r in rows), rows[0]["last_error"]
    # `outbox send` keeps retrying while the peer is down; Ctrl-C cancels it cleanly, nothing is lost.
    env = {k: v for k, v in os.environ.items() if k not in ("TELERAD_HOME", "TELERAD_REPORT_KILLPOINT")}
    child = subprocess.Popen([sys.executable, "-m", "app", "--data-dir", str(home), "outbox", "send"], cwd=REPO,
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60  # wait for the retries (not a fixed time: the machine may be loaded)
    while time.monotonic() < deadline and not all(r["attempts"] >= 2 for r in queue(home)):
        time.sleep(0.5)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=30)
    assert child.returncode == 130 and "cancelled" in err, err
    rows = queue(home)
    assert {r["state"] for r in rows} == {"failed"} and all(r["attempts"] >= 2 for r in rows)

    peer.start()
    try:
        # Killed after claiming the 3rd row, before sending it (the runner waits out the backoff first).
        run = telerad(home, "outbox", "send", kill_at="outbox_before_send:3")
        assert run.returncode == -9, run.stderr
        assert len(ours_in_orthanc(peer, files)) == 2
        states = [r["state"] for r in queue(home)]
        assert states.count("sent") == 2 and states.count("sending") == 1

        # Restarted, killed after the peer stored an instance but before it was marked sent.
        run = telerad(home, "outbox", "send", "--once", kill_at="outbox_after_send:2")
        assert run.returncode == -9, run.stderr
        assert len(ours_in_orthanc(peer, files)) == 4
        states = [r["state"] for r in queue(home)]
        assert states.count("sent") == 3 and states.count("sending") == 1

        # Restarted without kill points: everything is delivered (the stored-but-unmarked one is resent).
        run = telerad(home, "outbox", "send")
        assert run.returncode == 0, run.stderr
        assert "1 interrupted sends resumed" in run.stdout
        assert {r["state"] for r in queue(home)} == {"sent"}
        want = {uid: dataset_sha(data) for uid, data in files.items()}
        assert ours_in_orthanc(peer, files) == want

        # An identical resend of every object is harmless: accepted, nothing duplicated or changed.
        from app.network.nodes import load
        from app.reporting.delivery import ReportSender

        sender = ReportSender(load(home / "config"))
        for s in signed:
            sender(str(s.sr), "pacs")
            sender(str(s.encapsulated_pdf), "pacs")
        assert peer.rest("GET", "/statistics")["CountInstances"] == 2 * REPORTS
        assert ours_in_orthanc(peer, files) == want
    finally:
        peer.stop()

    from app.audit import AuditLog

    with AuditLog(home / "audit.sqlite") as audit:
        records = audit.records()
        assert audit.verify() == (True, None)
    exports = [r for r in records if r.event_id == "110106"]
    assert sum(r.outcome == 0 for r in exports) >= 2 * REPORTS
    assert sum(r.outcome == 8 for r in exports) >= 4 * REPORTS  # the attempts while the peer was down
    signings = [json.loads(r.detail) for r in records if r.event_id == "110103"]
    assert len(signings) == REPORTS and all(d["what"] == "report signed" and d["destination"] == "pacs"
                                            for d in signings)


def test_dicomweb_only_node_gets_stow_rs(tmp_path: Path, shared_data: Path) -> None:
    home = tmp_path / "home"
    peer = Orthanc(tmp_path / "orthanc", dicom_port=free_port(), http_port=free_port())
    peer.start()
    try:
        signed = sign_all(home, setup_home(home, peer, shared_data, tmp_path / "src", stow=True))
        run = telerad(home, "outbox", "send", "--once")
        assert run.returncode == 0, run.stderr
        assert {r["state"] for r in queue(home)} == {"sent"}
        uids = {peer.rest("GET", f"/instances/{i}/simplified-tags")["SOPInstanceUID"]
                for i in peer.rest("GET", "/instances")}
        import pydicom

        assert {str(pydicom.dcmread(p).SOPInstanceUID) for p in (signed[0].sr, signed[0].encapsulated_pdf)} == uids
    finally:
        peer.stop()
    from app.audit import AuditLog

    with AuditLog(home / "audit.sqlite") as audit:
        details = [json.loads(r.detail) for r in audit.records() if r.event_id == "110106"]
    assert [d["transport"] for d in details] == ["stow", "stow"]
