"""Reading from home against a real Orthanc: reader-first fetch order, the "incomplete" flag on every failure
path (cancel, link cut for good), automatic resume after a drop (WADO-RS and C-GET, through a TCP relay we cut),
and the same method choice for the CLI and the window."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from app.network.arrivals import Arrivals
from app.network.fetch import Resume, choose_method, retrieve_into_cache
from app.network.fetch_order import Slot, middle_out, reader_order
from app.network.nodes import Node, NodeConfig, save
from app.store import Cache
from app.tasks import Cancelled
from tests.core.net_peers import OUR_AET, Orthanc, Study

pytest_plugins = ["tests.core.net_fixtures"]
FAST = Resume(give_up_after=30.0, first_delay=0.2, max_delay=0.5)


class Relay:
    """A TCP relay to ``port`` that can be cut (open connections reset, new ones refused) and restored."""

    def __init__(self, port: int) -> None:
        self.target, self.down, self.conns = port, False, []  # type: ignore[var-annotated]
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            if self.down:
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target))
            self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self, seconds: float | None = None) -> None:
        self.down = True
        for s in list(self.conns):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if seconds is not None:
            threading.Timer(seconds, self.restore).start()

    def restore(self) -> None:
        self.down = False

    def close(self) -> None:
        self.cut()
        self.server.close()


@pytest.fixture
def cache(tmp_path: Path):  # type: ignore[no-untyped-def]
    with Cache.open(tmp_path / "cache") as c:
        yield c


@pytest.fixture
def relays(orthanc: Orthanc):  # type: ignore[no-untyped-def]
    web, dimse = Relay(orthanc.http_port), Relay(orthanc.dicom_port)
    yield web, dimse
    web.close()
    dimse.close()


def _node(orthanc: Orthanc, relays=None, **kw) -> Node:  # type: ignore[no-untyped-def]
    http, dicom = (relays[0].port, relays[1].port) if relays else (orthanc.http_port, orthanc.dicom_port)
    return Node("orthanc", orthanc.aet, "127.0.0.1", dicom, "get", f"http://127.0.0.1:{http}/dicom-web", **kw)


def _flags(cache: Cache, study_uid: str) -> tuple[str, ...]:
    study = cache.get_study(study_uid)
    return study.flags if study is not None else ()


# -- order and availability (no peer) --------------------------------------------------------------
def test_reader_order_opens_on_the_middle_slice_then_outward_then_other_series() -> None:
    ct = [Slot("ct", f"c{i}", i, 2) for i in range(1, 8)]
    scout = [Slot("scout", "s1", 1, 1)]
    order = [s.sop_uid for s in reader_order(scout + ct[::-1])]
    assert order == ["c4", "c5", "c3", "c6", "c2", "c7", "c1", "s1"]  # a one-slice scout is not the opening series
    assert [s.sop_uid for s in middle_out(ct[:2])] == ["c2", "c1"]  # index len // 2, as the viewer opens
    assert reader_order(ct, first_series="scout") == reader_order(ct)  # unknown opening series: ignored safely


def test_arrivals_counts_and_waits() -> None:
    arrivals = Arrivals()
    arrivals.plan([("s", "a"), ("s", "b"), ("t", "c")], already=["z"])
    assert arrivals.first() == "a" and arrivals.snapshot().label == "1 of 4"
    assert not arrivals.wait_for(timeout=0.05)
    seen = []
    arrivals.subscribe(lambda uid, snap: seen.append((uid, snap.label)))
    threading.Timer(0.05, arrivals.arrived, args=("a", 1000)).start()
    assert arrivals.wait_for(timeout=5)
    assert seen == [("a", "2 of 4")] and arrivals.missing() == ["b", "c"] and arrivals.missing("t") == ["c"]
    assert "2 of 4 instances" in arrivals.snapshot().message() and "left" in arrivals.snapshot().message()


# -- against Orthanc ----------------------------------------------------------------------------------
def test_the_opening_slice_arrives_first(orthanc: Orthanc, tilted_study: Study, cache) -> None:  # type: ignore[no-untyped-def]
    from pydicom import dcmread

    arrivals, seen = Arrivals(), []
    arrivals.subscribe(lambda uid, snap: seen.append(uid) if uid else None)
    retrieve_into_cache(cache, _node(orthanc), OUR_AET, tilted_study.uid, arrivals=arrivals)
    numbers = {str(ds.SOPInstanceUID): int(ds.InstanceNumber)
               for ds in (dcmread(p, stop_before_pixels=True) for p in tilted_study.files)}
    by_number = sorted(numbers, key=numbers.get)  # type: ignore[arg-type]
    assert seen[0] == arrivals.first() == by_number[len(by_number) // 2]
    assert len(seen) == len(tilted_study.files) and _flags(cache, tilted_study.uid) == ()


@pytest.mark.parametrize("method", ["dicomweb", "get"])
def test_the_worklist_count_and_the_viewer_follow_every_method(orthanc: Orthanc, tilted_study: Study, cache,  # type: ignore[no-untyped-def]
                                                               method: str) -> None:
    # the flag set with the first instance carries the planned total (WADO-RS: "1 of 54" on the worklist at once);
    # C-GET has no plan, but its arrivals are counted for the viewer too
    arrivals, reasons = Arrivals(), []
    arrivals.subscribe(lambda uid, snap: reasons.append(cache.get_study(tilted_study.uid).incomplete_reason)
                       if uid and not reasons else None)
    retrieve_into_cache(cache, _node(orthanc), OUR_AET, tilted_study.uid, method=method, arrivals=arrivals)
    assert arrivals.snapshot().received == len(tilted_study.files) and arrivals.snapshot().done
    assert reasons and ("(1 of 54 instances)" in reasons[0]) is (method == "dicomweb")
    assert _flags(cache, tilted_study.uid) == ()


def test_cancel_midway_leaves_the_study_flagged_incomplete(orthanc: Orthanc, tilted_study: Study, cache) -> None:  # type: ignore[no-untyped-def]
    cancel = threading.Event()
    with pytest.raises(Cancelled):
        retrieve_into_cache(cache, _node(orthanc), OUR_AET, tilted_study.uid, cancel=cancel,
                            progress=lambda p: cancel.set() if p.done >= 5 else None)
    assert 0 < len(cache.instance_uids(tilted_study.uid)) < len(tilted_study.files)
    assert "incomplete" in _flags(cache, tilted_study.uid)


@pytest.mark.parametrize("method", ["dicomweb", "get"])
def test_a_drop_midway_resumes_by_itself(orthanc: Orthanc, tilted_study: Study, cache, relays, method) -> None:  # type: ignore[no-untyped-def]
    arrivals, flagged = Arrivals(), []
    arrivals.subscribe(lambda uid, snap: flagged.append(_flags(cache, tilted_study.uid)) if snap.waiting else None)
    cut = threading.Event()

    def progress(p) -> None:  # type: ignore[no-untyped-def]
        if p.done >= 10 and not cut.is_set():
            cut.set()
            relays[0 if method == "dicomweb" else 1].cut(1.0)

    result = retrieve_into_cache(cache, _node(orthanc, relays), OUR_AET, tilted_study.uid, method=method,
                                 arrivals=arrivals, resume=FAST, progress=progress)
    assert cut.is_set() and flagged and all("incomplete" in f for f in flagged)  # flagged while the link was down
    assert not result.incomplete and _flags(cache, tilted_study.uid) == ()
    assert cache.instance_uids(tilted_study.uid) == set(tilted_study.sop_uids)


def test_a_link_that_stays_down_leaves_it_flagged_then_a_retrieve_fetches_only_the_rest(  # type: ignore[no-untyped-def]
        orthanc: Orthanc, tilted_study: Study, cache, relays) -> None:
    def progress(p) -> None:  # type: ignore[no-untyped-def]
        if p.done >= 10 and not relays[0].down:
            relays[0].cut()  # the whole link: DICOMweb and DIMSE
            relays[1].cut()

    with pytest.raises(Exception):
        retrieve_into_cache(cache, _node(orthanc, relays), OUR_AET, tilted_study.uid, progress=progress,
                            resume=Resume(give_up_after=1.0, first_delay=0.2, max_delay=0.3))
    have = cache.instance_uids(tilted_study.uid)
    assert 0 < len(have) < len(tilted_study.files) and "incomplete" in _flags(cache, tilted_study.uid)
    relays[0].restore()
    relays[1].restore()
    result = retrieve_into_cache(cache, _node(orthanc, relays), OUR_AET, tilted_study.uid)
    assert result.requested == len(tilted_study.files) - len(have) and not result.incomplete
    assert _flags(cache, tilted_study.uid) == ()


def test_cli_and_window_pick_the_same_method(orthanc: Orthanc, tilted_study: Study, tmp_path: Path,  # type: ignore[no-untyped-def]
                                             scp_port) -> None:
    from app.network.nodes import LocalAE
    from app.network.session import NetworkSession
    from app.workstation.transfer import retrieve

    with_web, dimse_only = _node(orthanc), replace(_node(orthanc), dicomweb=None)
    move = replace(dimse_only, retrieve="move")  # C-MOVE to our listener (Orthanc knows it on scp_port)
    assert [choose_method(n) for n in (with_web, dimse_only, move)] == ["dicomweb", "get", "move"]
    assert choose_method(replace(with_web, retrieve="move")) == "dicomweb"  # a DICOMweb URL wins for both
    for node in (with_web, dimse_only, move):
        cfg = NodeConfig(local=LocalAE(OUR_AET, scp_port, "127.0.0.1"))
        cfg.add(node)
        save(tmp_path / node.retrieve / str(bool(node.dicomweb)), cfg)
        with Cache.open(tmp_path / f"cli-{node.retrieve}{bool(node.dicomweb)}") as c1, \
                Cache.open(tmp_path / f"win-{node.retrieve}{bool(node.dicomweb)}") as c2:
            ws = SimpleNamespace(nodes=lambda cfg=cfg: cfg, cache=c1, audit=None, user="u")
            cli = retrieve(ws, "orthanc", tilted_study.uid)  # type: ignore[arg-type]
            session = NetworkSession(tmp_path / node.retrieve / str(bool(node.dicomweb)), c2,
                                     listen=node.retrieve == "move")
            session.start()
            window = session.retrieve(tilted_study.uid, node="orthanc")
            session.shutdown()
        assert cli.method == window.method == choose_method(node)
        assert len(cli.received) == len(window.received) == len(tilted_study.files)
