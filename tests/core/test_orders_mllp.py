"""The HL7 listener against a real MLLP peer: python-hl7's ``mllp_send`` in a second process over 127.0.0.1."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hl7.client import CR, EB, SB

from app.audit import events
from app.config import Paths
from app.orders import Priority
from app.orders.ack import read_ack
from app.workstation import Workstation
from tests.core._store_factory import make_dataset, to_bytes
from tests.core.test_orders_parse import merge_message, order_message

MLLP_SEND = Path(sys.executable).with_name("mllp_send")
PRIORITIES = ["S", "A", "R", "R", "T"]  # STAT, ASAP, routine, routine, timing critical (ASAP)
WITH_IMAGES = range(0, 100, 4)  # every 4th order has a cached study


@pytest.fixture
def ws(tmp_path: Path):  # type: ignore[no-untyped-def]
    home = tmp_path / "home"
    with Workstation(Paths(home, home / "config"), "tester") as workstation:
        yield workstation


def _cache_study(ws: Workstation, accession: str, patient_id: str, issuer: str = "HOSP") -> str:
    ds = make_dataset(patient_id=patient_id)
    ds.AccessionNumber, ds.IssuerOfPatientID = accession, issuer
    assert ws.cache.store_bytes(to_bytes(ds)).status == "imported"
    return str(ds.StudyInstanceUID)


def _send(port: int, messages: list[bytes], tmp_path: Path) -> list[tuple[str, str, str]]:
    """Send with python-hl7's ``mllp_send`` (a second process); the ACKs it printed, parsed."""
    batch = tmp_path / "batch.hl7"
    batch.write_bytes(b"".join(SB + m + EB + CR for m in messages))
    done = subprocess.run([str(MLLP_SEND), "-p", str(port), "-f", str(batch), "127.0.0.1"],
                          capture_output=True, timeout=120, check=True)
    blocks = [b for b in done.stdout.split(EB) if b.strip(SB + CR + b"\n")]
    return [read_ack(b) for b in blocks]


def _patient(i: int) -> str:
    return f"MRN{i % 40:03d}"  # 40 patients, several orders each


def test_100_orders_two_merges_and_malformed_over_a_real_mllp_peer(ws: Workstation, tmp_path: Path) -> None:
    studies = {i: _cache_study(ws, f"ACC{i:03d}", _patient(i)) for i in WITH_IMAGES}
    prior_studies = [_cache_study(ws, "OLDACC1", "TEMP-1"), _cache_study(ws, "OLDACC2", "TEMP-2")]
    listener = ws.start_hl7_listener(port=0, host="127.0.0.1")
    messages, expected = [], []
    for i in range(100):
        style = "omi" if i % 3 == 0 else "orm"
        messages.append(order_message(f"ORD{i:03d}", f"ACC{i:03d}", _patient(i), priority=PRIORITIES[i % 5],
                                      style=style, reason=f"reason {i}", history=f"history {i}"))
        expected.append(("AA", f"ORD{i:03d}"))
    for n, (survivor, prior) in enumerate([("MRN001", "TEMP-1"), ("MRN002", "TEMP-2")]):
        messages.append(merge_message(f"MRG{n}", survivor, prior))
        expected.append(("AA", f"MRG{n}"))
    bad = [(b"GARBAGE", "AR", ""),
           (order_message("BAD1", "ACCX1", "MRN000").replace(b"ORM^O01", b"ORU^R01"), "AR", "BAD1"),
           (order_message("BAD2", "ACCX2", "MRN000").replace(b"^^^^^R", b"^^^^^Q9"), "AE", "BAD2"),
           (order_message("BAD3", "ACC001", "SOMEONE"), "AE", "BAD3")]  # ACC001 is MRN001's
    messages += [m for m, _, _ in bad]
    expected += [(code, control) for _, code, control in bad]
    acks = _send(listener.port, messages, tmp_path)
    assert [a[:2] for a in acks] == expected
    assert all(reason for code, _, reason in acks if code != "AA")  # every refusal says why

    assert len(ws.order_store.orders()) == 100  # the malformed ones stored nothing
    assert not ws.order_store.by_accession(["ACCX1", "ACCX2"])
    assert ws.order_store.by_accession(["ACC001"])["ACC001"].patient.patient_id == "MRN001"

    contexts = ws.order_context(studies.values())
    assert set(contexts) == set(studies.values())
    for i, uid in studies.items():
        ctx = contexts[uid]
        assert (ctx.accession, ctx.reason, ctx.history) == (f"ACC{i:03d}", f"reason {i}", f"history {i}")
        assert ctx.priority is {"S": Priority.STAT, "A": Priority.ASAP, "T": Priority.ASAP}.get(
            PRIORITIES[i % 5], Priority.ROUTINE)
        assert (ctx.ordering_physician, ctx.callback) == ("Dr Gregory House", "+41 21 555 0101")
    awaiting = {o.accession for o, _ in ws.order_list(awaiting_only=True)}
    assert awaiting == {f"ACC{i:03d}" for i in range(100) if i not in WITH_IMAGES}

    for uid, survivor in zip(prior_studies, ("MRN001", "MRN002")):  # merges re-keyed the cached studies
        assert ws.cache.get_study(uid).patient_id == survivor
    assert not [s for s in ws.cache.list_studies() if s.patient_id.startswith("TEMP")]
    audit = ws.audit.records()
    assert sum(r.event_id == events.ORDER_RECORD.code for r in audit) == 100
    merges = [json.loads(r.detail) for r in audit if r.event_id == events.PATIENT_RECORD.code]
    assert [(m["control_id"], m["studies_rekeyed"]) for m in merges] == [("MRG0", 1), ("MRG1", 1)]
    assert "TEMP" not in "".join(r.detail for r in audit)  # patient IDs only hashed
    assert ws.audit.verify() == (True, None)


def _connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def _read_block(sock: socket.socket) -> bytes:
    data = b""
    while EB not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def test_hostile_peers_get_ar_and_are_cut_off_and_the_listener_keeps_serving(ws: Workstation,
                                                                             tmp_path: Path) -> None:
    from app.orders.settings import OrdersSettings, save_orders_settings

    save_orders_settings(ws.paths.config_dir, OrdersSettings(port=0, host="127.0.0.1", max_bytes=4096,
                                                             read_timeout_s=0.5))
    listener = ws.start_hl7_listener()
    with _connect(listener.port) as big:
        big.sendall(SB + b"MSH|" + b"x" * 20000)
        code, _, reason = read_ack(_read_block(big))
        assert (code, "larger than 4096 bytes" in reason) == ("AR", True)
        assert big.recv(10) == b""  # closed
    with _connect(listener.port) as raw:
        raw.sendall(b"no start block" + EB + CR)
        assert read_ack(_read_block(raw))[0] == "AR"
    idle = _connect(listener.port)
    started = time.monotonic()
    assert idle.recv(10) == b""  # an idle peer is dropped after read_timeout_s
    assert time.monotonic() - started < 5
    idle.close()
    assert _send(listener.port, [order_message("OK1", "ACC500", "MRN500")], tmp_path) == [("AA", "OK1", "")]
    hanging = _connect(listener.port)
    hanging.sendall(SB + b"MSH|partial")
    started = time.monotonic()
    ws.stop_hl7_listener()
    assert time.monotonic() - started < 5
    hanging.close()


def test_cli_listen_serves_hl7_and_orders_lists_awaiting_images(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env_args = [sys.executable, "-m", "app", "--data-dir", str(home)]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen([*env_args, "listen", "--port", "0", "--hl7-port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = [proc.stdout.readline() for _ in range(2)]  # type: ignore[union-attr]
        assert f"receiving HL7 orders on port {port}" in lines[1], lines
        acks = _send(port, [order_message("CLI1", "ACC700", "MRN700", priority="S")], tmp_path)
        assert acks == [("AA", "CLI1", "")]
    finally:
        proc.send_signal(2)
        proc.wait(20)
    assert proc.returncode == 0, proc.stderr.read()  # type: ignore[union-attr]
    out = subprocess.run([*env_args, "orders", "--json", "--awaiting"], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    (row,) = json.loads(out)
    assert (row["accession"], row["priority"], row["awaiting_images"]) == ("ACC700", "STAT", True)
    text = subprocess.run([*env_args, "orders"], capture_output=True, text=True, timeout=60, check=True).stdout
    assert "ACC700" in text and "awaiting images" in text and "reason: Stroke symptoms" in text


def test_the_listener_speaks_tls_with_client_certificates(ws: Workstation, tmp_path: Path) -> None:
    from app.network.nodes import TlsSettings
    from app.network.tls import client_context
    from app.orders.settings import OrdersSettings, save_orders_settings
    from tests.core.net_peers import make_pki

    pki = make_pki(tmp_path / "pki")
    server = TlsSettings(True, str(pki["ca1.crt"]), str(pki["server-ca1.crt"]), str(pki["server-ca1.key"]))
    save_orders_settings(ws.paths.config_dir, OrdersSettings(port=0, host="127.0.0.1", tls=server))
    listener = ws.start_hl7_listener()
    client = TlsSettings(True, str(pki["ca1.crt"]), str(pki["client-ca1.crt"]), str(pki["client-ca1.key"]),
                         check_hostname=False)
    with client_context(client).wrap_socket(_connect(listener.port)) as tls:
        tls.sendall(SB + order_message("TLS1", "ACC900", "MRN900") + EB + CR)
        assert read_ack(_read_block(tls)) == ("AA", "TLS1", "")
    with _connect(listener.port) as plain:  # plain MLLP to a TLS port gets no ACK
        plain.sendall(SB + order_message("PLAIN", "ACC901", "MRN901") + EB + CR)
        try:
            reply = _read_block(plain)
        except ConnectionError:
            reply = b""
        assert b"MSA" not in reply
    assert set(ws.order_store.by_accession(["ACC900", "ACC901"])) == {"ACC900"}
