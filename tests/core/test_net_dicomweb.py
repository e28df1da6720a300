"""DICOMweb against Orthanc's DICOMweb plugin: QIDO = C-FIND, WADO = the source pixels, STOW."""

from __future__ import annotations

import pytest

from app.network.dicomweb import DicomWebClient, DicomWebError
from app.network.multipart import encode_related, iter_parts
from app.network.query import Query, find
from tests.core.net_peers import OUR_AET, MemorySink

pytest_plugins = ["tests.core.net_fixtures"]


@pytest.fixture
def web(orthanc):
    with DicomWebClient(orthanc.dicomweb_url) as client:
        yield client


def test_qido_matches_c_find(web, net_config):
    node = net_config.get("orthanc")
    for query, level in ((Query(patient_id="PLASTIC"), "study"),):
        dimse = {r["StudyInstanceUID"]: r for r in find(node, OUR_AET, query, level)}
        qido = {r["StudyInstanceUID"]: r for r in web.search(query, level)}
        assert set(dimse) == set(qido) and len(qido) == 2
        for uid, row in qido.items():
            for key in ("PatientID", "StudyDate", "StudyDescription", "NumberOfStudyRelatedInstances"):
                assert row.get(key) == dimse[uid].get(key), key


def test_wado_study_matches_source_and_c_get(web, net_config, tilted_study):
    from app.network.retrieve import retrieve_study

    sink = MemorySink()
    seen = []
    result = web.retrieve_study(tilted_study.uid, sink, node_name="orthanc", progress=seen.append)
    assert not result.incomplete and result.expected == 54 and seen[-1].done == 54
    assert sink.hashes() == tilted_study.hashes()
    dimse = MemorySink()
    retrieve_study(net_config.get("orthanc"), OUR_AET, tilted_study.uid, on_stored=dimse, method="get")
    assert set(dimse.data) == set(sink.data)


def test_wado_only_missing(web, tilted_study):
    sink = MemorySink()
    have = set(tilted_study.sop_uids[3:])
    result = web.retrieve_study(tilted_study.uid, sink, have=have)
    assert set(sink.data) == set(tilted_study.sop_uids[:3]) and result.requested == 3


def test_stow_then_qido(web, orthanc, shared_data):
    from pydicom import dcmread

    path = shared_data / "mr" / "single" / "MR-SIEMENS-DICOM-WithOverlays.dcm"
    ds = dcmread(path, stop_before_pixels=True)
    web.store([path])
    rows = web.search(Query(study_uid=str(ds.StudyInstanceUID)), "study")
    assert [r["StudyInstanceUID"] for r in rows] == [str(ds.StudyInstanceUID)]
    with pytest.raises(DicomWebError):
        web.store([shared_data / "MANIFEST.md"])


def test_multipart_roundtrip_in_odd_chunks():
    parts = [b"\x00" * 1000, b"--not-a-boundary\r\n" * 3, b"x"]
    boundary, body = encode_related(parts)
    for size in (1, 7, 4096):
        chunks = [body[i:i + size] for i in range(0, len(body), size)]
        assert list(iter_parts(chunks, boundary.encode())) == parts
