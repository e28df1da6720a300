"""Our SCU against a real Orthanc: echo, find (vs REST), C-GET, C-MOVE, missing-only, cancel, send."""

from __future__ import annotations

import threading

import pytest

from app.network.query import Query, find
from app.network.retrieve import retrieve_study
from app.network.scp import StorageSCP
from app.network.scu import NetworkError, echo
from app.network.send import send_files
from app.tasks import Cancelled
from tests.core.net_peers import OUR_AET, MemorySink

pytest_plugins = ["tests.core.net_fixtures"]


def test_echo(net_config):
    assert echo(net_config.get("orthanc"), OUR_AET) < 5


def test_echo_to_closed_port_fails(net_config):
    from dataclasses import replace

    from tests.core.net_peers import free_port

    with pytest.raises(NetworkError, match=r"failed: cannot connect \(Connection refused\)"):
        echo(replace(net_config.get("orthanc"), port=free_port()), OUR_AET, timeout=3)


def test_echo_failures_say_why(net_config):
    from dataclasses import replace

    orthanc = net_config.get("orthanc")
    with pytest.raises(NetworkError, match="unknown host no-such-pacs.invalid"):
        echo(replace(orthanc, host="no-such-pacs.invalid"), OUR_AET, timeout=3)


def test_find_studies_match_rest(orthanc, net_config, ct_study, tilted_study):
    rows = find(net_config.get("orthanc"), OUR_AET, Query(), "study")
    rest = {s["MainDicomTags"]["StudyInstanceUID"]: s for s in orthanc.rest("GET", "/studies?expand")}
    assert {r["StudyInstanceUID"] for r in rows} == set(rest)
    for row in rows:
        n = sum(len(orthanc.rest("GET", f"/series/{s}")["Instances"]) for s in rest[row["StudyInstanceUID"]]["Series"])
        assert int(row["NumberOfStudyRelatedInstances"]) == n
        assert row["StudyDescription"] == rest[row["StudyInstanceUID"]]["MainDicomTags"].get("StudyDescription", "")
    assert {ct_study.uid, tilted_study.uid} <= {r["StudyInstanceUID"] for r in rows}


def test_find_filters(net_config, ct_study, tilted_study):
    node = net_config.get("orthanc")
    by_patient = find(node, OUR_AET, Query(patient_id="PLASTIC", modality="CT"), "study")
    assert {r["StudyInstanceUID"] for r in by_patient} == {ct_study.uid, tilted_study.uid}
    assert find(node, OUR_AET, Query(patient_id="NOBODY"), "study") == []
    in_range = find(node, OUR_AET, Query(date_from="20150101", date_to="20150301"), "study")
    assert {ct_study.uid, tilted_study.uid} <= {r["StudyInstanceUID"] for r in in_range}
    assert not [r for r in find(node, OUR_AET, Query(date_from="20160101"), "study")
                if r["StudyInstanceUID"] in (ct_study.uid, tilted_study.uid)]


def test_find_series_and_image_levels(net_config, ct_study):
    node = net_config.get("orthanc")
    series = find(node, OUR_AET, Query(study_uid=ct_study.uid), "series")
    assert len(series) == 1 and series[0]["Modality"] == "CT"
    images = find(node, OUR_AET, Query(study_uid=ct_study.uid, series_uid=series[0]["SeriesInstanceUID"]), "image")
    assert {r["SOPInstanceUID"] for r in images} == set(ct_study.sop_uids)


def test_c_get_whole_study_pixels_match(net_config, ct_study):
    sink = MemorySink()
    seen = []
    result = retrieve_study(net_config.get("orthanc"), OUR_AET, ct_study.uid, on_stored=sink,
                            method="get", progress=seen.append)
    assert not result.incomplete and result.expected == 140
    assert sink.hashes() == ct_study.hashes()
    assert all(m.solicited and m.node == "orthanc" for m in sink.metas)
    assert seen and seen[-1].done == seen[-1].total == 140


def test_c_move_whole_study_pixels_match(net_config, tilted_study):
    sink = MemorySink()
    with StorageSCP(net_config, sink) as scp:
        result = retrieve_study(net_config.get("orthanc"), OUR_AET, tilted_study.uid, on_stored=sink,
                                scp=scp, method="move")
    assert not result.incomplete and len(result.received) == 54
    assert sink.hashes() == tilted_study.hashes()
    assert all(m.solicited for m in sink.metas)


def test_retrieve_fetches_only_missing(net_config, tilted_study):
    have = set(tilted_study.sop_uids[:40])
    sink = MemorySink()
    result = retrieve_study(net_config.get("orthanc"), OUR_AET, tilted_study.uid, on_stored=sink,
                            method="get", have=have)
    assert set(sink.data) == set(tilted_study.sop_uids) - have
    assert result.requested == 14 and not result.incomplete


def test_incomplete_move_then_missing_only(net_config, tilted_study):
    """Stores that fail leave the move short: flagged incomplete, and a second run fetches the rest."""
    failing = set(tilted_study.sop_uids[5:8])
    sink = MemorySink(fail_sops=set(failing))
    node = net_config.get("orthanc")
    with StorageSCP(net_config, sink) as scp:
        first = retrieve_study(node, OUR_AET, tilted_study.uid, on_stored=sink, scp=scp, method="move")
        assert first.incomplete and first.statuses != [0]  # Orthanc ends the move with a failure status
        assert set(sink.data) and not set(sink.data) & failing and first.received == set(sink.data)
        missing = len(tilted_study.sop_uids) - len(sink.data)
        sink.fail_sops.clear()
        second = retrieve_study(node, OUR_AET, tilted_study.uid, on_stored=sink, scp=scp, method="move",
                                have=set(sink.data))
    assert second.requested == missing and not second.incomplete
    assert set(sink.data) == set(tilted_study.sop_uids)


def test_cancel_sends_c_cancel(net_config, ct_study):
    cancel = threading.Event()
    sink = MemorySink()

    def progress(p):  # cancel after a few instances
        if p.done >= 10:
            cancel.set()

    with pytest.raises(Cancelled) as info:
        retrieve_study(net_config.get("orthanc"), OUR_AET, ct_study.uid, on_stored=sink, method="get",
                       cancel=cancel, progress=progress)
    partial = info.value.result
    assert partial.cancelled and partial.incomplete
    assert 10 <= len(sink.data) < 140


def test_send_c_store(orthanc, net_config, shared_data):
    small = [shared_data / "mr" / "single" / "MR_small.dcm", shared_data / "ct" / "single" / "CT_small.dcm"]
    result = send_files(net_config.get("orthanc"), OUR_AET, small + [shared_data / "MANIFEST.md"])
    assert len(result.sent) == 2 and list(result.failed) == [str(shared_data / "MANIFEST.md")]
    found = orthanc.rest("POST", "/tools/find", json={"Level": "Instance", "Query": {"SOPInstanceUID": result.sent[0]}})
    assert len(found) == 1
