"""The DICOMweb HTTP client (streaming, pooling, proxy) + multipart parser, and ``retrieve_study(method="auto")``.

A tiny local HTTP server covers what Orthanc does not send (chunked transfer coding, errors);
Orthanc covers the real retrieve (pixel hashes against the source, missing-only, cancel, fallback).
"""

from __future__ import annotations

import http.server
import threading
from dataclasses import replace
from typing import Iterator

import pytest

from app.network.dicomweb import DicomWebClient, DicomWebError
from app.network.webhttp import HttpClient, HttpError
from app.network.multipart import MAX_HEADERS, encode_related, iter_parts
from app.network.retrieve import retrieve_study
from app.tasks import Cancelled
from tests.core.net_peers import OUR_AET, MemorySink, free_port

pytest_plugins = ["tests.core.net_fixtures"]

PARTS = [bytes(range(256)) * 2000, b"\r\n--almost-a-boundary\r\n" * 50, b"z"]


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    boundary, body = encode_related(PARTS)
    seen: list[tuple[str, int]] = []  # (request target, client port)

    def do_GET(self) -> None:  # noqa: N802
        self.seen.append((self.path, self.client_address[1]))
        if self.path.endswith("/missing"):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", f'multipart/related; type="application/dicom"; boundary={self.boundary}')
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for i in range(0, len(self.body), 70_001):  # odd chunk sizes, boundaries split across them
            piece = self.body[i:i + 70_001]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        self.wfile.write(b"0\r\n\r\n")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def chunked_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/dicom-web"
    finally:
        server.shutdown()
        server.server_close()


def test_stream_get_decodes_chunked_multipart(chunked_server: str) -> None:
    from app.network.multipart import boundary_of

    http = HttpClient(chunked_server)
    with http.stream("/studies/1.2.3", {"Accept": "multipart/related"}, size=4096) as (ctype, chunks):
        assert list(iter_parts(chunks, boundary_of(ctype))) == PARTS
    http.close()
    with DicomWebClient(chunked_server) as client:
        assert list(client.iter_instances("/studies/1.2.3")) == PARTS
        with pytest.raises(DicomWebError, match="404"):
            list(client.iter_instances("/studies/missing"))


def test_multipart_refuses_endless_headers_and_truncation() -> None:
    boundary, body = encode_related([b"abc"])
    endless = body[: body.index(b"\r\n") + 2] + b"X-Pad: " + b"a" * (MAX_HEADERS + 10)
    with pytest.raises(ValueError, match="headers too long"):
        list(iter_parts([endless], boundary.encode()))
    with pytest.raises(ValueError, match="ended inside a part"):
        list(iter_parts([body[:-20]], boundary.encode()))
    cut = body[: body.rindex(b"--\r\n")]  # every part complete, the close delimiter's "--" missing
    assert cut.endswith(boundary.encode())
    with pytest.raises(ValueError, match="before its close delimiter"):
        list(iter_parts([cut], boundary.encode()))


def test_auto_uses_wado_and_matches_source(net_config, ct_study) -> None:  # type: ignore[no-untyped-def]
    sink, seen = MemorySink(), []
    result = retrieve_study(net_config.get("orthanc"), OUR_AET, ct_study.uid, on_stored=sink, method="auto",
                            progress=seen.append)
    assert result.method == "dicomweb" and not result.incomplete
    assert result.expected == len(ct_study.files) == len(result.received)
    assert seen[-1].done == seen[-1].total == len(ct_study.files)
    assert sink.hashes() == ct_study.hashes()


def test_auto_missing_only(net_config, tilted_study) -> None:  # type: ignore[no-untyped-def]
    sink = MemorySink()
    have = set(tilted_study.sop_uids[2:])
    result = retrieve_study(net_config.get("orthanc"), OUR_AET, tilted_study.uid, on_stored=sink, method="auto",
                            have=have)
    assert set(sink.data) == set(tilted_study.sop_uids[:2]) and result.requested == 2 and not result.incomplete


def test_auto_falls_back_to_c_get_when_dicomweb_is_down(net_config, tilted_study) -> None:  # type: ignore[no-untyped-def]
    node = replace(net_config.get("orthanc"), dicomweb=f"http://127.0.0.1:{free_port()}/dicom-web")
    sink = MemorySink()
    result = retrieve_study(node, OUR_AET, tilted_study.uid, on_stored=sink, method="auto")
    assert result.method == "get" and not result.incomplete and set(sink.data) == set(tilted_study.sop_uids)
    with pytest.raises(OSError):  # explicit DICOMweb does not fall back
        retrieve_study(node, OUR_AET, tilted_study.uid, on_stored=MemorySink(), method="dicomweb")


def test_wado_cancel_is_partial_and_flagged(net_config, ct_study) -> None:  # type: ignore[no-untyped-def]
    cancel = threading.Event()

    class CancellingSink(MemorySink):
        def __call__(self, data, meta):  # type: ignore[no-untyped-def]
            if len(self.data) == 9:
                cancel.set()  # the user cancels while the 10th instance is being stored
            return super().__call__(data, meta)

    sink = CancellingSink()
    with pytest.raises(Cancelled) as info:
        retrieve_study(net_config.get("orthanc"), OUR_AET, ct_study.uid, on_stored=sink, method="dicomweb",
                       cancel=cancel)
    partial = info.value.result  # type: ignore[attr-defined]
    assert partial.cancelled and partial.incomplete
    assert 10 <= len(partial.received) < len(ct_study.files) and set(sink.data) == partial.received


def test_connections_are_reused(chunked_server: str) -> None:
    http = HttpClient(chunked_server)
    _Handler.seen.clear()
    for _ in range(3):
        with pytest.raises(HttpError, match="404"):
            http.request("GET", "/studies/missing")
    http.close()
    assert len(_Handler.seen) == 3 and len({port for _, port in _Handler.seen}) == 1


def test_environment_proxy_is_used(chunked_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.network.webhttp import env_proxy

    proxy = chunked_server.rsplit("/", 1)[0]  # the test server answers as the proxy
    monkeypatch.setenv("http_proxy", proxy)
    monkeypatch.setenv("no_proxy", "")
    assert env_proxy("http://pacs.example:8042/dicom-web") == proxy
    monkeypatch.setenv("no_proxy", "pacs.example")
    assert env_proxy("http://pacs.example:8042/dicom-web") is None
    monkeypatch.setenv("no_proxy", "")
    _Handler.seen.clear()
    with DicomWebClient("http://pacs.invalid:8042/dicom-web") as client:
        assert list(client.iter_instances("/studies/1.2.3")) == PARTS
        with pytest.raises(DicomWebError, match="404"):
            list(client.iter_instances("/studies/missing"))
    assert _Handler.seen[0][0] == "http://pacs.invalid:8042/dicom-web/studies/1.2.3"  # absolute form
