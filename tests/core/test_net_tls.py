"""DICOM TLS: our SCU to dcmtk storescp +tls and to Orthanc with DICOM TLS; our TLS SCP refuses
plain TCP, TLS 1.1 and client certificates from another CA."""

from __future__ import annotations

import socket
import ssl
from dataclasses import replace

import pytest

from app.network.nodes import LocalAE, Node, NodeConfig, TlsSettings
from app.network.query import Query, find
from app.network.retrieve import retrieve_study
from app.network.scp import StorageSCP
from app.network.scu import NetworkError, echo
from app.network.send import send_files
from app.network.tls import server_context
from tests.core.net_peers import OUR_AET, MemorySink, Orthanc, dcmtk, free_port, make_pki, start_storescp, stop

pytest_plugins = ["tests.core.net_fixtures"]


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


def _client_tls(pki, ca="ca1", client="client-ca1") -> TlsSettings:
    return TlsSettings(True, str(pki[f"{ca}.crt"]), str(pki[f"{client}.crt"]), str(pki[f"{client}.key"]))


def test_scu_to_dcmtk_storescp_tls(tmp_path, pki, shared_data):
    port = free_port()
    proc = start_storescp(port, tmp_path / "out", "STORESCP", "+tls", str(pki["server-ca1.key"]),
                          str(pki["server-ca1.crt"]), "+cf", str(pki["ca1.crt"]))
    try:
        node = Node("tlsscp", "STORESCP", "127.0.0.1", port, tls=_client_tls(pki))
        result = send_files(node, OUR_AET, [shared_data / "ct" / "single" / "CT_small.dcm"])
        assert len(result.sent) == 1 and not result.failed
        assert len(list((tmp_path / "out").iterdir())) == 1
        # pinning: a node trusting only CA 2 refuses storescp's CA 1 certificate
        with pytest.raises(NetworkError):
            echo(replace(node, tls=_client_tls(pki, ca="ca2")), OUR_AET, timeout=5)
    finally:
        stop(proc)


def test_scu_to_orthanc_dicom_tls(tmp_path, pki, shared_data, ct_study):
    peer = Orthanc(tmp_path / "orthanc-tls", extra={
        "DicomTlsEnabled": True, "DicomTlsCertificate": str(pki["server-ca1.crt"]),
        "DicomTlsPrivateKey": str(pki["server-ca1.key"]), "DicomTlsTrustedCertificates": str(pki["ca1.crt"]),
        "DicomTlsRemoteCertificateRequired": True})
    peer.start()
    try:
        peer.upload(ct_study.files[:3])
        node = Node("orthanc-tls", peer.aet, "127.0.0.1", peer.dicom_port, tls=_client_tls(pki))
        assert echo(node, OUR_AET) < 5
        rows = find(node, OUR_AET, Query(study_uid=ct_study.uid), "study")
        assert [r["NumberOfStudyRelatedInstances"] for r in rows] == ["3"]
        sink = MemorySink()  # C-GET over TLS: the lean loop reads the TLS socket itself
        got = retrieve_study(node, OUR_AET, ct_study.uid, on_stored=sink, method="get")
        want = {uid: h for uid, h in ct_study.hashes().items() if uid in ct_study.sop_uids[:3]}
        assert not got.incomplete and sink.hashes() == want and len(want) == 3
        with pytest.raises(NetworkError):  # the TLS port speaks TLS only
            echo(replace(node, tls=TlsSettings()), OUR_AET, timeout=5)
        with pytest.raises(NetworkError):  # Orthanc requires a client certificate from CA 1
            echo(replace(node, tls=_client_tls(pki, client="client-ca2")), OUR_AET, timeout=5)
    finally:
        peer.stop()


@pytest.fixture
def tls_scp(pki):
    cfg = NodeConfig(local=LocalAE(OUR_AET, 0, "127.0.0.1"))
    cfg.add(Node("modality", "ECHOSCU", "127.0.0.1", 104))
    server_tls = TlsSettings(True, str(pki["ca1.crt"]), str(pki["server-ca1.crt"]), str(pki["server-ca1.key"]))
    with StorageSCP(cfg, MemorySink(), port=0, tls=server_context(server_tls)) as scp:
        yield scp


def _echoscu(port: int, *tls: str):  # type: ignore[no-untyped-def]
    return dcmtk("echoscu", "-to", "5", "-aet", "ECHOSCU", "-aec", OUR_AET, *tls, "127.0.0.1", str(port),
                 check=False, timeout=30)


def test_tls_scp_accepts_ca1_client(tls_scp, pki):
    ok = _echoscu(tls_scp.port, "+tls", str(pki["client-ca1.key"]), str(pki["client-ca1.crt"]), "+cf", str(pki["ca1.crt"]))
    assert ok.returncode == 0, ok.stderr


def test_tls_scp_refuses_plain_tcp_and_foreign_ca(tls_scp, pki):
    assert _echoscu(tls_scp.port).returncode != 0
    foreign = _echoscu(tls_scp.port, "+tls", str(pki["client-ca2.key"]), str(pki["client-ca2.crt"]),
                       "+cf", str(pki["ca1.crt"]))
    assert foreign.returncode != 0
    ok = _echoscu(tls_scp.port, "+tls", str(pki["client-ca1.key"]), str(pki["client-ca1.crt"]), "+cf", str(pki["ca1.crt"]))
    assert ok.returncode == 0  # the refusals did not hurt the listener


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1 is deprecated:DeprecationWarning")
def test_tls_scp_refuses_tls_1_1(tls_scp, pki):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    ctx.load_cert_chain(pki["client-ca1.crt"], pki["client-ca1.key"])
    with socket.create_connection(("127.0.0.1", tls_scp.port), timeout=5) as raw:
        with pytest.raises(ssl.SSLError) as info:
            with ctx.wrap_socket(raw) as tls:
                tls.recv(1)
    assert "NO_PROTOCOLS_AVAILABLE" not in str(info.value).upper()  # the server refused, not our client
    assert "VERSION" in str(info.value).upper() or "PROTOCOL" in str(info.value).upper()
