"""AI results in: a triage SR (TID 1500 or a vendor's variant) and a SEG from an AI tool, imported with
`telerad import` or pushed with dcmtk storescu to `telerad listen`, raise the shared CT study to STAT with the
finding named; the clock follows the site's rule; accept / reject goes into the report; a damaged SR warns."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pydicom
import pytest

from app.cli.main import main
from tests.core import ai_fixtures as fx
from tests.core.net_peers import OUR_AET, dcmtk, free_port, wait_port


@pytest.fixture(scope="module")
def objects(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> dict:
    """The AI objects (files), built with highdicom over the shared tilted CT study, and that study's UID;
    "elsewhere" is a PE triage SR for a study not in the cache (CT_small)."""
    folder = tmp_path_factory.mktemp("ai")
    sources = fx.ct_slices(shared_data)
    other = pydicom.dcmread(shared_data / "ct" / "single" / "CT_small.dcm")
    return {"sr": fx.save(fx.triage_sr(sources), folder / "sr", "sr.dcm"),
            "vendor": fx.save(fx.vendor_sr(sources), folder / "vendor", "vendor.dcm"),
            "seg": fx.save(fx.ai_seg(sources, 20, 24), folder / "seg", "seg.dcm"),
            "broken": fx.save(fx.broken_sr(sources), folder / "broken", "broken.dcm"),
            "elsewhere": fx.save(fx.triage_sr([other], fx.SCT_PE), folder / "elsewhere", "pe.dcm"),
            "study_uid": str(sources[0].StudyInstanceUID)}


def _run(home: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["--data-dir", str(home), *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def _import(home: Path, *paths: Path) -> subprocess.CompletedProcess[str]:
    """`telerad import` as a real process (its warnings on stderr)."""
    env = {k: v for k, v in os.environ.items() if k != "TELERAD_HOME"}
    proc = subprocess.run([sys.executable, "-m", "app", "--data-dir", str(home), "import", "--json",
                           *map(str, paths)], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(scope="module")
def ct_home(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """A data dir with the shared CT study imported (by `telerad import`), copied by each test."""
    home = tmp_path_factory.mktemp("ct") / "home"
    _import(home, shared_data / fx.CT_STUDY)
    return home


@pytest.fixture
def home(tmp_path: Path, ct_home: Path) -> Path:
    import shutil

    copy = tmp_path / "home"
    shutil.copytree(ct_home, copy, ignore=shutil.ignore_patterns("lock"))
    return copy


def _entry(home: Path, study_uid: str, capsys: pytest.CaptureFixture[str]) -> dict:
    code, out, _ = _run(home, "worklist", "--json", capsys=capsys)
    assert code == 0
    return next(e for e in json.loads(out) if e["study_instance_uid"] == study_uid)


def _seconds(a: str, b: str) -> float:
    from datetime import datetime

    return (datetime.fromisoformat(a) - datetime.fromisoformat(b)).total_seconds()


def test_parse_variants(objects: dict) -> None:
    from app.ai import AiResultError
    from app.ai.parse import read_ai_object

    sr = read_ai_object(pydicom.dcmread(objects["sr"]))
    assert [(f.key, f.name, f.critical) for f in sr.findings] == [("ich", "suspected ICH", True)]
    assert sr.algorithm == "BleedFinder" and sr.references
    vendor = read_ai_object(pydicom.dcmread(objects["vendor"]))
    assert [(f.key, f.presence) for f in vendor.findings] == [("lvo", "suspected")]
    seg = read_ai_object(pydicom.dcmread(objects["seg"]))
    assert seg.kind == "SEG" and [f.key for f in seg.findings] == ["ich"]
    pe = read_ai_object(pydicom.dcmread(objects["elsewhere"]))
    assert [f.label for f in pe.findings] == ["PE"]
    absent = fx.vendor_sr([pydicom.dcmread(objects["sr"])], presence="Absent")
    assert read_ai_object(absent).findings == ()  # "Presence: Absent" is no finding
    with pytest.raises(AiResultError, match="Finding item has no code"):
        read_ai_object(pydicom.dcmread(objects["broken"]))
    with pytest.raises(AiResultError, match="not an SR or SEG"):
        read_ai_object(pydicom.Dataset())


def test_import_raises_stat_with_the_clock_rule(home: Path, objects: dict,
                                                capsys: pytest.CaptureFixture[str],
                                                caplog: pytest.LogCaptureFixture) -> None:
    uid = objects["study_uid"]
    before = _entry(home, uid, capsys)
    assert before["priority"] == "routine" and before["ai"] == "" and before["ai_findings"] == []
    time.sleep(1.1)  # the AI result arrives after the study: the restarted clock shows it
    _import(home, str(objects["sr"]))
    after = _entry(home, uid, capsys)
    assert (after["priority"], after["priority_source"], after["ai"]) == ("STAT", "ai", "AI: suspected ICH")
    assert after["ai_findings"][0]["decision"] == "pending"
    table = _run(home, "worklist", capsys=capsys)[1]
    assert "AI: suspected ICH" in table and "STAT" in table
    assert after["received"] == before["received"]
    assert _seconds(after["due"], after["received"]) >= 3601  # restart (default): from the AI result's arrival
    (home / "config").mkdir(exist_ok=True)
    (home / "config" / "ai.json").write_text(json.dumps({"tat_clock": "keep"}))
    kept = _entry(home, uid, capsys)
    assert kept["priority"] == "STAT" and _seconds(kept["due"], kept["received"]) == 3600
    (home / "config" / "ai.json").write_text(json.dumps({"tat_clock": "sometimes"}))
    caplog.clear()
    assert _entry(home, uid, capsys)["priority"] == "STAT"  # a bad setting never hides the worklist
    assert any("ai.json: tat_clock: must be one of restart, keep" in r.getMessage() for r in caplog.records)


def test_decisions_go_into_the_report(home: Path, objects: dict,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    uid = objects["study_uid"]
    _import(home, objects["vendor"])
    assert _entry(home, uid, capsys)["ai"] == "AI: suspected LVO"
    code, _, err = _run(home, "ai", uid, "--accept", "pe", capsys=capsys)
    assert code == 2 and "no AI finding 'pe'" in err
    assert _run(home, "ai", uid, "--accept", "lvo", capsys=capsys)[0] == 0
    code, out, _ = _run(home, "report", "show", uid, capsys=capsys)
    user = json.loads(_run(home, "ai", uid, "--json", capsys=capsys)[1])["findings"][0]["decided_by"]
    assert code == 0 and f"AI finding (suspected LVO): accepted by {user}" in out
    assert _entry(home, uid, capsys)["ai_findings"][0]["decision"] == "accepted"
    assert _run(home, "ai", uid, "--reject", "lvo", capsys=capsys)[0] == 0
    rows = json.loads(_run(home, "report", "show", uid, "--json", capsys=capsys)[1])
    findings = rows[-1]["sections"]["findings"]
    assert f"AI finding (suspected LVO): rejected by {user}" in findings and "accepted" not in findings
    assert rows[-1]["ai_findings"] == [f"AI finding (suspected LVO): rejected by {user}"]
    rejected = _entry(home, uid, capsys)
    assert rejected["priority_source"] != "ai" and rejected["ai"] == "AI: suspected LVO (rejected)"
    from app.audit import AuditLog

    with AuditLog(home / "audit.sqlite") as audit:
        assert sum(r.event_id == "110111" for r in audit.records()) == 2


def test_malformed_sr_warns_and_changes_nothing(home: Path, objects: dict,
                                                capsys: pytest.CaptureFixture[str],
                                                caplog: pytest.LogCaptureFixture) -> None:
    uid = objects["study_uid"]
    before = _entry(home, uid, capsys)
    done = _import(home, objects["broken"])
    assert json.loads(done.stdout)["imported"] == 1  # stored like any DICOM object
    warned = [line for line in done.stderr.splitlines() if line.startswith("WARNING")]
    assert len(warned) == 1 and "not used: Finding item has no code" in warned[0], done.stderr
    assert "Traceback" not in done.stderr
    after = _entry(home, uid, capsys)
    for key in ("priority", "priority_source", "due", "received", "status", "ai", "ai_findings"):
        assert after[key] == before[key], key
    listed = json.loads(_run(home, "ai", uid, "--json", capsys=capsys)[1])
    assert listed["findings"] == [] and "Finding item has no code" in listed["warnings"][0]
    caplog.clear()
    _entry(home, uid, capsys)
    assert not [r for r in caplog.records if r.levelname == "WARNING"]  # warned once, not on every listing


def test_cstore_from_an_ai_node_to_telerad_listen(home: Path, objects: dict,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from app.store import Cache

    uid, port = objects["study_uid"], free_port()
    assert _run(home, "nodes", "local", "--aet", OUR_AET, "--port", str(port), "--host", "127.0.0.1",
                capsys=capsys)[0] == 0
    assert _run(home, "nodes", "add", "aibox", "--aet", "AIBOX", "--host", "127.0.0.1", "--port", "104",
                capsys=capsys)[0] == 0
    env = {**os.environ, "PYTHONPATH": str(os.getcwd())}
    proc = subprocess.Popen([sys.executable, "-m", "app", "--data-dir", str(home), "listen"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        wait_port(port, 30, proc)
        for name in ("sr", "seg", "elsewhere"):
            sent = dcmtk("storescu", "-v", "-R", "-aet", "AIBOX", "-aec", OUR_AET, "127.0.0.1", str(port), str(objects[name]),
                         check=False)
            assert sent.returncode == 0, sent.stdout + sent.stderr
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    with Cache.open(home / "cache") as cache:
        assert {s.study_instance_uid for s in cache.list_studies()} == {uid}  # the PE SR brought no new study
        assert {s.modality for s in cache.list_series(uid)} == {"CT", "SR", "SEG"}
        assert len(cache.list_quarantine()) == 1
    entry = _entry(home, uid, capsys)
    assert (entry["priority"], entry["priority_source"], entry["ai"]) == ("STAT", "ai", "AI: suspected ICH")
    assert [f["finding"] for f in entry["ai_findings"]] == ["ich"]  # SR and SEG name the same finding


def test_ai_seg_segment_is_filled_and_others_only_outlined(objects: dict, shared_data: Path) -> None:
    from app.dicom.codecs import read_dataset
    from app.viewer.seg import FINDING_FILL_ALPHA, compose_rgba, outline, read_segmentation

    seg = read_segmentation(read_dataset(objects["seg"]))
    assert seg.findings == {1: "ICH"} and len(seg.frames) == 5 and all(f.fill for f in seg.frames)
    frame = seg.frames[0]
    layer = compose_rgba(frame.mask.shape, [], [frame], seg.colours)
    alpha = layer[..., 3]
    assert (alpha[outline(frame.mask)] == 255).all() and (alpha[frame.mask & ~outline(frame.mask)] == FINDING_FILL_ALPHA).all()
    assert not alpha[~frame.mask].any()
    other = read_segmentation(read_dataset(shared_data / "seg" / "seg_image_ct_binary.dcm"))
    assert other.findings == {} and not any(f.fill for f in other.frames)  # not an AI finding: outline only


def test_delete_study_forgets_its_ai_findings(home: Path, objects: dict,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    uid = objects["study_uid"]
    _import(home, objects["sr"])
    assert json.loads(_run(home, "ai", uid, "--json", capsys=capsys)[1])["findings"]
    assert _run(home, "delete", uid, capsys=capsys)[0] == 0
    assert json.loads(_run(home, "ai", uid, "--json", capsys=capsys)[1])["findings"] == []


def test_negated_and_unknown_findings(shared_data: Path) -> None:
    from app.ai.parse import read_ai_object

    ref = [pydicom.dcmread(shared_data / "ct" / "single" / "CT_small.dcm")]
    assert read_ai_object(fx.vendor_sr(ref, meaning="No intracranial hemorrhage", presence="Present")).findings == ()
    other = read_ai_object(fx.vendor_sr(ref, meaning="Pulmonary nodule", presence="Present")).findings
    assert [(f.key, f.label, f.critical) for f in other] == [("", "Pulmonary nodule", False)]  # shown, never STAT
    pe = read_ai_object(fx.triage_sr(ref, ("59282003", "SRT", "PE"))).findings  # old SNOMED designator, bare meaning
    assert [(f.key, f.critical) for f in pe] == [("pe", True)]


def test_ai_raises_only_what_is_not_stat_already() -> None:
    from datetime import datetime, timedelta, timezone

    from app.worklist.ai import AiFindingMark, AiMark, ai_clock_start
    from app.worklist.build import choose_priority
    from app.worklist.header import RequestFields
    from app.worklist.rules import Facts

    facts = Facts(("CT",), "HEAD", "", "", "", "", 50.0)
    ich = AiMark((AiFindingMark("ich", "ICH", True),), datetime(2026, 1, 1, 2, tzinfo=timezone.utc))
    assert choose_priority(None, RequestFields(), facts, (), "", ich)[1] == "ai"
    assert choose_priority(None, RequestFields("STAT"), facts, (), "", ich)[1] == "header"  # its clock stays
    assert choose_priority(None, RequestFields(), facts, (), "STAT", ich)[1] == "order"
    assert choose_priority("routine", RequestFields(), facts, (), "", ich) == (choose_priority(
        "routine", RequestFields(), facts, ())[0], "reader")  # the reader's override wins
    rejected = AiMark((AiFindingMark("ich", "ICH", True, "rejected"),), ich.result_at)
    assert choose_priority(None, RequestFields(), facts, (), "", rejected)[1] == "default"
    not_raised = AiMark(ich.findings, ich.result_at, raises=("pe",))
    assert choose_priority(None, RequestFields(), facts, (), "", not_raised)[1] == "default"
    arrival = datetime(2026, 1, 1, 1, tzinfo=timezone.utc)
    assert ai_clock_start(ich, arrival) == arrival + timedelta(hours=1)
    assert ai_clock_start(AiMark(ich.findings, ich.result_at, restart_clock=False), arrival) == arrival
