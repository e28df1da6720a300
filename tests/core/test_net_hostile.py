"""Hostile peers against our Storage SCP: huge PDU lengths, drip-feeding, aborts mid-instance."""

from __future__ import annotations

import os
import socket
import struct
import tempfile
import threading
import time

import pytest

from app.network.nodes import LocalAE, Node, NodeConfig
from app.network.scp import StorageSCP
from tests.core.net_peers import OUR_AET, DirSink, MemorySink, dcmtk, rss_bytes

pytest_plugins = ["tests.core.net_fixtures"]

PEER_AET = "STORESCU"


def _config() -> NodeConfig:
    cfg = NodeConfig(local=LocalAE(OUR_AET, 0, "127.0.0.1"))
    cfg.add(Node("modality", PEER_AET, "127.0.0.1", 104))
    return cfg


def _echo(port: int) -> bool:
    return dcmtk("echoscu", "-to", "5", "-aet", PEER_AET, "-aec", OUR_AET, "127.0.0.1", str(port),
                 check=False, timeout=20).returncode == 0


def _closed_within(sock: socket.socket, seconds: float) -> float | None:
    """Seconds until the server closed ``sock`` (reading and discarding), or None."""
    start = time.monotonic()
    sock.settimeout(0.05)
    while time.monotonic() - start < seconds:
        try:
            if not sock.recv(65536):
                return time.monotonic() - start
        except socket.timeout:
            continue
        except OSError:
            return time.monotonic() - start
    return None


@pytest.mark.parametrize("pdu_type", [0x01, 0x04])
def test_huge_declared_pdu_is_aborted_fast(pdu_type):
    with StorageSCP(_config(), MemorySink(), port=0) as scp:
        before = rss_bytes()
        sock = socket.create_connection(("127.0.0.1", scp.port))
        sent, start, closed = 0, time.monotonic(), None
        try:
            sock.sendall(struct.pack(">BBL", pdu_type, 0, 0xFFFFFFF0))
            junk = os.urandom(1 << 20)
            sock.settimeout(0.2)
            while time.monotonic() - start < 3 and sent < 256 << 20:
                try:
                    sock.sendall(junk)
                    sent += len(junk)
                except (BrokenPipeError, ConnectionResetError, socket.timeout):
                    break
            closed = _closed_within(sock, 2.0)
        finally:
            sock.close()
        elapsed = time.monotonic() - start
        growth = rss_bytes() - before
        assert closed is not None and elapsed < 1.5, f"connection still open after {elapsed:.1f} s"
        assert growth < 64 << 20, f"memory grew by {growth >> 20} MiB"
        assert _echo(scp.port)  # the SCP still serves


def test_dripping_peers_do_not_block_service():
    """Three peers drip one byte per second; a real association is served meanwhile, and the
    drippers are cut off at the request deadline."""
    with StorageSCP(_config(), MemorySink(), port=0, request_deadline=2.0) as scp:
        socks = [socket.create_connection(("127.0.0.1", scp.port)) for _ in range(3)]
        stop = threading.Event()

        def drip() -> None:
            rq = b"\x01\x00\x00\x00\x10\x00" + b"\x00" * 64
            for i in range(len(rq)):
                for s in socks:
                    try:
                        s.send(rq[i:i + 1])
                    except OSError:
                        pass
                if stop.wait(1.0):
                    return

        t = threading.Thread(target=drip, daemon=True)
        t.start()
        try:
            time.sleep(0.5)
            started = time.monotonic()
            assert _echo(scp.port)
            assert time.monotonic() - started < 2.0
            assert all(_closed_within(s, 4.0) is not None for s in socks)
        finally:
            stop.set()
            for s in socks:
                s.close()
        assert _echo(scp.port)


def test_association_deadline_ends_idle_association():
    from pynetdicom import AE
    from pynetdicom.sop_class import Verification

    with StorageSCP(_config(), MemorySink(), port=0, association_deadline=1.5) as scp:
        ae = AE(PEER_AET)
        ae.add_requested_context(Verification)
        assoc = ae.associate("127.0.0.1", scp.port, ae_title=OUR_AET)
        assert assoc.is_established
        time.sleep(3.0)
        assert not assoc.is_established and assoc.is_aborted or not assoc.is_alive()


def test_abort_mid_instance_leaves_nothing(tmp_path, shared_data):
    from pydicom import dcmread
    from pynetdicom import AE, evt

    sink = DirSink(folder=tmp_path / "in")
    sink.folder.mkdir()
    temp_before = set(os.listdir(tempfile.gettempdir()))
    ds = dcmread(shared_data / "mg" / "GH133.dcm")  # 3 MB
    sent = {"n": 0}

    def cut(event) -> None:  # type: ignore[no-untyped-def]
        if type(event.pdu).__name__ == "P_DATA_TF":
            sent["n"] += 1
            if sent["n"] == 8:  # halfway: pull the plug
                event.assoc.dul.socket.socket.shutdown(socket.SHUT_RDWR)

    with StorageSCP(_config(), sink, port=0, max_pdu=64 * 1024) as scp:
        ae = AE(PEER_AET)
        ae.add_requested_context(ds.SOPClassUID, [str(ds.file_meta.TransferSyntaxUID)])
        assoc = ae.associate("127.0.0.1", scp.port, ae_title=OUR_AET, evt_handlers=[(evt.EVT_PDU_SENT, cut)])
        assert assoc.is_established
        status = assoc.send_c_store(ds)
        assert not status  # no response: the connection is gone
        assoc.abort()
        time.sleep(0.5)
        assert _echo(scp.port)
    assert sent["n"] >= 8
    assert not sink.data and not list(sink.folder.iterdir())
    assert set(os.listdir(tempfile.gettempdir())) - temp_before == set()
