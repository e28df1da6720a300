"""The network CLI end to end: nodes, echo, find, retrieve (get/move/dicomweb) into the cache, send,
listen, and the audit trail they leave."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from app.cli.main import main
from tests.core.net_peers import OUR_AET, dcmtk, wait_port

pytest_plugins = ["tests.core.net_fixtures"]


@pytest.fixture
def home(tmp_path, orthanc, scp_port):
    home = tmp_path / "home"
    assert main(["--data-dir", str(home), "nodes", "local", "--aet", OUR_AET, "--port", str(scp_port),
                 "--host", "127.0.0.1"]) == 0
    assert main(["--data-dir", str(home), "nodes", "add", "orthanc", "--aet", orthanc.aet, "--host", "127.0.0.1",
                 "--port", str(orthanc.dicom_port), "--dicomweb", orthanc.dicomweb_url]) == 0
    return home


def _run(home, *args):  # type: ignore[no-untyped-def]
    return main(["--data-dir", str(home), *args])


def test_nodes_add_list_remove(home, capsys):
    assert _run(home, "nodes", "add", "orthanc", "--aet", "X", "--host", "h", "--port", "1") == 2  # exists
    assert _run(home, "nodes", "add", "bad", "--aet", "A\\B", "--host", "h", "--port", "1") == 2
    assert _run(home, "nodes", "add", "pacs2", "--aet", "PACS2", "--host", "10.0.0.2", "--port", "11112",
                "--retrieve", "move", "--tls", "--tls-ca", "/ca.pem", "--wire", "stored", "--transcodes") == 0
    with pytest.raises(SystemExit):
        _run(home, "nodes", "add", "pacs3", "--aet", "P3", "--host", "h", "--port", "1", "--wire", "jpeg")
    capsys.readouterr()
    assert _run(home, "nodes", "list") == 0
    assert "wire=stored transcodes" in capsys.readouterr().out
    assert _run(home, "nodes", "list", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["local"]["ae_title"] == OUR_AET
    assert listed["nodes"]["pacs2"]["retrieve"] == "move" and listed["nodes"]["pacs2"]["tls"]["enabled"]
    assert (listed["nodes"]["pacs2"]["wire"], listed["nodes"]["pacs2"]["transcodes"]) == ("stored", True)
    assert (listed["nodes"]["orthanc"]["wire"], listed["nodes"]["orthanc"]["transcodes"]) == ("lossless", False)
    assert _run(home, "nodes", "remove", "pacs2") == 0
    assert _run(home, "nodes", "remove", "pacs2") == 2
    assert not list((home / "config").glob(".nodes-*"))  # no temp file left by the atomic write


def test_echo_find_retrieve_send(home, capsys, tilted_study):
    from app.audit import AuditLog
    from app.store import Cache

    assert _run(home, "echo", "orthanc") == 0
    assert _run(home, "echo", "nowhere") == 1
    capsys.readouterr()
    assert _run(home, "find", "orthanc", "--patient-id", "PLASTIC", "--json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert tilted_study.uid in {r["StudyInstanceUID"] for r in rows}
    assert _run(home, "find", "orthanc", "--level", "series", "--study", tilted_study.uid, "--dicomweb") == 0
    assert "CT" in capsys.readouterr().out

    assert _run(home, "retrieve", "orthanc", tilted_study.uid, "--json") == 0
    first = json.loads(capsys.readouterr().out)
    assert first["received"] == 54 and first["outcomes"] == {"imported": 54} and not first["incomplete"]
    assert _run(home, "retrieve", "orthanc", tilted_study.uid, "--json") == 0  # nothing missing
    assert json.loads(capsys.readouterr().out)["requested"] == 0
    for method in ("move", "dicomweb"):
        assert _run(home, "retrieve", "orthanc", tilted_study.uid, "--all", "--method", method, "--json") == 0
        again = json.loads(capsys.readouterr().out)
        assert again["outcomes"] == {"duplicate": 54}, method

    with Cache.open(home / "cache") as cache:
        study = cache.get_study(tilted_study.uid)
        assert study is not None and study.num_instances == 54 and study.source_node == "orthanc"
    assert _run(home, "send", "orthanc", tilted_study.uid) == 0
    assert "54 sent, 0 failed" in capsys.readouterr().out

    with AuditLog(home / "audit.sqlite") as audit:
        ids = [r.event_id for r in audit.records()]
        assert audit.verify() == (True, None)
    assert {"110100", "110112", "110102", "110104"} <= set(ids)


def test_listen_refuses_unknown_and_keeps_unsolicited_off_the_worklist(home, tmp_path, shared_data, scp_port):
    from app.store import Cache

    assert _run(home, "nodes", "add", "modality", "--aet", "MODALITY", "--host", "127.0.0.1", "--port", "104") == 0
    env = {**os.environ, "PYTHONPATH": str(os.getcwd())}
    proc = subprocess.Popen([sys.executable, "-m", "app", "--data-dir", str(home), "listen"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        wait_port(scp_port, 20, proc)
        ct_small = str(shared_data / "ct" / "single" / "CT_small.dcm")
        intruder = dcmtk("storescu", "-v", "-aet", "INTRUDER", "-aec", OUR_AET, "127.0.0.1", str(scp_port),
                         ct_small, check=False)
        assert intruder.returncode != 0 and "Association Rejected" in intruder.stdout + intruder.stderr
        pushed = dcmtk("storescu", "-v", "-aet", "MODALITY", "-aec", OUR_AET, "127.0.0.1", str(scp_port),
                       ct_small, check=False)
        # a known node is associated; its unsolicited store is quarantined (or refused until the
        # cache can quarantine), never imported
        assert "Received Store Response" in pushed.stdout + pushed.stderr
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    with Cache.open(home / "cache") as cache:
        assert cache.list_studies() == []
