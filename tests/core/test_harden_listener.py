"""The listener cannot be locked out (issue 15, item 1): refused AEs, mutated A-ASSOCIATE-RQs and
drip-feeding sockets hold no association slot; a configured peer's real dcmtk echoscu is served within
1 s during and after each burst, and memory comes back."""

from __future__ import annotations

import pickle
import random
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from app.network.nodes import LocalAE, Node, NodeConfig
from app.network.scp import StorageSCP
from tests.core.hostile_sender import send_and_wait as _send_and_wait
from tests.core.net_peers import NODELAY_ENV, OUR_AET, MemorySink, dcmtk, rss_bytes

PEER_AET = "STORESCU"
MAX_ECHO_S = 1.0


HOSTILE_HOST = "127.0.0.2"  # another address on the loopback: a broken or hostile device


def _config(max_associations: int = 10) -> NodeConfig:
    cfg = NodeConfig(local=LocalAE(OUR_AET, 0, "127.0.0.1", max_associations=max_associations))
    cfg.add(Node("modality", PEER_AET, "127.0.0.1", 104))
    cfg.add(Node("broken-modality", PEER_AET, HOSTILE_HOST, 104))  # configured: its requests get associated
    return cfg


def _echo(port: int, aet: str = PEER_AET) -> float | None:
    """Seconds for a real echoscu from ``aet`` to succeed, or None."""
    start = time.monotonic()
    done = dcmtk("echoscu", "-to", "5", "-aet", aet, "-aec", OUR_AET, "127.0.0.1", str(port), check=False, timeout=20)
    return time.monotonic() - start if done.returncode == 0 else None


@pytest.fixture(scope="module")
def real_rq() -> bytes:
    """The A-ASSOCIATE-RQ echoscu really sends (captured on a plain socket)."""
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        srv.settimeout(20)  # echoscu that never connects fails here, not by hanging the suite
        port = srv.getsockname()[1]
        proc = subprocess.Popen(["echoscu", "-to", "2", "-aet", "INTRUDER", "-aec", OUR_AET, "127.0.0.1", str(port)],
                                env=NODELAY_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        conn, _ = srv.accept()
        with conn:
            conn.settimeout(5)
            data = b""
            while len(data) < 6 or len(data) < 6 + int.from_bytes(data[2:6], "big"):
                data += conn.recv(65536)
        proc.wait(10)
    assert data[0] == 0x01 and data[26:42].strip() == b"INTRUDER"
    return data


def _aet(name: str) -> bytes:
    return name.encode().ljust(16)


def _association_threads() -> int:
    return sum(1 for t in threading.enumerate() if type(t).__name__ == "Association")


def test_refused_calling_aes_hold_no_slot(real_rq: bytes) -> None:
    with StorageSCP(_config(), MemorySink(), port=0) as scp:
        for _ in range(3):  # real dcmtk peers with an unknown calling AE
            assert _echo(scp.port, "BADGUY") is None
        answers = [_send_and_wait(real_rq, scp.port) for _ in range(40)]  # well past 10 slots
        assert all(a[:1] == b"\x03" and a[-1] == 3 for a in answers)  # A-ASSOCIATE-RJ, calling AE unknown
        assert _association_threads() == 0  # none of them ever became an Association
        assert not scp._server.penalties.blocked("127.0.0.1")  # a refused AE title is no strike
        took = _echo(scp.port)
        assert took is not None and took < MAX_ECHO_S, took


def _mutants(rq: bytes, n: int, seed: int = 15) -> list[bytes]:
    rng = random.Random(seed)
    known = rq[:26] + _aet(PEER_AET) + rq[42:]  # mutants of a request from a configured AE
    out = []
    for i in range(n):
        data = bytearray(known)
        kind = i % 5
        if kind == 0:  # random bytes flipped after the AE titles
            for _ in range(rng.randint(1, 8)):
                data[rng.randrange(42, len(data))] = rng.randrange(256)
        elif kind == 1:  # truncated, header length kept
            data = data[: rng.randrange(6, len(data))]
        elif kind == 2:  # header length lies
            data[2:6] = rng.choice([0, 1, 67, len(data) + 500, 0xFFFFFFFF]).to_bytes(4, "big")
        elif kind == 3:  # an item length inside lies
            pos = rng.randrange(74, len(data) - 4)
            data[pos:pos + 2] = rng.randrange(65536).to_bytes(2, "big")
        else:  # garbage appended / wrong PDU type
            data[0] = rng.choice([0x01, 0x02, 0x04, 0x05, 0x07, 0xFF])
            data += bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
        out.append(bytes(data))
    return out


def test_mutated_requests_hold_no_slot_and_memory_returns(real_rq: bytes, tmp_path: Path) -> None:
    """A configured device on another address (in its own process) sends mutants of a real request,
    20 at a time; the decodable ones become associations, but that address holds at most half of the
    slots, and the real peer's echoscu is served during and after."""
    batch = tmp_path / "mutants.pickle"
    batch.write_bytes(pickle.dumps(_mutants(real_rq, 300)))
    with StorageSCP(_config(), MemorySink(), port=0) as scp:
        assert _echo(scp.port) is not None
        threads_before, before = threading.active_count(), rss_bytes()
        device = subprocess.Popen([sys.executable, "-m", "tests.core.hostile_sender", str(scp.port), HOSTILE_HOST,
                                   str(batch)], stdout=subprocess.PIPE, text=True)
        try:
            assert device.stdout is not None and device.stdout.readline().strip() == "started"
            during = [_echo(scp.port) for _ in range(2)]
            assert device.stdout.readline().strip() == "done"
        finally:
            device.kill()
            device.wait(10)
        after = _echo(scp.port)
        time.sleep(2.5)  # any association from a decodable mutant waits at most 2 s for its request
        growth = rss_bytes() - before
        assert all(t is not None and t < MAX_ECHO_S for t in during), during
        assert after is not None and after < MAX_ECHO_S, after
        assert scp._server.penalties.blocked(HOSTILE_HOST)  # its malformed requests got it blocked
        assert not scp._server.penalties.blocked("127.0.0.1")
        assert threading.active_count() <= threads_before + 2, threading.enumerate()
        assert growth < 32 << 20, f"memory grew by {growth >> 20} MiB"


def test_drip_feeders_are_cut_and_never_block(real_rq: bytes) -> None:
    with StorageSCP(_config(), MemorySink(), port=0, request_deadline=3.0) as scp:
        socks = [socket.create_connection(("127.0.0.1", scp.port)) for _ in range(12)]
        stop = threading.Event()

        def drip() -> None:
            for i in range(len(real_rq)):
                for s in socks:
                    try:
                        s.send(real_rq[i:i + 1])
                    except OSError:
                        pass
                if stop.wait(0.5):
                    return

        dripper = threading.Thread(target=drip, daemon=True)
        dripper.start()
        try:
            time.sleep(0.3)
            during = [_echo(scp.port) for _ in range(3)]
            assert all(t is not None and t < MAX_ECHO_S for t in during), during
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and len(scp._server.gate):
                time.sleep(0.1)
            assert len(scp._server.gate) == 0  # every dripper cut by eviction or the 3 s deadline
        finally:
            stop.set()
            for s in socks:
                s.close()
        after = _echo(scp.port)
        assert after is not None and after < MAX_ECHO_S, after


def test_accepted_associations_still_count_against_the_limit() -> None:
    from pynetdicom import AE
    from pynetdicom.sop_class import Verification

    with StorageSCP(_config(max_associations=1), MemorySink(), port=0) as scp:
        ae = AE(PEER_AET)
        ae.add_requested_context(Verification)
        first = ae.associate("127.0.0.1", scp.port, ae_title=OUR_AET)
        try:
            assert first.is_established
            assert _echo(scp.port) is None  # local limit exceeded, as configured
        finally:
            first.release()
        time.sleep(0.3)
        assert _echo(scp.port) is not None


def test_one_address_holds_at_most_half_of_the_slots() -> None:
    from pynetdicom import AE
    from pynetdicom.sop_class import Verification

    with StorageSCP(_config(max_associations=4), MemorySink(), port=0) as scp:
        ae = AE(PEER_AET)
        ae.add_requested_context(Verification)
        held = [ae.associate("127.0.0.1", scp.port, ae_title=OUR_AET, bind_address=(HOSTILE_HOST, 0))
                for _ in range(3)]
        try:
            assert [a.is_established for a in held] == [True, True, False]
            assert held[2].is_rejected  # transient: local limit exceeded
            took = _echo(scp.port)  # the other address still has its slots
            assert took is not None and took < MAX_ECHO_S, took
        finally:
            for a in held:
                if a.is_established:
                    a.release()


def test_a_block_needs_repeated_malformed_requests_and_ends() -> None:
    from app.network.pynetdicom_internals.preassoc import Penalties

    penalties = Penalties(strikes=3, window=10.0, cooldown=0.3)
    assert [penalties.strike("10.0.0.9") for _ in range(3)] == [False, False, True]
    assert penalties.blocked("10.0.0.9") and not penalties.blocked("10.0.0.8")
    time.sleep(0.4)
    assert not penalties.blocked("10.0.0.9")


def test_the_listen_backlog_takes_a_burst() -> None:
    """The kernel's accept queue (Send-Q of the listening socket) holds a burst of connections, so a
    real peer's SYN is not dropped (and retried 1 s, then 3 s later) while hostile ones arrive."""
    with StorageSCP(_config(), MemorySink(), port=0) as scp:
        shown = subprocess.run(["ss", "-ltnH", f"sport = :{scp.port}"], capture_output=True, text=True, check=True)
        backlog = int(shown.stdout.split()[2])
        assert backlog >= 128, shown.stdout
