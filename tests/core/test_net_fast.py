"""The fast receive paths: raw UID walker, background writer, lean C-GET, pipelined WADO-RS."""

from __future__ import annotations

import threading
import time
from io import BytesIO
from pathlib import Path

import pytest

from app.network.dicomweb import DicomWebClient
from app.network.rawuids import ScanError, scan_uids
from app.network.received import ReceivedMeta, StoreOutcome, part10_uids, read_uids
from app.network.retrieve import retrieve_study
from app.network.retrieve_ops import c_get, identifier
from app.network.writer import BackgroundStore
from tests.core.net_peers import OUR_AET, MemorySink

pytest_plugins = ["tests.core.net_fixtures"]


def _dataset(path: Path) -> tuple[bytes, str]:
    """(data set bytes after the File Meta, transfer syntax) of a Part 10 file."""
    from pydicom.filereader import _read_file_meta_info, read_preamble

    raw = path.read_bytes()
    fh = BytesIO(raw)
    read_preamble(fh, False)
    meta = _read_file_meta_info(fh)
    return raw[fh.tell():], str(meta.TransferSyntaxUID)


def test_raw_walker_agrees_with_pydicom(shared_data: Path) -> None:
    folders = ["ct/philips_phantom_study1_1mm", "mr/siemens_sag_t1_3yo_192slices", "compressed", "sr", "seg",
               "pr_gsps", "rt", "us", "mg"]
    checked = fell_back = 0
    for folder in folders:
        for path in sorted(p for p in (shared_data / folder).rglob("*") if p.is_file())[:40]:
            try:
                data, ts = _dataset(path)
                want = read_uids(path.read_bytes())
            except Exception:
                continue  # not a Part 10 file
            try:
                got = scan_uids(data, ts)
            except ScanError:
                fell_back += 1
                continue
            assert got == want, path
            assert part10_uids(path.read_bytes()) == want, path
            checked += 1
    assert checked > 100 and fell_back < checked // 10


def test_raw_walker_refuses_what_it_cannot_read(shared_data: Path) -> None:
    path = next((shared_data / "ct" / "philips_phantom_study1_1mm").iterdir())
    data, ts = _dataset(path)
    with pytest.raises(ScanError):
        scan_uids(data[:300], ts)  # cut inside the header elements
    with pytest.raises(ScanError):
        scan_uids(data, "1.2.840.10008.1.2.2")  # big endian: pydicom's job
    with pytest.raises(ScanError):
        scan_uids(b"\x08\x00\x16\x00\xff\xff\xff\x7f" + data, "1.2.840.10008.1.2")  # length past the end


def _meta(n: int) -> ReceivedMeta:
    return ReceivedMeta("1.2", f"1.2.{n}", "1.3", "1.4", "1.2.840.10008.1.2.1", "X", "h", None, True)


def test_writer_bounds_memory_and_counts_failures() -> None:
    done: list[tuple[str, str]] = []
    peak = [0]

    def slow(data: bytes, meta: ReceivedMeta) -> StoreOutcome:
        time.sleep(0.01)
        if meta.sop_instance_uid.endswith(".3"):
            raise OSError("disk full")
        return StoreOutcome("rejected", "bad") if meta.sop_instance_uid.endswith(".4") else StoreOutcome("imported")

    writer = BackgroundStore(slow, lambda m, o: done.append((m.sop_instance_uid, o.status)), max_bytes=3000)
    for n in range(10):
        assert writer.submit(b"x" * 1000, _meta(n)).status == "queued"
        peak[0] = max(peak[0], writer._queued)
    writer.close()
    assert peak[0] <= 3000  # submit blocked instead of queueing more
    assert len(done) == 10 and writer.failed == 2
    assert dict(done)["1.2.3"] == "rejected" and dict(done)["1.2.5"] == "imported"
    with pytest.raises(RuntimeError):
        writer.submit(b"x", _meta(11))


def test_writer_group_commits_through_many() -> None:
    batches: list[int] = []
    gate = threading.Event()

    class Sink:
        def __call__(self, data: bytes, meta: ReceivedMeta) -> StoreOutcome:
            gate.wait(5)
            batches.append(1)
            return StoreOutcome("imported")

        def many(self, items):  # type: ignore[no-untyped-def]
            batches.append(len(items))
            return [StoreOutcome("imported") for _ in items]

    ok: list[str] = []
    writer = BackgroundStore(Sink(), lambda m, o: ok.append(o.status))
    writer.submit(b"a", _meta(0))  # the writer blocks on this one while the rest queue up
    time.sleep(0.05)
    for n in range(1, 9):
        writer.submit(b"b", _meta(n))
    gate.set()
    writer.close()
    assert len(ok) == 9 and max(batches) > 1


def test_c_get_failures_after_success_answer_leave_study_incomplete(net_config, tilted_study) -> None:
    """Deferred stores: the peer heard success for all, yet failed stores make the retrieve incomplete,
    and a missing-only retrieve then completes the study."""
    failing = set(tilted_study.sop_uids[3:6])
    sink = MemorySink(fail_sops=set(failing))
    node = net_config.get("orthanc")
    first = retrieve_study(node, OUR_AET, tilted_study.uid, on_stored=sink, method="get")
    assert first.statuses == [0]  # Orthanc counted every sub-operation as completed
    assert first.incomplete and first.failed == 3 and not first.received & failing
    assert first.received == set(sink.data)
    sink.fail_sops.clear()
    second = retrieve_study(node, OUR_AET, tilted_study.uid, on_stored=sink, method="get", have=set(sink.data))
    assert second.requested == 3 and not second.incomplete
    assert sink.hashes() == tilted_study.hashes()


def test_lean_c_get_deferred_and_direct_match_the_source(net_config, tilted_study) -> None:
    node = net_config.get("orthanc")
    classes = {"1.2.840.10008.5.1.4.1.1.2"}
    deferred, direct = MemorySink(), MemorySink()
    a = c_get(node, OUR_AET, deferred, classes, identifier(tilted_study.uid))
    b = c_get(node, OUR_AET, direct, classes, identifier(tilted_study.uid), defer=False)
    assert a.status == b.status == 0 and a.completed == b.completed == 54
    assert deferred.data == direct.data and deferred.hashes() == tilted_study.hashes()
    assert a.outcomes == b.outcomes == {"imported": 54}
    # the association is released normally after the lean exchange: a second one works at once
    assert c_get(node, OUR_AET, MemorySink(), classes, identifier(tilted_study.uid)).completed == 54


def test_c_get_of_a_class_not_proposed_fails_its_sub_operations(net_config, tilted_study) -> None:
    """No storage context for the study's class: the peer reports failed sub-operations, none stored."""
    sink = MemorySink()
    mr_image = "1.2.840.10008.5.1.4.1.1.4"
    result = c_get(net_config.get("orthanc"), OUR_AET, sink, {mr_image}, identifier(tilted_study.uid))
    assert result.status != 0 and result.completed == 0 and not sink.data


def test_wado_failures_are_reported_incomplete(orthanc, tilted_study) -> None:
    failing = set(tilted_study.sop_uids[:2])
    sink = MemorySink(fail_sops=set(failing))
    with DicomWebClient(orthanc.dicomweb_url) as web:
        result = web.retrieve_study(tilted_study.uid, sink)
    assert result.incomplete and result.failed == 2 and result.received == set(tilted_study.sop_uids) - failing
