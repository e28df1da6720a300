"""HL7 orders without a network: fields read (IHE SWF and variants), ACKs, refusals, store, matching, merges."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.db import pragma_synchronous
from app.orders import OrderStore, PatientRef, Priority
from app.orders.ack import ack_for, read_ack
from app.orders.match import awaiting_images, match_orders
from app.orders.parse import parse_message
from app.orders.receive import Receiver
from app.settings import SettingsError

MSH = "MSH|^~\\&|RIS|HOSP|TELERAD|RAD|20261203150000||{kind}|{control}|P|{version}"


def segment(tag: str, fields: dict[int, str]) -> str:
    """One ER7 segment from 1-based field numbers (unset fields empty)."""
    return "|".join([tag] + [fields.get(i, "") for i in range(1, max(fields, default=0) + 1)])


def order_message(control: str, accession: str, patient_id: str, *, issuer: str = "HOSP", priority: str = "R",
                  style: str = "orm", order_control: str = "NW", reason: str = "Stroke symptoms",
                  history: str = "Left arm weakness since 02:00", physician: str = "1234^House^Gregory^^^Dr",
                  callback: str = "+41 21 555 0101", study_uid: str = "", name: str = "DOE^JOHN") -> bytes:
    """ORM^O01 (v2.3: ORC-7.6 priority, OBR-18 accession, OBR-16/17) or OMI^O23 (v2.5: TQ1-9, IPC-1/IPC-3,
    ORC-12/14)."""
    pid = segment("PID", {1: "1", 3: f"{patient_id}^^^{issuer}", 5: name, 7: "19600101", 8: "M"})
    obr = {1: "1", 2: f"P{accession}", 3: f"F{accession}", 4: "CTHEAD^CT head without contrast",
           13: history, 31: f"R51^{reason}"}
    if style == "orm":
        orc = segment("ORC", {1: order_control, 2: f"P{accession}", 7: f"^^^^^{priority}"})
        obr.update({16: physician, 17: callback, 18: accession})
        parts = [MSH.format(kind="ORM^O01", control=control, version="2.3"), pid, orc, segment("OBR", obr)]
    else:
        orc = segment("ORC", {1: order_control, 2: f"P{accession}", 12: physician, 14: callback})
        ipc = segment("IPC", {1: accession, 2: f"RP{accession}", 3: study_uid, 4: f"SPS{accession}", 5: "CT"})
        parts = [MSH.format(kind="OMI^O23", control=control, version="2.5"), pid, orc,
                 segment("TQ1", {1: "1", 9: priority}), segment("OBR", obr), ipc]
    return "\r".join(parts).encode("utf-8")


def merge_message(control: str, survivor: str, prior: str, issuer: str = "HOSP") -> bytes:
    return "\r".join([MSH.format(kind="ADT^A40^ADT_A39", control=control, version="2.5"),
                      segment("PID", {1: "1", 3: f"{survivor}^^^{issuer}", 5: "DOE^JOHN"}),
                      segment("MRG", {1: f"{prior}^^^{issuer}"})]).encode("utf-8")


def test_orm_fields_follow_ihe_scheduled_workflow() -> None:
    raw = order_message("C1", "ACC1", "PID1", priority="S").replace(b"\rOBR", b"\rNTE|1||on warfarin\rOBR")
    raw += b"\rNTE|1||INR 3.1"
    (order,) = parse_message(raw).orders
    assert (order.accession, order.patient) == ("ACC1", PatientRef("PID1", "HOSP"))
    assert order.priority is Priority.STAT and order.priority_code == "S"
    assert order.ordering_physician == "Dr Gregory House"
    assert order.callback == "+41 21 555 0101"
    assert order.reason == "Stroke symptoms"
    assert order.history == "Left arm weakness since 02:00\nINR 3.1"  # OBR-13 and the NTE after the OBR
    assert (order.procedure_code, order.procedure_text) == ("CTHEAD", "CT head without contrast")


def test_omi_reads_tq1_priority_ipc_accession_and_study_uid() -> None:
    (order,) = parse_message(order_message("C2", "ACC2", "PID2", priority="A", style="omi",
                                           study_uid="1.2.3.4")).orders
    assert order.accession == "ACC2"  # IPC-1, not the filler number OBR-3 (FACC2)
    assert order.priority is Priority.ASAP and order.study_uid == "1.2.3.4"
    assert order.ordering_physician == "Dr Gregory House" and order.callback == "+41 21 555 0101"


def test_common_variants_filler_number_as_accession_and_obr27_priority() -> None:
    text = "\r".join([MSH.format(kind="ORM^O01", control="C3", version="2.3"),
                      segment("PID", {3: "PID3"}), segment("ORC", {1: "NW", 3: "FILL3"}),
                      segment("OBR", {1: "1", 3: "FILL3", 4: "MRBRAIN", 27: "^^^^^S", 13: "hx"})])
    (order,) = parse_message(text.encode()).orders
    assert (order.accession, order.priority, order.patient.issuer) == ("FILL3", Priority.STAT, "")
    lf = text.replace("\r", "\r\n").encode("latin-1")  # CRLF segment separators, as some RIS send
    assert parse_message(lf).orders[0].accession == "FILL3"


def _without(raw: bytes, tag: bytes) -> bytes:
    return b"\r".join(s for s in raw.split(b"\r") if not s.startswith(tag))


GOOD = order_message("BAD1", "ACCBAD", "PIDBAD")
MALFORMED = [
    (b"hello, this is not HL7", "AR", "", "no MSH"),
    (GOOD.replace(b"ORM^O01", b"ORU^R01"), "AR", "BAD1", "unsupported message type ORU R01"),
    (GOOD.replace(b"|2.3", b"|3.0"), "AR", "BAD1", "unsupported HL7 version"),
    (_without(GOOD, b"PID"), "AE", "BAD1", "PID segment missing"),
    (GOOD.replace(b"PIDBAD^^^HOSP", b"^^^HOSP"), "AE", "BAD1", "PID-3"),
    (_without(GOOD, b"OBR"), "AE", "BAD1", "no OBR segment"),
    (_without(GOOD, b"ORC"), "AE", "BAD1", "without an ORC"),
    (GOOD.replace(b"ORC|NW", b"ORC|ZZ"), "AE", "BAD1", "order control ORC-1 ZZ"),
    (GOOD.replace(b"^^^^^R", b"^^^^^Z"), "AE", "BAD1", "priority 'Z'"),
    (GOOD.replace(b"|ACCBAD|", b"||").replace(b"FACCBAD", b"").replace(b"|PACCBAD", b"|"), "AE", "BAD1",
     "no accession number"),
    (_without(merge_message("BAD1", "S1", "P1"), b"MRG"), "AE", "BAD1", "without an MRG"),
    (merge_message("BAD1", "S1", "S1"), "AE", "BAD1", "surviving patient itself"),
]


@pytest.mark.parametrize(("raw", "code", "control", "reason"), MALFORMED)
def test_malformed_messages_get_ae_or_ar_with_a_reason_and_change_nothing(
        tmp_path: Path, raw: bytes, code: str, control: str, reason: str) -> None:
    store = OrderStore(tmp_path / "orders.sqlite")
    merges: list[object] = []
    try:
        outcome = Receiver(store, on_merge=lambda m: merges.append(m) or 0)(raw)
        ack = read_ack(outcome.ack)
        assert ack[:2] == (code, control)
        assert reason in ack[2]
        assert store.count() == 0 and not merges
        assert store.db.execute("SELECT count(*) FROM merges").fetchone()[0] == 0
    finally:
        store.close()


def test_an_accession_of_another_patient_is_refused_and_the_order_kept(tmp_path: Path) -> None:
    with_store = OrderStore(tmp_path / "orders.sqlite")
    receive = Receiver(with_store)
    assert receive(order_message("A", "ACC9", "PID9", priority="S")).code == "AA"
    outcome = receive(order_message("B", "ACC9", "OTHER", priority="R"))
    assert (outcome.code, "already ordered for another patient" in outcome.reason) == ("AE", True)
    (order,) = with_store.orders()
    assert (order.patient.patient_id, order.priority) == ("PID9", Priority.STAT)
    assert receive(order_message("C", "ACC9", "PID9", order_control="CA")).code == "AA"
    assert with_store.orders() == [] and with_store.orders(include_cancelled=True)[0].status == "cancelled"
    assert pragma_synchronous(with_store.db) == "FULL"
    with_store.close()


def test_ack_reason_with_delimiters_stays_one_field() -> None:
    msg = parse_message(GOOD).message
    assert read_ack(ack_for(msg, "AE", "bad | field ^ here\rnext", "101")) == ("AE", "BAD1", "bad field here next")


class _Study:
    def __init__(self, uid: str, accession: str, patient_id: str, issuer: str = "") -> None:
        self.study_instance_uid, self.accession = uid, accession
        self.patient_id, self.issuer_of_patient_id = patient_id, issuer


def test_orders_match_by_accession_and_patient_then_merges(tmp_path: Path) -> None:
    store = OrderStore(tmp_path / "orders.sqlite")
    receive = Receiver(store)
    for i, (acc, pid) in enumerate([("A1", "P1"), ("A2", "P2"), ("A3", "OLD")]):
        assert receive(order_message(f"M{i}", acc, pid)).code == "AA"
    studies = [_Study("1.1", "A1", "P1", "HOSP"), _Study("1.2", "A2", "SOMEONE-ELSE"), _Study("1.3", "A3", "NEW")]
    matched = match_orders(store.orders(), studies, store.survivor)
    assert set(matched) == {"1.1"}  # A2 is another patient's study; A3 waits for the merge
    assert receive(merge_message("M9", "NEW", "OLD")).code == "AA"
    matched = match_orders(store.orders(), studies, store.survivor)
    assert set(matched) == {"1.1", "1.3"}
    assert [o.accession for o in awaiting_images(store.orders(), matched)] == ["A2"]
    assert store.survivor(PatientRef("OLD", "HOSP")) == PatientRef("NEW", "HOSP")
    store.close()


def test_orders_settings_are_read_through_the_settings_loader(tmp_path: Path) -> None:
    from app.orders.settings import OrdersSettings, load_orders_settings, save_orders_settings

    assert load_orders_settings(tmp_path).port is None
    save_orders_settings(tmp_path, OrdersSettings(port=2575, host="127.0.0.1"))
    assert (load_orders_settings(tmp_path).port, load_orders_settings(tmp_path).host) == (2575, "127.0.0.1")
    (tmp_path / "orders.json").write_text('{"hl7": {"port": 70000}}')
    with pytest.raises(SettingsError, match=r"orders\.json: hl7\.port"):
        load_orders_settings(tmp_path)
