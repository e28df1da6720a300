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
