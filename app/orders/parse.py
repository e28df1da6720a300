"""Read ORM^O01, OMI^O23, ADT^A08 and ADT^A40 (python-hl7) into typed values.

Fields follow IHE Radiology Scheduled Workflow and the common variants: accession IPC-1, OBR-18, else the
filler order number (OBR-3, ORC-3); priority TQ1-9, ORC-7.6, OBR-27.6, OBR-5; ordering physician ORC-12,
OBR-16; callback ORC-14, OBR-17; reason for study OBR-31, else ORC-16; clinical history OBR-13 plus the
order's NTE comments; Study Instance UID IPC-3 or ZDS-1."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.orders.model import Merge, MessageError, Order, PatientRef, PatientUpdate, Priority

ORDER_TYPES = {("ORM", "O01"), ("OMI", "O23")}
ADT_EVENTS = {"A08", "A40"}
ORDER_CONTROLS = {"NW": "active", "XO": "active", "SC": "active", "SN": "active", "CH": "active",
                  "CA": "cancelled", "DC": "cancelled", "OC": "cancelled", "OD": "cancelled"}
_PRIORITY = {"S": Priority.STAT, "STAT": Priority.STAT, "A": Priority.ASAP, "ASAP": Priority.ASAP,
             "T": Priority.ASAP, "C": Priority.ASAP, "P": Priority.ASAP, "R": Priority.ROUTINE,
             "ROUTINE": Priority.ROUTINE, "PRN": Priority.ROUTINE, "Q": Priority.ROUTINE}


@dataclass(frozen=True)
class Parsed:
    """A message read: its header facts and what it carries (orders, an update or a merge)."""

    message: Any  # hl7.Message
    kind: str  # "ORM^O01", "OMI^O23", "ADT^A08", "ADT^A40"
    control_id: str
    orders: tuple[Order, ...] = ()
    update: PatientUpdate | None = None
    merge: Merge | None = None


def to_text(raw: bytes) -> str:
    """The message as text with CR segment separators (UTF-8, else Latin-1 as many RIS send it)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return text.replace("\r\n", "\r").replace("\n", "\r").strip("\r \x0b\x1c")


def parse_message(raw: bytes) -> Parsed:
    """The typed content of ``raw``; MessageError (AR for not-HL7 or unsupported, AE for bad content)."""
    import hl7

    text = to_text(raw)
    if not text.startswith("MSH") or len(text) < 8:
        raise MessageError("AR", "100", "not an HL7 v2 message (no MSH segment)")
    try:
        msg = hl7.parse(text)
    except (hl7.HL7Exception, ValueError, IndexError) as exc:
        raise MessageError("AR", "100", f"unreadable HL7 ({type(exc).__name__})") from exc
    try:
        return _read(msg)
    except MessageError as exc:
        exc.message = msg  # answerable: the ACK names the message's control ID
        raise


def _read(msg: Any) -> Parsed:
    kind = (field(msg, "MSH.F9.R1.C1").upper(), field(msg, "MSH.F9.R1.C2").upper())
    control_id = field(msg, "MSH.F10")
    if not control_id:
        raise MessageError("AR", "101", "MSH-10 (message control ID) is empty")
    name = "^".join(kind)
    if kind in ORDER_TYPES:
        return Parsed(msg, name, control_id, orders=read_orders(msg))
    if kind[0] == "ADT" and kind[1] in ADT_EVENTS:
        if kind[1] == "A08":
            return Parsed(msg, name, control_id, update=read_update(msg))
        return Parsed(msg, name, control_id, merge=read_merge(msg))
    code = "201" if kind[0] in {"ORM", "OMI", "ADT"} else "200"
    raise MessageError("AR", code, f"unsupported message type {name or '(none)'}")


def field(msg: Any, key: str) -> str:
    """``msg[key]`` as text ('' when the segment or field is absent)."""
    try:
        return str(msg[key]).strip()
    except (KeyError, IndexError):
        return ""


def seg(segment: Any, number: int, repeat: int = 1, component: int = 1, sub: int = 1) -> str:
    """One value of a segment (1-based field, repetition, component, subcomponent); '' when absent."""
    try:
        value: Any = segment(number)
        for index in (repeat, component, sub):
            if not isinstance(value, list):
                return str(value).strip() if index == 1 else ""
            value = value(index)
        return str(value).strip()
    except (IndexError, KeyError):
        return ""


def patient_of(msg: Any) -> tuple[PatientRef, str, str, str]:
    """PID-3 (first repetition: ID, assigning authority), PID-5 name, PID-7 birth date, PID-8 sex."""
    try:
        pid = msg.segment("PID")
    except KeyError as exc:
        raise MessageError("AE", "100", "PID segment missing") from exc
    patient_id, issuer = seg(pid, 3), seg(pid, 3, 1, 4) or seg(pid, 3, 1, 4, 2)
    if not patient_id:
        raise MessageError("AE", "101", "PID-3 (patient ID) is empty")
    name = "^".join(x for x in (seg(pid, 5, 1, c) for c in (1, 2, 3)) if x)
    return PatientRef(patient_id, issuer), name, seg(pid, 7)[:8], seg(pid, 8)


def _person(segment: Any, number: int) -> str:
    """An XCN as 'ID Family Given' (the ID only when that is all there is)."""
    family, given = seg(segment, number, 1, 2), seg(segment, number, 1, 3)
    prefix = seg(segment, number, 1, 6)
    name = " ".join(x for x in (prefix, given, family) if x)
    return name or seg(segment, number)


def _phone(segment: Any, number: int) -> str:
    """An XTN: the unformatted number (component 1), else area code + local number (6, 7)."""
    text = seg(segment, number)
    if text:
        return text
    return " ".join(x for x in (seg(segment, number, 1, 6), seg(segment, number, 1, 7)) if x)


def _coded(segment: Any, number: int) -> str:
    """A CWE/CE's text (component 2), else its code; every repetition, '; '-joined."""
    parts = []
    for repeat in range(1, 10):
        text = seg(segment, number, repeat, 2) or seg(segment, number, repeat, 1)
        if not text and repeat > 1:
            break
        if text:
            parts.append(text)
    return "; ".join(parts)


def _priority(code: str) -> Priority:
    found = _PRIORITY.get(code.strip().upper())
    if found is None and code.strip():
        raise MessageError("AE", "103", f"priority {code!r} is not in HL7 table 0027")
    return found or Priority.ROUTINE


def read_orders(msg: Any) -> tuple[Order, ...]:
    """One order per OBR, with the ORC and TQ1 before it and the NTE, IPC and ZDS after it."""
    patient, name, birth, sex = patient_of(msg)
    groups: list[dict[str, Any]] = []
    orc = tq1 = None
    for segment in msg:
        tag = str(segment[0])
        if tag == "ORC":
            orc, tq1 = segment, None
        elif tag == "TQ1":
            tq1 = segment
        elif tag == "OBR":
            groups.append({"orc": orc, "tq1": tq1, "obr": segment, "nte": [], "ipc": None, "zds": None})
        elif groups and tag in ("NTE", "IPC", "ZDS"):
            if tag == "NTE":
                groups[-1]["nte"].append(seg(segment, 3))
            elif groups[-1][tag.lower()] is None:
                groups[-1][tag.lower()] = segment
    if not groups:
        raise MessageError("AE", "100", "no OBR segment (requested procedure)")
    return tuple(_order(g, patient, name, birth, sex) for g in groups)


def _order(g: dict[str, Any], patient: PatientRef, name: str, birth: str, sex: str) -> Order:
    orc, obr, tq1, ipc, zds = g["orc"], g["obr"], g["tq1"], g["ipc"], g["zds"]
    if orc is None:
        raise MessageError("AE", "100", "OBR without an ORC segment before it")
    control = seg(orc, 1).upper()
    if control not in ORDER_CONTROLS:
        raise MessageError("AE", "103", f"order control ORC-1 {control or '(empty)'} is not supported")
    accession = ((seg(ipc, 1) if ipc else "") or seg(obr, 18) or seg(obr, 3) or seg(orc, 3))
    if not accession:
        raise MessageError("AE", "101", "no accession number (IPC-1, OBR-18, OBR-3 or ORC-3)")
    code = (seg(tq1, 9) if tq1 else "") or seg(orc, 7, 1, 6) or seg(obr, 27, 1, 6) or seg(obr, 5)
    history = "\n".join(x for x in (seg(obr, 13), *g["nte"]) if x)
    return Order(
        accession=accession, patient=patient, order_control=control,
        placer_number=seg(orc, 2) or seg(obr, 2), filler_number=seg(orc, 3) or seg(obr, 3),
        study_uid=(seg(ipc, 3) if ipc else "") or (seg(zds, 1) if zds else ""),
        procedure_code=seg(obr, 4), procedure_text=seg(obr, 4, 1, 2),
        priority=_priority(code), priority_code=code,
        ordering_physician=_person(orc, 12) or _person(obr, 16),
        callback=_phone(orc, 14) or _phone(obr, 17),
        reason=_coded(obr, 31) or _coded(orc, 16), history=history,
        patient_name=name, birth_date=birth, sex=sex, status=ORDER_CONTROLS[control])


def read_update(msg: Any) -> PatientUpdate:
    patient, name, birth, sex = patient_of(msg)
    return PatientUpdate(patient, name, birth, sex)


def read_merge(msg: Any) -> Merge:
    """PID-3 survives; MRG-1 (prior patient identifier, with its assigning authority) goes."""
    patient, name, _birth, _sex = patient_of(msg)
    try:
        mrg = msg.segment("MRG")
    except KeyError as exc:
        raise MessageError("AE", "100", "ADT^A40 without an MRG segment") from exc
    prior = PatientRef(seg(mrg, 1), seg(mrg, 1, 1, 4) or seg(mrg, 1, 1, 4, 2))
    if not prior.patient_id:
        raise MessageError("AE", "101", "MRG-1 (prior patient ID) is empty")
    if prior.patient_id == patient.patient_id and prior.issuer == patient.issuer:
        raise MessageError("AE", "207", "MRG-1 names the surviving patient itself")
    return Merge(patient, prior, name)
