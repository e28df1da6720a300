"""HL7 v2.5.1 ORU^R01 result message for a signed report, built and validated with hl7apy.

Layout: MSH, PID (ID, name, birth date, sex), OBR (accession as placer/filler number, study description as
service, study date/time, signing time, status F, P for a preliminary read or C for an addendum, signer as
principal interpreter), then one TX OBX per text line of each non-empty section (OBX-3
``<section id>^<title>^L``, OBX-4 the section's ordinal) and an ST OBX ``113014^DICOM Study^DCM`` holding the Study Instance UID. A critical
report adds a TX OBX ``critical^Critical result^L`` first, and it and the impression lines carry the site's
abnormal flag in OBX-8 (``Hl7Destination.critical_flag``: AA critically abnormal, or HH).

Text is escaped here with the standard sequences (``\\F\\ \\S\\ \\T\\ \\R\\ \\E\\``) and assigned to hl7apy as ER7
(it parses a string assigned to a field as ER7, so a raw ``^`` would split it) which keeps well-formed
sequences as they are. hl7apy's own escaping is not used: it leaves literal text that looks like an escape
sequence (a line ``|F\\``, say) unescaped, which would not round-trip.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import TYPE_CHECKING, Iterator, Optional

from app.reporting.model import SECTION_KEYS, SECTION_TITLES, Report, ReportError, ReportKind

if TYPE_CHECKING:
    from app.reporting.settings import Hl7Destination

NODE_PREFIX = "hl7:"
"""Outbox node of an HL7 row: ``hl7:<Hl7Destination.name>``."""
VERSION = "2.5.1"
CHARSET = "UNICODE UTF-8"
STUDY_UID_CODE = "113014^DICOM Study^DCM"
CRITICAL_CODE = "critical^Critical result^L"
ADDENDUM_NOTE = ("addendum_note", "Addendum note")
_ESCAPES = str.maketrans({"\\": "\\E\\", "|": "\\F\\", "^": "\\S\\", "&": "\\T\\", "~": "\\R\\",
                          **{chr(c): " " for c in range(32) if c != 9}})  # control characters -> space
_PN_TO_XPN = (0, 1, 2, 4, 3)  # DICOM PN family^given^middle^prefix^suffix -> XPN family^given^middle^suffix^prefix


class Hl7BuildError(ReportError):
    """The report cannot be expressed as a valid ORU^R01 (hl7apy validation failed)."""


def escape(text: str) -> str:
    """``text`` as an HL7 ST/TX value: delimiters as escape sequences, control characters as spaces."""
    return text.translate(_ESCAPES)


def control_id(report_id: str) -> str:
    """MSH-10 for a report: 20 hex digits derived from its id (stable across resends, unique per report)."""
    return hashlib.sha256(report_id.encode("utf-8")).hexdigest()[:20].upper()


def _person(pn: str, separator: str = "^") -> str:
    """A DICOM PN (alphabetic group) as HL7 name components (XPN order), escaped."""
    parts = pn.split("=")[0].split("^")
    parts += [""] * (5 - len(parts))
    return separator.join(escape(parts[i].strip()) for i in _PN_TO_XPN).rstrip(separator)


def _digits(value: str, sizes: tuple[int, ...]) -> str:
    """The leading digits of a DICOM DA/TM value if they have one of the allowed lengths, else ''."""
    found = re.sub(r"[^0-9]", "", value.split(".")[0])
    return found if len(found) in sizes else ""


def _study_datetime(report: Report) -> str:
    date = _digits(report.study.study_date, (8,))
    time = _digits(report.study.study_time, (2, 4, 6)) if date else ""
    fraction = report.study.study_time.partition(".")[2][:4] if len(time) == 6 else ""
    return date + time + (f".{fraction}" if fraction.isdigit() else "")


def _dtm(when: datetime) -> str:
    """HL7 DTM with its UTC offset (a naive ``when`` is local time)."""
    return (when if when.tzinfo is not None else when.astimezone()).strftime("%Y%m%d%H%M%S%z")


def sections(report: Report) -> Iterator[tuple[str, str, list[str]]]:
    """(id, title, lines) of every non-empty text block, in message order (addendum note first)."""
    blocks = [(k, SECTION_TITLES.get(k, k), report.sections.get(k, "")) for k in SECTION_KEYS]
    if report.kind == ReportKind.ADDENDUM:
        blocks.insert(0, (*ADDENDUM_NOTE, report.addendum_note))
    for key, title, text in blocks:
        if text.strip():
            yield key, title, text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


Row = tuple[str, str, str, str, str, str]
"""One OBX: value type (OBX-2), code (OBX-3), sub-id (OBX-4), escaped value (OBX-5), abnormal flag (OBX-8),
observation time (OBX-14, '' for none)."""


def build_oru(report: Report, dest: "Hl7Destination", control_id: str, when: datetime,
              rows: "Optional[list[Row]]" = None, order_control: str = "") -> bytes:
    """The ORU^R01 of ``report`` (ER7, each segment ending with ``\\r``, UTF-8); ``when`` is the signing
    time (MSH-7, OBR-22). ``rows``: the OBX segments (default: the whole report, :func:`report_rows`);
    ``order_control``: an ORC with that ORC-1 (and ORC-2/3 the accession) before the OBR. Hl7BuildError if
    hl7apy's strict validation rejects it (a text line over 65536 characters, say) or the study has no
    Patient ID."""
    from hl7apy.consts import VALIDATION_LEVEL
    from hl7apy.core import Message
    from hl7apy.exceptions import HL7apyException, MaxLengthReached

    status = "C" if report.kind == ReportKind.ADDENDUM else "P" if report.state == "preliminary" else "F"
    study = report.study
    if not study.patient_id.strip():
        raise Hl7BuildError(f"HL7 ORU^R01 for report {report.id}: the study has no Patient ID (PID-3), so the RIS "
                            "could not match the result; have the site correct the study, or remove \"hl7\" from "
                            "reporting.json to sign without an HL7 result")
    try:
        msg = Message("ORU_R01", version=VERSION, validation_level=VALIDATION_LEVEL.STRICT)
        msh = msg.msh
        msh.msh_3, msh.msh_5 = escape(dest.sending_application), escape(dest.receiving_application)
        if dest.sending_facility:
            msh.msh_4 = escape(dest.sending_facility)
        if dest.receiving_facility:
            msh.msh_6 = escape(dest.receiving_facility)
        msh.msh_7, msh.msh_9, msh.msh_10 = _dtm(when), "ORU^R01^ORU_R01", escape(control_id)
        msh.msh_11, msh.msh_18 = "P", CHARSET
        result = msg.add_group("ORU_R01_PATIENT_RESULT")
        pid = result.add_group("ORU_R01_PATIENT").pid
        pid.pid_1, pid.pid_3, pid.pid_5 = "1", escape(study.patient_id), _person(study.patient_name) or '""'
        if _digits(study.birth_date, (8,)):
            pid.pid_7 = _digits(study.birth_date, (8,))
        if study.sex in ("M", "F", "O"):
            pid.pid_8 = study.sex
        order = result.add_group("ORU_R01_ORDER_OBSERVATION")
        if order_control:
            order.orc.orc_1 = order_control
            if study.accession:
                order.orc.orc_2 = order.orc.orc_3 = escape(study.accession)
        obr = order.obr
        obr.obr_1 = "1"
        if study.accession:
            obr.obr_2 = obr.obr_3 = escape(study.accession)
        service = escape(study.study_description or study.modality or "REPORT")
        obr.obr_4 = f"{service}^{service}^L"
        if _study_datetime(report):
            obr.obr_7 = _study_datetime(report)
        obr.obr_22, obr.obr_25 = _dtm(when), status
        if report.signer_name:
            obr.obr_32 = "&" + _person(report.signer_name, "&")
        _observations(order, report_rows(report, dest.critical_flag) if rows is None else rows, status)
        msg.validate()
        er7 = msg.to_er7()
    except HL7apyException as exc:  # the length message would quote the value: keep PHI out of it
        reason = f"a value is longer than {exc.limit} characters" if isinstance(exc, MaxLengthReached) else exc
        raise Hl7BuildError(f"HL7 ORU^R01 for report {report.id} is not valid: {reason}") from exc
    return (er7 + "\r").encode("utf-8")  # every segment, the last one included, ends with a CR


def report_rows(report: Report, critical_flag: str = "AA") -> "list[Row]":
    """The OBX rows of a whole report; a critical report's flag on its critical and impression rows."""
    flag = critical_flag if report.critical else ""
    rows = [critical_row(report, flag)] if flag else []
    rows += [("TX", f"{key}^{escape(title)}^L", str(sub), escape(line), flag if key == "impression" else "", "")
             for sub, (key, title, lines) in enumerate(sections(report), start=1) for line in lines]
    return rows + [study_row(report)]


def critical_row(report: Report, flag: str) -> "Row":
    return ("TX", CRITICAL_CODE, "", escape(report.critical_text or "critical result"), flag, "")


def study_row(report: Report) -> "Row":
    return ("ST", STUDY_UID_CODE, "", escape(report.study.study_uid), "", "")


def _observations(order: object, rows: "list[Row]", status: str) -> None:
    """The OBX segments (one ORU_R01_OBSERVATION group each)."""
    for set_id, (value_type, code, sub_id, value, abnormal, observed) in enumerate(rows, start=1):
        obx = order.add_group("ORU_R01_OBSERVATION").obx  # type: ignore[attr-defined]
        obx.obx_1, obx.obx_2, obx.obx_3 = str(set_id), value_type, code
        if sub_id:
            obx.obx_4 = sub_id
        if value:
            obx.obx_5 = _typed_value(value_type, value, obx.validation_level)
        if abnormal:
            obx.obx_8 = abnormal
        obx.obx_11 = status
        if observed:
            obx.obx_14 = observed


def _typed_value(value_type: str, er7: str, level: int) -> object:
    """OBX-5 as a field whose component has the OBX-2 type: hl7apy types a plain string assigned to the
    'varies' OBX-5 as ST, whose 199-character limit would reject a long TX line."""
    from hl7apy.core import Component, Field

    component = Component(name="VARIES_1", datatype=value_type, version=VERSION, validation_level=level)
    component.value = er7
    field = Field("OBX_5", version=VERSION, validation_level=level)
    field.add(component)
    return field


def study_uid_of(message: bytes) -> str:
    """The Study Instance UID carried by an ORU built here ('' if absent); parsed with python-hl7."""
    import hl7

    parsed = hl7.parse(message.decode("utf-8"))
    found = [s for s in parsed if str(s[0]) == "OBX" and str(s(3)) == STUDY_UID_CODE]
    return str(found[0](5)) if found else ""
