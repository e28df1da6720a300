"""NetworkSession against a real Orthanc: SCP wired to the cache, missing-only retrieve with completeness,
C-MOVE through our own SCP, PACS query, remote worklist for Worklist.refresh, state for the status bar."""

from __future__ import annotations

import socket
import threading
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from app.network.nodes import save
from app.network.query import Query
from app.network.session import NetworkSession
from app.store import Cache
from app.tasks import Cancelled
from tests.core.net_peers import free_port

pytest_plugins = ["tests.core.net_fixtures"]


@pytest.fixture
def cache(tmp_path: Path):  # type: ignore[no-untyped-def]
    with Cache.open(tmp_path / "cache") as c:
        yield c


@pytest.fixture
def audit(tmp_path: Path):  # type: ignore[no-untyped-def]
    from app.audit import AuditLog

    log = AuditLog(tmp_path / "audit.sqlite")
    yield log
    log.close()


@pytest.fixture
def make_session(tmp_path: Path, net_config, cache, audit):  # type: ignore[no-untyped-def]
    sessions: list[NetworkSession] = []

    def make(config=net_config, **kw):  # type: ignore[no-untyped-def]
        save(tmp_path / "config", config)
        session = NetworkSession(tmp_path / "config", cache, audit, "tester", **kw)
        session.start()
        sessions.append(session)
        return session

    yield make
    for s in sessions:
        s.shutdown()


def test_no_nodes_means_no_listener(tmp_path: Path, cache) -> None:  # type: ignore[no-untyped-def]
    session = NetworkSession(tmp_path / "empty", cache)
    state = session.start()
    assert not state.listening and state.port is None and state.nodes == () and not state.scp_error
    with pytest.raises(ValueError, match="no DICOM node"):
        session.retrieve("1.2.3")
    session.shutdown()


def test_scp_listens_and_reports_a_busy_port(make_session, net_config, scp_port) -> None:  # type: ignore[no-untyped-def]
    session = make_session()
    state = session.state()
    assert state.listening and state.port == scp_port and state.nodes == ("orthanc",)
    with socket.create_connection(("127.0.0.1", scp_port), timeout=2):
        pass
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        cfg = replace(net_config, local=replace(net_config.local, port=taken))
        other = make_session(cfg)
        assert not other.state().listening and str(taken) in other.state().scp_error
    session.shutdown()
    assert not session.state().listening


@pytest.mark.parametrize("web", [False, True], ids=["dimse-only node", "node with DICOMweb"])
def test_retrieve_only_missing_and_completeness(make_session, net_config, cache, tilted_study, shared_data, audit,  # type: ignore[no-untyped-def]
                                                web: bool) -> None:
    # 20 instances are already cached (imported from disk): only the other 34 may travel
    first = [p for p in tilted_study.files[:20]]
    for path in first:
        assert cache.store_file(path).status in ("imported", "duplicate")
    have = cache.instance_uids(tilted_study.uid)
    assert 0 < len(have) <= 20
    cache.mark_study_incomplete(tilted_study.uid, 54, "test: partial")
    node = net_config.get("orthanc")
    session = make_session(replace(net_config, nodes={"orthanc": node if web else replace(node, dicomweb=None)}))
    seen = []
    result = session.retrieve(tilted_study.uid, seen.append)
    assert result.received == set(tilted_study.sop_uids) - have
    # a node with a DICOMweb URL is read with WADO-RS (the fastest path), else with its DIMSE method
    assert not result.incomplete and result.method == ("dicomweb" if web else "get")
    if not web:
        assert result.requested == 54 - len(have)
    assert cache.instance_uids(tilted_study.uid) == set(tilted_study.sop_uids)
    study = cache.get_study(tilted_study.uid)
    assert "incomplete" not in study.flags
    assert seen and seen[-1].done == seen[-1].total == 54 - len(have)
    again = session.retrieve(tilted_study.uid)
    assert again.requested == 0 and not again.received
    assert session.state().last_error == "" and session.state().active == 0
    assert "110104" in [r.event_id for r in audit.records()]


def test_cancelled_retrieve_is_flagged_then_completed(make_session, cache, ct_study) -> None:  # type: ignore[no-untyped-def]
    session = make_session()
    cancel = threading.Event()

    def progress(p):  # type: ignore[no-untyped-def]
        if p.done >= 10:
            cancel.set()

    with pytest.raises(Cancelled):
        session.retrieve(ct_study.uid, progress, cancel)
    got = cache.instance_uids(ct_study.uid)
    assert 10 <= len(got) < 140
    study = cache.get_study(ct_study.uid)
    assert "incomplete" in study.flags
    result = session.retrieve(ct_study.uid)
    assert result.requested == 140 - len(got) and not result.incomplete
    assert len(cache.instance_uids(ct_study.uid)) == 140
    assert "incomplete" not in cache.get_study(ct_study.uid).flags


def test_move_goes_through_our_scp(make_session, net_config, cache, tilted_study) -> None:  # type: ignore[no-untyped-def]
    cfg = replace(net_config, nodes={"orthanc": replace(net_config.get("orthanc"), retrieve="move", dicomweb=None)})
    session = make_session(cfg)
    result = session.retrieve(tilted_study.uid, node="orthanc")
    assert result.method == "move" and not result.incomplete
    assert cache.instance_uids(tilted_study.uid) == set(tilted_study.sop_uids)
    assert cache.get_study(tilted_study.uid).source_node == "orthanc"
    assert cache.list_quarantine() == []  # solicited: on the worklist, not in quarantine


def test_query_and_remote_worklist(make_session, orthanc, ct_study, tilted_study, audit) -> None:  # type: ignore[no-untyped-def]
    from app.worklist.remote import collect

    session = make_session(recent_days=None)
    rows = session.query(Query(patient_id="PLASTIC"))
    assert {r["StudyInstanceUID"] for r in rows} == {ct_study.uid, tilted_study.uid}
    remote = session.remote_worklist()
    rest = {s["MainDicomTags"]["StudyInstanceUID"]: s for s in orthanc.rest("GET", "/studies?expand")}
    assert {r["study_instance_uid"] for r in remote} == set(rest)
    summaries = {s.study_instance_uid: s for s in collect(remote)}
    ct = summaries[ct_study.uid]
    tags = rest[ct_study.uid]["MainDicomTags"]
    assert ct.source_node == "orthanc" and ct.modalities == ("CT",) and ct.num_instances == 140
    assert ct.study_date == tags["StudyDate"] and ct.description == tags.get("StudyDescription", "")
    assert ct.patient_id == "PLASTIC"
    events = [r.event_id for r in audit.records()]
    assert events.count("110112") >= 2
    # the default poll looks at today and yesterday only: the 2015 phantoms are not "recent"
    session.recent_days = 1
    assert session.recent_query(date(2024, 3, 1)) == Query(date_from="20240229", date_to="20240301")
    assert [r for r in session.remote_worklist() if r["study_instance_uid"] in (ct_study.uid, tilted_study.uid)] == []


def test_worklist_refresh_takes_remote_results(make_session, tmp_path: Path, cache, ct_study) -> None:  # type: ignore[no-untyped-def]
    from app.worklist import Worklist

    session = make_session(recent_days=None)
    worklist = Worklist.open(tmp_path / "wl")
    try:
        entries = worklist.refresh(cache, remote=session.remote_worklist())
    finally:
        worklist.close()
    entry = next(e for e in entries if e.study_instance_uid == ct_study.uid)
    assert not entry.local and entry.site == "orthanc"


def test_unreachable_node_sets_last_error(make_session, net_config) -> None:  # type: ignore[no-untyped-def]
    dead = replace(net_config.get("orthanc"), name="dead", port=free_port())
    cfg = replace(net_config, nodes={"dead": dead, "orthanc": net_config.get("orthanc")})
    session = make_session(cfg, recent_days=None)
    remote = session.remote_worklist()  # the dead node is skipped, Orthanc still answers
    assert remote and {r["source_node"] for r in remote} == {"orthanc"}
    assert "dead" in session.state().last_error
    states = []
    session.subscribe(states.append)
    session.query(Query(), "orthanc")
    assert states and states[-1].last_error == ""


def test_session_retrieve_serves_the_prefetch_queue(make_session, cache, tilted_study) -> None:  # type: ignore[no-untyped-def]
    from app.worklist import PrefetchQueue

    session = make_session()
    updates = []
    queue = PrefetchQueue(session.retrieve, on_update=updates.append)
    try:
        assert queue.submit(tilted_study.uid, 0)
        assert queue.wait_idle(30)
    finally:
        queue.shutdown()
    assert queue.status(tilted_study.uid).state == "done"
    assert any(u.state == "running" and u.total == 54 for u in updates)
    assert cache.instance_uids(tilted_study.uid) == set(tilted_study.sop_uids)
