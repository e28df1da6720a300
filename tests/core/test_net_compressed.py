"""Compression on the wire against a real Orthanc: the transfer syntax actually received per method and node
setting, and pixel equality of the transcoded slices with the source files (same SOP Instance UIDs)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from pydicom import dcmread

from app.network.fetch import retrieve_into_cache
from app.network.nodes import Node
from app.store import Cache
from tests.core.net_peers import OUR_AET, Orthanc, Study

pytest_plugins = ["tests.core.net_fixtures"]

JPEG_LS_LOSSLESS = "1.2.840.10008.1.2.4.80"
UNCOMPRESSED = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1"}
LOSSLESS_COMPRESSED = {"1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.80",
                       "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.5", "1.2.840.10008.1.2.4.201"}


@pytest.fixture
def cache(tmp_path: Path):  # type: ignore[no-untyped-def]
    with Cache.open(tmp_path / "cache") as c:
        yield c


def _node(orthanc: Orthanc, **kw) -> Node:  # type: ignore[no-untyped-def]
    return Node("orthanc", orthanc.aet, "127.0.0.1", orthanc.dicom_port, "get", orthanc.dicomweb_url, **kw)


def _received(cache: Cache, study_uid: str) -> dict[str, Path]:
    return {i.sop_instance_uid: Path(i.path) for s in cache.list_series(study_uid)
            for i in cache.list_instances(s.series_instance_uid)}


def _syntaxes(files: dict[str, Path]) -> set[str]:
    return {str(dcmread(p, stop_before_pixels=True).file_meta.TransferSyntaxUID) for p in files.values()}


def _assert_pixels_equal(files: dict[str, Path], study: Study) -> None:
    source = dict(zip(study.sop_uids, study.files))
    assert set(files) == set(source)
    for uid, path in files.items():
        got, want = dcmread(path), dcmread(source[uid])
        assert np.array_equal(got.pixel_array, want.pixel_array), uid


def test_wado_rs_asks_for_jpeg_ls_lossless_by_default(orthanc: Orthanc, tilted_study: Study, cache) -> None:  # type: ignore[no-untyped-def]
    source_ts = _syntaxes(dict(zip(tilted_study.sop_uids, tilted_study.files)))
    assert source_ts <= UNCOMPRESSED  # stored uncompressed: what arrives compressed was transcoded
    result = retrieve_into_cache(cache, _node(orthanc), OUR_AET, tilted_study.uid)
    assert result.method == "dicomweb" and not result.incomplete
    files = _received(cache, tilted_study.uid)
    assert _syntaxes(files) == {JPEG_LS_LOSSLESS}
    assert sum(p.stat().st_size for p in files.values()) < 0.6 * sum(p.stat().st_size for p in tilted_study.files)
    _assert_pixels_equal(files, tilted_study)


def test_wado_rs_as_stored_when_the_node_says_so(orthanc: Orthanc, tilted_study: Study, cache) -> None:  # type: ignore[no-untyped-def]
    retrieve_into_cache(cache, _node(orthanc, wire="stored"), OUR_AET, tilted_study.uid)
    files = _received(cache, tilted_study.uid)
    assert _syntaxes(files) == _syntaxes(dict(zip(tilted_study.sop_uids, tilted_study.files)))
    _assert_pixels_equal(files, tilted_study)


def test_c_get_proposes_only_compressed_image_contexts_for_a_transcoding_pacs() -> None:
    from app.network.retrieve_ops import get_contexts

    ct, sr = "1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.88.33"
    squeezed = {ts for c, syntaxes in get_contexts([ct, sr], "lossless") if c == ct for ts in syntaxes}
    assert squeezed and squeezed <= LOSSLESS_COMPRESSED  # no uncompressed, no lossy context for the CT
    assert any(set(t) & UNCOMPRESSED for c, t in get_contexts([ct, sr], "lossless") if c == sr)
    assert any(set(t) & UNCOMPRESSED for c, t in get_contexts([ct], "stored") if c == ct)
    assert "1.2.840.10008.1.2.4.50" in {ts for c, t in get_contexts([ct], "lossy") for ts in t}  # lossy: opted in


def test_c_get_falls_back_to_as_stored_when_the_pacs_does_not_transcode(orthanc: Orthanc, tilted_study: Study,  # type: ignore[no-untyped-def]
                                                                         cache) -> None:
    # Orthanc 1.10's C-GET SCP never transcodes ("No presentation context for CT"): the node setting is wrong,
    # the retrieve still completes, as stored, pixel-equal
    node = replace(_node(orthanc, transcodes=True), dicomweb=None)
    result = retrieve_into_cache(cache, node, OUR_AET, tilted_study.uid)
    assert result.method == "get" and not result.incomplete
    files = _received(cache, tilted_study.uid)
    assert _syntaxes(files) <= UNCOMPRESSED
    _assert_pixels_equal(files, tilted_study)


def test_c_get_takes_what_is_stored_without_the_transcoding_setting(orthanc: Orthanc, tilted_study: Study,  # type: ignore[no-untyped-def]
                                                                    cache) -> None:
    result = retrieve_into_cache(cache, replace(_node(orthanc), dicomweb=None), OUR_AET, tilted_study.uid)
    assert result.method == "get"
    assert _syntaxes(_received(cache, tilted_study.uid)) <= UNCOMPRESSED


def test_a_node_rejects_an_unknown_wire_setting() -> None:
    from app.network.nodes import NodeError

    with pytest.raises(NodeError, match="wire compression"):
        Node("x", "X", "h", 104, wire="zip")  # type: ignore[arg-type]


def _move_node(orthanc: Orthanc, wire: str) -> Node:
    return Node("orthanc", orthanc.aet, "127.0.0.1", orthanc.dicom_port, "move", None, wire=wire)  # type: ignore[arg-type]


@pytest.mark.parametrize("wire", ["lossless", "stored"])
def test_c_move_keeps_a_lossless_compressed_study_compressed(orthanc: Orthanc, shared_data: Path, scp_port: int,
                                                              tmp_path: Path, wire: str) -> None:
    # Orthanc 1.10 proposes the stored JPEG-LS and uncompressed in separate contexts and sends as stored: it
    # arrives compressed, pixel-equal (the one-context case, where our order decides, is tested below)
    from app.network.nodes import LocalAE, NodeConfig
    from app.network.scp import StorageSCP
    from app.network.sink import cache_sink

    source = shared_data / "compressed" / "pydicom" / "MR_small_jpeg_ls_lossless.dcm"
    orthanc.upload([source])
    study_uid = str(dcmread(source, stop_before_pixels=True).StudyInstanceUID)
    cfg = NodeConfig(local=LocalAE(OUR_AET, scp_port, "127.0.0.1"))
    cfg.add(_move_node(orthanc, wire))
    with Cache.open(tmp_path / f"cache-{wire}") as cache, StorageSCP(cfg, cache_sink(cache)) as scp:
        result = retrieve_into_cache(cache, cfg.get("orthanc"), OUR_AET, study_uid, scp=scp)
        assert result.method == "move" and not result.incomplete
        files = _received(cache, study_uid)
        assert _syntaxes(files) == {JPEG_LS_LOSSLESS}
        (path,) = files.values()
        assert np.array_equal(dcmread(path).pixel_array, dcmread(source).pixel_array)


def test_c_move_of_an_uncompressed_study_arrives_uncompressed(orthanc: Orthanc, tilted_study: Study, scp_port: int,
                                                             cache) -> None:  # type: ignore[no-untyped-def]
    # Orthanc 1.10's C-STORE SCU proposes what it holds (and uncompressed): no transcoding to JPEG-LS on C-MOVE
    from app.network.nodes import LocalAE, NodeConfig
    from app.network.scp import StorageSCP
    from app.network.sink import cache_sink

    cfg = NodeConfig(local=LocalAE(OUR_AET, scp_port, "127.0.0.1"))
    cfg.add(_move_node(orthanc, "lossless"))
    with StorageSCP(cfg, cache_sink(cache)) as scp:
        result = retrieve_into_cache(cache, cfg.get("orthanc"), OUR_AET, tilted_study.uid, scp=scp)
    assert result.method == "move" and not result.incomplete
    files = _received(cache, tilted_study.uid)
    assert _syntaxes(files) <= UNCOMPRESSED
    _assert_pixels_equal(files, tilted_study)


def test_the_scp_orders_accepted_syntaxes_by_the_node_setting() -> None:
    from pynetdicom import ALL_TRANSFER_SYNTAXES

    from app.network.syntaxes import acceptor_order

    lossless = acceptor_order(list(ALL_TRANSFER_SYNTAXES), "lossless")
    assert sorted(lossless) == sorted(ALL_TRANSFER_SYNTAXES)
    assert lossless.index(JPEG_LS_LOSSLESS) < lossless.index("1.2.840.10008.1.2.1") < lossless.index(
        "1.2.840.10008.1.2.4.50")
    lossy = acceptor_order(list(ALL_TRANSFER_SYNTAXES), "lossy")
    assert lossy.index("1.2.840.10008.1.2.4.81") < lossy.index(JPEG_LS_LOSSLESS) < lossy.index("1.2.840.10008.1.2.1")


@pytest.mark.parametrize("wire, accepted", [("lossless", JPEG_LS_LOSSLESS), ("stored", JPEG_LS_LOSSLESS),
                                            ("lossy", "1.2.840.10008.1.2.4.81")])
def test_a_sender_proposing_several_syntaxes_in_one_context_gets_the_node_order(wire: str, accepted: str) -> None:
    # pynetdicom's acceptor takes the first syntax of *its* list that the peer proposes: the SCP orders it per node
    from pynetdicom import AE

    from app.network.nodes import LocalAE, NodeConfig
    from app.network.scp import StorageSCP
    from tests.core.net_peers import MemorySink

    cfg = NodeConfig(local=LocalAE(OUR_AET, 0, "127.0.0.1"))
    cfg.add(Node("sender", "SENDER", "127.0.0.1", 104, wire=wire))  # type: ignore[arg-type]
    with StorageSCP(cfg, MemorySink(), port=0) as scp:
        ae = AE("SENDER")
        ae.add_requested_context("1.2.840.10008.5.1.4.1.1.4", ["1.2.840.10008.1.2", "1.2.840.10008.1.2.1",
                                                                "1.2.840.10008.1.2.4.81", JPEG_LS_LOSSLESS])
        assoc = ae.associate("127.0.0.1", scp.port, ae_title=OUR_AET)
        try:
            assert assoc.is_established
            assert [cx.transfer_syntax[0] for cx in assoc.accepted_contexts] == [accepted]
        finally:
            assoc.release()


def test_wado_rs_lossy_only_when_the_node_says_so_and_the_viewer_marks_it(orthanc: Orthanc, tilted_study: Study,  # type: ignore[no-untyped-def]
                                                                          cache) -> None:
    from app.viewer.series_data import load_series_info
    from app.viewer.viewport_model import ViewportModel

    result = retrieve_into_cache(cache, _node(orthanc, wire="lossy"), OUR_AET, tilted_study.uid)
    assert result.method == "dicomweb" and not result.incomplete
    files = _received(cache, tilted_study.uid)
    (syntax,) = _syntaxes(files)
    assert syntax == "1.2.840.10008.1.2.4.81"  # JPEG-LS near-lossless, transcoded by Orthanc
    (series,) = cache.list_series(tilted_study.uid)
    model = ViewportModel()
    model.set_series(load_series_info(cache, series.series_instance_uid))
    assert "LOSSY" in model.corner_text(model.current_window()).bottom_right
