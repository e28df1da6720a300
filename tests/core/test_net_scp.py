"""Our Storage SCP with dcmtk peers: storescu in, echoscu, access control, UID checks, cache wiring."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app.network.nodes import LocalAE, Node, NodeConfig
from app.network.scp import StorageSCP
from tests.core.net_peers import OUR_AET, DirSink, MemorySink, dcmtk, pixel_hash

pytest_plugins = ["tests.core.net_fixtures"]

MODALITY_AET = "STORESCU"


def _config() -> NodeConfig:
    cfg = NodeConfig(local=LocalAE(OUR_AET, 0, "127.0.0.1"))
    cfg.add(Node("modality", MODALITY_AET, "127.0.0.1", 104))
    return cfg


@pytest.fixture
def scp_sink(tmp_path):
    sink = DirSink(folder=tmp_path / "in")
    sink.folder.mkdir()
    with StorageSCP(_config(), sink, port=0) as scp:
        yield scp, sink


def test_storescu_into_our_scp(scp_sink, shared_data):
    scp, sink = scp_sink
    folder = shared_data / "ct" / "philips_phantom_study2_tilted"
    run = dcmtk("storescu", "-aet", MODALITY_AET, "-aec", OUR_AET, "+sd", "+r", "-nh",
                "127.0.0.1", str(scp.port), str(folder), check=False)
    assert run.returncode == 0, run.stderr
    files = [p for p in folder.iterdir() if p.name != "DIRFILE"]
    assert len(sink.data) == len(files) == 54
    assert {pixel_hash(p) for p in files} == {pixel_hash(d) for d in sink.data.values()}
    # a push nobody asked for is unsolicited (the cache wiring quarantines it), from the known node
    assert all(not m.solicited and m.node == "modality" and m.calling_aet == MODALITY_AET for m in sink.metas)


def test_echoscu_and_unknown_aet(scp_sink):
    scp, _ = scp_sink
    ok = dcmtk("echoscu", "-aet", MODALITY_AET, "-aec", OUR_AET, "127.0.0.1", str(scp.port), check=False)
    assert ok.returncode == 0, ok.stderr
    unknown = dcmtk("echoscu", "-aet", "INTRUDER", "-aec", OUR_AET, "127.0.0.1", str(scp.port), check=False)
    assert unknown.returncode != 0 and "Rejected" in unknown.stderr + unknown.stdout
    wrong_called = dcmtk("echoscu", "-aet", MODALITY_AET, "-aec", "OTHER", "127.0.0.1", str(scp.port), check=False)
    assert wrong_called.returncode != 0


def _send(port: int, ds, calling: str = MODALITY_AET):  # type: ignore[no-untyped-def]
    from pynetdicom import AE

    ae = AE(calling)
    ae.add_requested_context(ds.SOPClassUID, [str(ds.file_meta.TransferSyntaxUID)])
    assoc = ae.associate("127.0.0.1", port, ae_title=OUR_AET)
    assert assoc.is_established
    try:
        return assoc.send_c_store(ds)
    finally:
        assoc.release()


def test_path_traversal_uid_refused(scp_sink, shared_data, tmp_path):
    scp, sink = scp_sink
    from pydicom import dcmread

    ds = dcmread(shared_data / "ct" / "single" / "CT_small.dcm")
    ds.SOPInstanceUID = "../../x"
    ds.file_meta.MediaStorageSOPInstanceUID = "../../x"
    status = _send(scp.port, ds)
    assert status.Status != 0 and 0xA000 <= status.Status <= 0xCFFF
    assert not sink.data and not list(tmp_path.rglob("*.dcm")) and not (tmp_path.parent / "x.dcm").exists()


def test_dataset_uid_must_match_command(scp_sink, shared_data):
    scp, sink = scp_sink
    from pydicom import dcmread
    from pydicom.uid import generate_uid

    ds = dcmread(shared_data / "ct" / "single" / "CT_small.dcm")
    good = _send(scp.port, ds)
    assert good.Status == 0 and list(sink.data) == [ds.SOPInstanceUID]
    ds.SeriesInstanceUID = "1.2.3.04"  # leading zero: not a valid UID
    ds.SOPInstanceUID = generate_uid()
    bad = _send(scp.port, ds)
    assert bad.Status == 0xC000 and len(sink.data) == 1


def test_failed_store_is_not_success(shared_data):
    sink = MemorySink()
    from pydicom import dcmread

    ds = dcmread(shared_data / "ct" / "single" / "CT_small.dcm")
    sink.fail_sops.add(ds.SOPInstanceUID)
    with StorageSCP(_config(), sink, port=0) as scp:
        assert _send(scp.port, ds).Status == 0xA700


def test_cache_wiring_solicited_and_unsolicited(tmp_path, shared_data):
    """Solicited stores land in the cache; unsolicited ones never reach the study list."""
    from app.network.sink import cache_sink
    from app.store import Cache
    from pydicom import dcmread

    cache = Cache.open(tmp_path / "cache")
    try:
        scp = StorageSCP(_config(), cache_sink(cache), port=0).start()
        try:
            ct = dcmread(shared_data / "ct" / "single" / "CT_small.dcm")
            with scp.expectations.expect(str(ct.StudyInstanceUID), MODALITY_AET):
                assert _send(scp.port, ct).Status == 0
            mr = dcmread(shared_data / "mr" / "single" / "MR_small.dcm")
            status = _send(scp.port, mr)
        finally:
            scp.stop()
        studies = {s.study_instance_uid for s in cache.list_studies()}
        assert str(ct.StudyInstanceUID) in studies and str(mr.StudyInstanceUID) not in studies
        # an unsolicited store is accepted into quarantine (kept aside, never listed as a study)
        assert status.Status == 0
        [kept] = [q for q in cache.list_quarantine() if q.sop_instance_uid == mr.SOPInstanceUID]
        assert kept.study_instance_uid == mr.StudyInstanceUID and kept.path.is_file()
        assert kept.source_node == "modality" and "unsolicited" in kept.reason
    finally:
        cache.close()


def test_audit_records_for_scp(tmp_path, shared_data):
    from app.audit import AuditLog
    from pydicom import dcmread

    audit = AuditLog(tmp_path / "audit.sqlite")
    with StorageSCP(_config(), MemorySink(), port=0, audit=audit) as scp:
        assert _send(scp.port, dcmread(shared_data / "ct" / "single" / "CT_small.dcm")).Status == 0
        dcmtk("echoscu", "-aet", "INTRUDER", "-aec", OUR_AET, "127.0.0.1", str(scp.port), check=False)
    import time

    time.sleep(0.3)  # connection-close events run on the association threads
    ids = [r.event_id for r in audit.records()]
    assert "110104" in ids and "110113" in ids and "110100" in ids
    assert audit.verify() == (True, None)
    audit.close()


def test_move_destination_needs_the_node(orthanc, net_config, tilted_study):
    """Orthanc is a configured node; without it in our config its C-MOVE stores are rejected."""
    from app.network.retrieve import retrieve_study

    cfg = replace(net_config, nodes={})
    cfg.add(replace(net_config.get("orthanc"), name="orthanc", ae_title="NOT-ORTHANC"))
    sink = MemorySink()
    with StorageSCP(cfg, sink) as scp:
        result = retrieve_study(cfg.get("orthanc"), OUR_AET, tilted_study.uid, on_stored=sink, scp=scp, method="move")
    assert result.incomplete and not sink.data
