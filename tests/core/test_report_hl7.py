"""HL7 ORU^R01 for signed reports: message content (checked with python-hl7 and hl7apy), queued with the
signature, delivered over MLLP to a real python-hl7 asyncio server, failures retried, resends harmless."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import hl7
import pytest
from hl7.mllp import start_hl7_server

from app.reporting.hl7_oru import control_id
from app.reporting.settings import Hl7Destination, ReportingSettings, SettingsError, load_settings, save_settings
from app.reporting.workflow import hl7_delivery_key
from tests.core.net_peers import free_port
from tests.core.report_fixtures import make_pki, study_files

if TYPE_CHECKING:
    from app.reporting.outbox import OutboxItem
    from app.reporting.runner import RunSummary
    from app.reporting.service import ReportingContext

REPO = Path(__file__).resolve().parents[2]
TRICKY = "Delimiters | ^ & ~ \\ kept, |F\\ and \\S\\ literal\nMüller, 5 mm → 7 mm\n\nLast line."


class Ris:
    """A real MLLP peer: python-hl7's asyncio server on 127.0.0.1 in a thread, answering ``code`` (MSA-1)
    with ``text`` (MSA-3) to every message; ``received`` holds each block's bytes between the framing."""

    def __init__(self, port: int, code: str = "AA", text: str = "", acked_id: str = "") -> None:
        self.port, self.code, self.text, self.acked_id = port, code, text, acked_id
        self.received: list[bytes] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    async def _serve(self, reader: hl7.mllp.HL7StreamReader, writer: hl7.mllp.HL7StreamWriter) -> None:
        try:
            while True:
                block = await reader.readblock()
                self.received.append(block)
                ack = hl7.parse(block.decode("utf-8")).create_ack(self.code)
                ack.segment("MSA").assign_field(ack.escape(self.text), 3)
                ack.segment("MSA").assign_field(self.acked_id or str(ack["MSA.2"]), 2)
                writer.writemessage(ack)
                await writer.drain()
        except asyncio.IncompleteReadError:  # the client closed the connection
            return
        finally:
            writer.close()

    def __enter__(self) -> "Ris":
        self.thread.start()
        self.server = asyncio.run_coroutine_threadsafe(
            start_hl7_server(self._serve, "127.0.0.1", self.port, encoding="utf-8"), self.loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    async def _close(self) -> None:
        self.server.close()
        await self.server.wait_closed()


@dataclass
class Case:
    """A signed report and its reporting context (cache + audit open)."""

    home: Path
    ctx: "ReportingContext"
    report_id: str
    hl7_file: Path | None


def make_home(tmp_path: Path, shared_data: Path, port: int | None) -> tuple[Path, str, Any]:
    """Data dir with reporting.json (hl7 to ``port``, or none), a one-instance study with PHI in the cache."""
    import pydicom

    from app.store import Cache

    home = tmp_path / "home"
    dest = Hl7Destination("127.0.0.1", port, "RISAPP", "RADIOLOGY", timeout_s=5) if port else None
    save_settings(home / "config", ReportingSettings(retry_base_s=0.01, retry_cap_s=0.02, hl7=dest))
    files = study_files(shared_data)
    ds = pydicom.dcmread(files[len(files) // 2])
    ds.PatientName, ds.PatientID, ds.PatientBirthDate = "Müller^Hans^^Dr", "PID-4711", "19700102"
    ds.AccessionNumber, ds.SpecificCharacterSet = "ACC-42", "ISO_IR 192"
    src = tmp_path / "src.dcm"
    ds.save_as(src)
    with Cache.open(home / "cache") as cache:
        assert cache.store_file(src).status == "imported"
    return home, str(ds.StudyInstanceUID), make_pki(home / "pki")


@pytest.fixture()
def signed(tmp_path: Path, shared_data: Path, request: pytest.FixtureRequest) -> Iterator[Case]:
    """A report signed through the service; ``reporting.json`` has ``hl7`` (to a free port, nothing listening)
    unless the test parametrizes this fixture indirectly with None."""
    from app.audit import AuditLog
    from app.reporting.service import ReportingContext, draft_for_study, sign
    from app.reporting.signing import load_identity
    from app.store import Cache

    port = getattr(request, "param", "free")
    home, study_uid, pki = make_home(tmp_path, shared_data, free_port() if port == "free" else None)
    cache, audit = Cache.open(home / "cache"), AuditLog(home / "audit.sqlite")
    ctx = ReportingContext.open(home, home / "config", cache, audit, "tester")
    draft = draft_for_study(ctx, study_uid, sections={"findings": TRICKY, "impression": "No acute abnormality."})
    result = sign(ctx, draft.id, load_identity(pki.p12, pki.password))
    yield Case(home, ctx, draft.id, result.hl7)
    for resource in (ctx, cache, audit):
        resource.close()


def rows(case: Case) -> "dict[str, OutboxItem]":
    return {i.sop_instance_uid: i for i in case.ctx.store.outbox(lambda p, n: None).items(case.report_id)}


def run(case: Case) -> "RunSummary":
    from app.reporting.runner import run_outbox

    return run_outbox(case.ctx.outbox(), case.home, once=True)


def port_of(case: Case) -> int:
    return case.ctx.settings().hl7.port  # type: ignore[union-attr]


def test_settings_round_trip_and_validation(tmp_path: Path) -> None:
    dest = Hl7Destination("ris.example.org", 2575, "RIS", "RAD", name="main", sending_facility="TELE")
    assert load_settings(save_settings(tmp_path, ReportingSettings(hl7=dest)).parent).hl7 == dest
    path = save_settings(tmp_path, ReportingSettings())
    assert load_settings(tmp_path).hl7 is None and "hl7" not in json.loads(path.read_text())
    for bad in ({"host": "", "port": 2575}, {"host": "ris", "port": 0}, {"host": "ris", "port": 65536},
                {"host": "ris"}, {"host": "ris", "port": "2575"}, [], {"host": "ris", "port": 1,
                                                                      "receiving_application": "X" * 21}):
        (tmp_path / "reporting.json").write_text(json.dumps({"hl7": bad}))
        with pytest.raises(SettingsError):
            load_settings(tmp_path)


def test_message_content_read_by_two_independent_parsers(signed: Case) -> None:
    from hl7apy.consts import VALIDATION_LEVEL
    from hl7apy.parser import parse_message

    from app.reporting.model import SECTION_KEYS

    report, raw = signed.ctx.store.get(signed.report_id), signed.hl7_file.read_bytes()  # type: ignore[union-attr]
    assert b"\n" not in raw and "→".encode() in raw
    assert raw.endswith(b"\r") and all(seg[3:4] == b"|" for seg in raw[:-1].split(b"\r"))
    strict = parse_message(raw.decode("utf-8"), validation_level=VALIDATION_LEVEL.STRICT)
    assert strict.validate() and strict.msh.msh_9.to_er7() == "ORU^R01^ORU_R01"
    msg = hl7.parse(raw.decode("utf-8"))
    assert [str(s[0]) for s in msg][:4] == ["MSH", "PID", "OBR", "OBX"]
    assert (msg["MSH.3"], msg["MSH.5"], msg["MSH.6"]) == ("TELERAD", "RISAPP", "RADIOLOGY")
    assert (msg["MSH.9.1.1"], msg["MSH.9.1.2"], msg["MSH.9.1.3"]) == ("ORU", "R01", "ORU_R01")
    assert (msg["MSH.10"], msg["MSH.11"], msg["MSH.12"], msg["MSH.18"]) == (
        control_id(report.id), "P", "2.5.1", "UNICODE UTF-8") and len(msg["MSH.10"]) <= 20
    assert (msg["PID.3"], msg["PID.5.1.1"], msg["PID.5.1.2"], msg["PID.5.1.5"]) == ("PID-4711", "Müller", "Hans", "Dr")
    assert (msg["PID.7"], msg["PID.8"]) == ("19700102", "M")
    assert msg["OBR.2"] == msg["OBR.3"] == "ACC-42"
    assert msg["OBR.4.1.2"] == report.study.study_description
    assert msg["OBR.7"].startswith(report.study.study_date + report.study.study_time[:6])
    assert msg["OBR.22"] == msg["MSH.7"] == datetime.fromisoformat(report.signed_at).strftime("%Y%m%d%H%M%S%z")
    assert msg["OBR.25"] == "F"
    assert (msg["OBR.32.1.1.2"], msg["OBR.32.1.1.3"], msg["OBR.32.1.1.6"]) == ("Example", "Alice", "Dr")
    text: dict[str, list[str]] = {}
    obx = msg.segments("OBX")
    assert {str(s(11)) for s in obx} == {"F"} and [str(s(1)) for s in obx] == [str(i) for i in range(1, len(obx) + 1)]
    for n, s in enumerate(obx[:-1], start=1):
        key, system = msg.extract_field("OBX", n, 3, 1, 1), msg.extract_field("OBX", n, 3, 1, 3)
        assert (str(s(2)), system) == ("TX", "L")
        text.setdefault(key, []).append(msg.extract_field("OBX", n, 5))
    expected = {k: report.sections[k] for k in SECTION_KEYS if report.sections[k].strip()}
    assert {k: "\n".join(v) for k, v in text.items()} == expected and text["findings"][0].startswith("Delimiters |")
    assert (str(obx[-1](2)), str(obx[-1](3)), str(obx[-1](5))) == ("ST", "113014^DICOM Study^DCM",
                                                                    report.study.study_uid)


def test_addendum_is_a_correction_with_its_own_control_id(signed: Case) -> None:
    from app.reporting.hl7_oru import Hl7BuildError
    from app.reporting.service import sign, start_addendum
    from app.reporting.signing import load_identity

    pki = make_pki(signed.home / "pki2")
    identity = load_identity(pki.p12, pki.password)
    original, store = signed.ctx.store.get(signed.report_id), signed.ctx.store
    draft = start_addendum(signed.ctx, original.study.study_uid, "Size corrected", {"impression": "x" * 70000})
    with pytest.raises(Hl7BuildError, match="longer than 65536"):  # hl7apy's TX limit: fails before signing
        sign(signed.ctx, draft.id, identity)
    assert store.get(draft.id).editable and not list((signed.home / "reports").rglob(f"{draft.id}/*"))
    long_line = "A long paragraph without a line break, " * 25
    store.update_section(draft.id, "impression", f"Nodule 7 mm & stable.\n{long_line}")
    result = sign(signed.ctx, draft.id, identity)
    msg = hl7.parse(result.hl7.read_bytes().decode("utf-8"))
    assert msg["OBR.25"] == "C" and {str(s(11)) for s in msg.segments("OBX")} == {"C"}
    assert msg["MSH.10"] != control_id(original.id) and msg["MSH.10"] == control_id(draft.id)
    assert (msg["OBX.3.1.1"], msg["OBX.5"]) == ("addendum_note", "Size corrected")
    impression = [msg.extract_field("OBX", n, 5) for n, s in enumerate(msg.segments("OBX"), start=1)
                  if str(s(3)).startswith("impression^")]
    assert impression == ["Nodule 7 mm & stable.", long_line] and "Nodule 7 mm \\T\\ stable." in str(msg)
    assert {i.sop_instance_uid for i in store.outbox(lambda p, n: None).items()} == {
        hl7_delivery_key(original.id), hl7_delivery_key(draft.id)}


def test_queued_with_the_signature_and_delivered_over_mllp(signed: Case) -> None:
    from app.reporting.service import delivery_states

    store, key = signed.ctx.store, hl7_delivery_key(signed.report_id)
    row = rows(signed)[key]  # committed with the signature
    assert (row.state, row.node, row.path) == ("queued", "hl7:RIS", str(signed.hl7_file))
    hl7_output, cache = next(o for o in store.outputs(signed.report_id) if o.role == "hl7"), signed.ctx.cache
    assert (hl7_output.sop_instance_uid, hl7_output.path) == ("", str(signed.hl7_file))
    cached = [i.path for s in cache.list_series(store.get(signed.report_id).study.study_uid)
              for i in cache.list_instances(s.series_instance_uid)]
    assert len(cached) == 3 and not any(str(p).endswith(".hl7") for p in cached)  # CT slice + SR + PDF
    with Ris(port_of(signed)) as ris:
        summary = run(signed)
    assert (summary.sent, summary.failed) == (1, 0) and rows(signed)[key].state == "sent"
    assert ris.received == [signed.hl7_file.read_bytes()]
    states = delivery_states(store, signed.report_id)
    assert states["hl7"]["state"] == "sent" and states["hl7"]["sop_instance_uid"] == key
    exports = [json.loads(r.detail) for r in signed.ctx.audit.records() if r.event_id == "110106"]
    assert [(d["transport"], d["node"], d["sop_instance_uid"], d["error"]) for d in exports] == [
        ("hl7", "hl7:RIS", "", "")]


def test_application_error_then_retry(signed: Case) -> None:
    key = hl7_delivery_key(signed.report_id)
    with Ris(port_of(signed), code="AE", text="Unknown order ACC-42 | rejected") as ris:
        assert run(signed).failed == 1
        row = rows(signed)[key]
        assert (row.state, row.attempts) == ("failed", 1) and "AckError" in row.last_error
        assert "AE Unknown order ACC-42 | rejected" in row.last_error  # MSA-1 and MSA-3, unescaped
        ris.code, ris.text = "AA", ""
        signed.ctx.store.outbox(lambda p, n: None).retry_now(key)
        assert run(signed).sent == 1
    assert rows(signed)[key].state == "sent" and len(ris.received) == 2


def test_ack_for_another_message_and_an_unconfigured_ris_are_refused(signed: Case) -> None:
    from app.reporting.delivery import DeliveryError, ReportSender
    from app.reporting.mllp import send_message

    dest, message = signed.ctx.settings().hl7, signed.hl7_file.read_bytes()  # type: ignore[union-attr]
    with Ris(port_of(signed), acked_id="SOMEONE-ELSE") as ris:
        with pytest.raises(DeliveryError, match="ACK for message 'SOMEONE-ELSE'"):
            send_message(dest, message)  # type: ignore[arg-type]
        ris.acked_id = ""
        ack = hl7.parse(send_message(dest, message))  # type: ignore[arg-type]
        with pytest.raises(DeliveryError, match="'RIS' is not configured"):
            ReportSender(signed.ctx.nodes(), ReportingSettings())(str(signed.hl7_file), "hl7:RIS")
    assert (ack["MSA.1"], ack["MSA.2"]) == ("AA", control_id(signed.report_id)) and len(ris.received) == 2


def test_server_down_then_up(signed: Case) -> None:
    key = hl7_delivery_key(signed.report_id)
    assert run(signed).failed == 1
    error = rows(signed)[key].last_error
    assert rows(signed)[key].state == "failed" and "127.0.0.1" in error and "refused" in error.lower()
    with Ris(port_of(signed)) as ris:
        signed.ctx.store.outbox(lambda p, n: None).retry_now(key)
        assert run(signed).sent == 1
    assert rows(signed)[key].state == "sent" and ris.received == [signed.hl7_file.read_bytes()]


def test_resend_after_a_crash_between_send_and_mark_is_harmless(signed: Case) -> None:
    env = {**{k: v for k, v in os.environ.items() if k != "TELERAD_HOME"},
           "TELERAD_REPORT_KILLPOINT": "outbox_after_send:1"}  # SIGKILL once the RIS has the message
    with Ris(port_of(signed)) as ris:
        child = subprocess.run([sys.executable, "-m", "app", "--data-dir", str(signed.home), "outbox", "send",
                                "--once"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
        assert child.returncode == -9, child.stderr
        assert rows(signed)[key := hl7_delivery_key(signed.report_id)].state == "sending"
        summary = run(signed)
    assert (summary.recovered, summary.sent) == (1, 1) and rows(signed)[key].state == "sent"
    assert ris.received == [signed.hl7_file.read_bytes()] * 2  # same bytes, same control id: RIS can dedupe


@pytest.mark.parametrize("signed", [None], indirect=True)
def test_without_hl7_settings_nothing_happens(signed: Case) -> None:
    from app.reporting.service import delivery_states

    assert signed.hl7_file is None and "hl7" not in {o.role for o in signed.ctx.store.outputs(signed.report_id)}
    assert not list((signed.home / "reports").rglob("*.hl7"))
    assert rows(signed) == {} and "hl7" not in delivery_states(signed.ctx.store, signed.report_id)
