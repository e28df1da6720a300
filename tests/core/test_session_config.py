"""NetworkSession.apply_config with real peers: nodes.json written atomically and audited, invalid input
refused with the file untouched, the Storage SCP restarted only when our AE changes (dcmtk echoscu/storescu
reach it on the new port, not the old), and a running C-MOVE from Orthanc not interrupted by a restart."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Iterator

import pytest

from app.audit import AuditLog
from app.network.nodes import FILE_NAME, LocalAE, Node, NodeConfig, NodeError, TlsSettings, load, save
from app.network.session import NetworkSession
from app.store import Cache
from tests.core.net_peers import OUR_AET, dcmtk, free_port

pytest_plugins = ["tests.core.net_fixtures"]

PEER_AET = "ECHOPEER"  # the dcmtk tools call us with this title


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[Cache]:
    with Cache.open(tmp_path / "cache") as c:
        yield c


@pytest.fixture
def audit(tmp_path: Path) -> Iterator[AuditLog]:
    log = AuditLog(tmp_path / "audit.sqlite")
    yield log
    log.close()


@pytest.fixture
def base_config() -> NodeConfig:
    """Us on a free port of 127.0.0.1; the dcmtk peer as a node (so our SCP accepts it)."""
    cfg = NodeConfig(local=LocalAE(OUR_AET, free_port(), "127.0.0.1"))
    cfg.add(Node("peer", PEER_AET, "127.0.0.1", free_port()))
    return cfg


@pytest.fixture
def session(tmp_path: Path, base_config: NodeConfig, cache: Cache, audit: AuditLog) -> Iterator[NetworkSession]:
    save(tmp_path / "config", base_config)
    s = NetworkSession(tmp_path / "config", cache, audit, "admin")
    s.start()
    yield s
    s.shutdown()


def echo(port: int, calling: str = PEER_AET) -> bool:
    """dcmtk echoscu to our AE on ``port``: True if the C-ECHO succeeded."""
    return dcmtk("echoscu", "-to", "5", "-aet", calling, "-aec", OUR_AET, "127.0.0.1", str(port),
                 check=False, timeout=30).returncode == 0


def test_apply_config_persists_and_is_audited(session: NetworkSession, audit: AuditLog, tmp_path: Path) -> None:
    cfg = NodeConfig(local=session.config.local, nodes=dict(session.config.nodes))
    cfg.add(Node("pacs", "MAINPACS", "pacs.example.org", 104, "move", "https://pacs.example.org/dicom-web"))
    cfg.add(Node("peer", PEER_AET, "127.0.0.1", 11113), replace_existing=True)
    state = session.apply_config(cfg)
    assert state.nodes == ("pacs", "peer") and state.listening
    on_disk = load(tmp_path / "config")
    assert on_disk == cfg == session.config
    assert [n.name for n in session.nodes()] == ["pacs", "peer"]
    assert not list((tmp_path / "config").glob(".nodes-*"))  # the atomic write left no temp file
    cfg.remove("pacs")  # the session keeps its own copy
    assert "pacs" in session.config.nodes
    changes = [r for r in audit.records() if r.event_type == "110128"]
    assert len(changes) == 1 and changes[0].user == "admin" and changes[0].event_id == "110113"  # Security Alert
    assert json.loads(changes[0].detail) == {"action": "edit", "added": ["pacs"], "changed": ["peer"],
                                             "local": False, "removed": [], "what": "config"}


def test_invalid_config_raises_and_leaves_nodes_json(session: NetworkSession, tmp_path: Path) -> None:
    path = tmp_path / "config" / FILE_NAME
    before, config_before = path.read_bytes(), session.config
    node = Node("bad", "GOODTITLE", "127.0.0.1", 104)
    object.__setattr__(node, "ae_title", "A" * 17)  # a corrupted node that skipped Node's own check
    with pytest.raises(NodeError, match="AE title"):
        session.apply_config(NodeConfig(local=session.config.local, nodes={"bad": node}))
    no_ca = Node("tls", "TLSPACS", "127.0.0.1", 2762, tls=TlsSettings(enabled=True))
    with pytest.raises(NodeError, match="node tls: TLS ca file missing"):
        session.apply_config(NodeConfig(local=session.config.local, nodes={"tls": no_ca}))
    missing = replace(no_ca, tls=TlsSettings(enabled=True, ca_file=str(tmp_path / "nope.crt")))
    with pytest.raises(NodeError, match="not found"):
        session.apply_config(NodeConfig(local=session.config.local, nodes={"tls": missing}))
    with pytest.raises(NodeError, match="this workstation: AE title"):
        session.apply_config(NodeConfig(local=replace(session.config.local, ae_title="BAD\\AET")))
    with pytest.raises(NodeError, match="this workstation: port"):
        session.apply_config(NodeConfig(local=replace(session.config.local, port=70000)))
    with pytest.raises(NodeError, match="keys differ"):
        session.apply_config(NodeConfig(local=session.config.local, nodes={"other": no_ca}))
    assert path.read_bytes() == before and session.config is config_before


def test_local_port_change_restarts_the_scp(session: NetworkSession, base_config: NodeConfig, cache: Cache,
                                            ct_study) -> None:  # type: ignore[no-untyped-def]
    old_port, old_scp = base_config.local.port, session.scp
    assert session.state().port == old_port and echo(old_port)
    new_port = free_port()
    state = session.apply_config(replace(base_config, local=replace(base_config.local, port=new_port)))
    assert state.listening and state.port == new_port and not state.restart_pending and not state.scp_error
    assert session.scp is not old_scp
    assert echo(new_port) and not echo(old_port)
    dcmtk("storescu", "-aet", PEER_AET, "-aec", OUR_AET, "127.0.0.1", str(new_port), str(ct_study.files[0]))
    # unsolicited: the SCP on the new port keeps it in quarantine (never on the worklist)
    assert [q.sop_instance_uid for q in cache.list_quarantine()] == [ct_study.sop_uids[0]]
    # only the AE title changes: a restart on the same port, which must bind again at once
    state = session.apply_config(replace(session.config, local=replace(session.config.local, ae_title="NEWTITLE")))
    assert state.listening and state.port == new_port and state.ae_title == "NEWTITLE"
    assert dcmtk("echoscu", "-aet", PEER_AET, "-aec", "NEWTITLE", "127.0.0.1", str(new_port),
                 check=False).returncode == 0
    assert not echo(new_port)  # the old called AE title is refused now


def test_busy_port_reports_the_error_and_no_nodes_stops_listening(session: NetworkSession,
                                                                  base_config: NodeConfig) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        state = session.apply_config(replace(base_config, local=replace(base_config.local, port=taken)))
        assert not state.listening and str(taken) in state.scp_error
    state = session.apply_config(replace(base_config, nodes={}))
    assert not state.listening and not state.scp_error and not echo(base_config.local.port)
    state = session.apply_config(base_config)
    assert state.listening and state.port == base_config.local.port and echo(base_config.local.port)


def test_remote_node_change_keeps_the_same_scp(session: NetworkSession, base_config: NodeConfig) -> None:
    port, scp = base_config.local.port, session.scp
    seen = []
    session.subscribe(seen.append)
    assert scp is not None and not echo(port, "NEWPEER")  # not a configured node yet: refused
    cfg = replace(base_config, nodes=dict(base_config.nodes))
    cfg.add(Node("new", "NEWPEER", "localhost", 4242))
    state = session.apply_config(cfg)
    assert session.scp is scp and state.listening and state.port == port
    assert seen and seen[-1].nodes == ("new", "peer")
    assert echo(port, "NEWPEER")  # the running SCP's access check knows the new node at once


def test_restart_waits_for_a_running_c_move(tmp_path: Path, net_config, cache: Cache, audit: AuditLog,
                                            ct_study) -> None:  # type: ignore[no-untyped-def]
    cfg = replace(net_config, nodes={"orthanc": replace(net_config.get("orthanc"), retrieve="move", dicomweb=None)})
    save(tmp_path / "config", cfg)
    session = NetworkSession(tmp_path / "config", cache, audit, "admin")
    old_port, new_port = cfg.local.port, free_port()
    states = []
    try:
        assert session.start().port == old_port

        def progress(p) -> None:  # type: ignore[no-untyped-def]
            if p.done >= 5 and not states:  # mid-transfer, from the retrieve's own thread
                states.append(session.apply_config(replace(cfg, local=replace(cfg.local, port=new_port))))

        result = session.retrieve(ct_study.uid, progress)
        assert states and states[0].restart_pending and states[0].port == old_port
        assert result.method == "move" and not result.incomplete and len(cache.instance_uids(ct_study.uid)) == 140
        state = session.state()
        assert state.listening and state.port == new_port and not state.restart_pending
        assert echo(new_port, net_config.get("orthanc").ae_title) and not echo(old_port, "ORTHANC")
    finally:
        session.shutdown()
