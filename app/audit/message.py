"""DICOM audit messages (PS3.15 A.5.1 XML schema, A.5.3 event content) built from the local audit records.

No maintained Python library writes them, so the XML comes from ``xml.etree`` here. Every message has the
user (requestor), this application, the audit source, the study and patient when the event has them, the
query or the audit log it touched, and one object for the local record itself (seq, chain hash and the
record's detail as a base64 ParticipantObjectDetail) so the repository can cross-check the local chain.
The schema (that edition) requires a ParticipantObjectName or ParticipantObjectQuery in every object; the
name carries the object's ID when no better non-PHI name is known (the log never stores patient names).
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from xml.etree import ElementTree as ET

from app.audit import events
from app.audit.log import AuditRecord

APP_NAME = "telerad"
STUDY_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.2.1"

# (code, scheme, meaning) of the DICOM roles (CID 402) and object ID types (RFC 3881 / CID 404).
ROLE_APPLICATION = ("110150", "DCM", "Application")
ROLE_LAUNCHER = ("110151", "DCM", "Application Launcher")
ROLE_DESTINATION = ("110152", "DCM", "Destination Role ID")
ROLE_SOURCE = ("110153", "DCM", "Source Role ID")
ID_PATIENT = ("2", "RFC-3881", "Patient Number")
ID_URI = ("12", "RFC-3881", "URI")
ID_STUDY = ("110180", "DCM", "Study Instance UID")
ID_SOP_CLASS = ("110181", "DCM", "SOP Class UID")
ID_RECORD = ("record", "99TELERAD", "Local audit record")


@dataclass(frozen=True)
class Source:
    """Who reports: ``AuditSourceID`` (e.g. ``telerad@host``) and the optional enterprise site."""

    source_id: str
    site_id: str | None = None


def _code(parent: ET.Element, tag: str, value: tuple[str, str, str]) -> ET.Element:
    return ET.SubElement(parent, tag, {"csd-code": value[0], "codeSystemName": value[1], "originalText": value[2]})


def _b64(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _participant(root: ET.Element, user_id: str, requestor: bool, role: tuple[str, str, str] | None = None,
                 host: str | None = None, alternative: str | None = None) -> None:
    attrs = {"UserID": user_id, "UserIsRequestor": "true" if requestor else "false"}
    if alternative:
        attrs["AlternativeUserID"] = alternative
    if host:
        attrs.update(NetworkAccessPointID=host, NetworkAccessPointTypeCode="1")
    element = ET.SubElement(root, "ActiveParticipant", attrs)
    if role is not None:
        _code(element, "RoleIDCode", role)


def _object(root: ET.Element, object_id: str, id_type: tuple[str, str, str], type_code: str, role: str, *,
            name: str | None = None, query: str | None = None, details: dict[str, str] | None = None,
            life_cycle: str | None = None) -> ET.Element:
    attrs = {"ParticipantObjectID": object_id, "ParticipantObjectTypeCode": type_code,
             "ParticipantObjectTypeCodeRole": role}
    if life_cycle:
        attrs["ParticipantObjectDataLifeCycle"] = life_cycle
    element = ET.SubElement(root, "ParticipantObjectIdentification", attrs)
    _code(element, "ParticipantObjectIDTypeCode", id_type)
    if query is not None:
        ET.SubElement(element, "ParticipantObjectQuery").text = query
    else:
        ET.SubElement(element, "ParticipantObjectName").text = name or object_id
    for key, value in (details or {}).items():
        ET.SubElement(element, "ParticipantObjectDetail", {"type": key, "value": _b64(value)})
    return element


def _roles(rec: AuditRecord, detail: dict) -> tuple[tuple | None, tuple | None]:
    """(role of this application, role of the remote node) for the event."""
    direction = detail.get("direction")
    if rec.event_id == events.APPLICATION_ACTIVITY.code:
        return ROLE_APPLICATION, None
    if rec.event_id == events.QUERY.code or direction == "sent" or rec.event_id == events.EXPORT.code:
        return ROLE_SOURCE, ROLE_DESTINATION
    if direction in ("received", "retrieved") or rec.event_id == events.BEGIN_TRANSFERRING.code:
        return ROLE_DESTINATION, ROLE_SOURCE
    return None, None


_LIFE_CYCLE = {events.IMPORT.code: "2", events.STUDY_DELETED.code: "14", events.EXPORT.code: "10",
               events.INSTANCES_ACCESSED.code: "6"}


def build_message(rec: AuditRecord, source: Source, *, patient_id: str | None = None) -> ET.Element:
    """The ``AuditMessage`` element of one record (``patient_id`` in clear if known, else the salted hash)."""
    detail = json.loads(rec.detail or "{}")
    root = ET.Element("AuditMessage")
    ident = ET.SubElement(root, "EventIdentification", {
        "EventActionCode": rec.action, "EventDateTime": rec.time, "EventOutcomeIndicator": str(rec.outcome)})
    _code(ident, "EventID", (rec.event_id, "DCM", rec.event_name))
    if rec.event_type:
        known = {e.code: e.name for e in vars(events).values() if isinstance(e, events.AuditEvent)}
        _code(ident, "EventTypeCode", (rec.event_type, "DCM", known.get(rec.event_type, rec.event_type)))
    if rec.outcome and (detail.get("error") or detail.get("reason")):
        ET.SubElement(ident, "EventOutcomeDescription").text = str(detail.get("error") or detail.get("reason"))
    own_role, node_role = _roles(rec, detail)
    launcher = ROLE_LAUNCHER if rec.event_id == events.APPLICATION_ACTIVITY.code else None
    _participant(root, rec.user, True, launcher, host=rec.host)
    _participant(root, f"{APP_NAME}@{rec.host}", False, own_role, host=rec.host, alternative=str(os.getpid()))
    node = detail.get("node") or detail.get("peer")
    if node and node_role is not None:
        _participant(root, str(node), False, node_role)
    src = ET.SubElement(root, "AuditSourceIdentification", {"AuditSourceID": source.source_id})
    if source.site_id:
        src.set("AuditEnterpriseSiteID", source.site_id)
    ET.SubElement(src, "AuditSourceTypeCode", {"csd-code": "1"})
    _objects(root, rec, detail, patient_id)
    return root


def _objects(root: ET.Element, rec: AuditRecord, detail: dict, patient_id: str | None) -> None:
    life = _LIFE_CYCLE.get(rec.event_id)
    if rec.study_uid:
        _object(root, rec.study_uid, ID_STUDY, "2", "3", life_cycle=life)
    if patient_id or rec.patient_hash:
        pid = patient_id or f"sha256:{rec.patient_hash}"
        _object(root, pid, ID_PATIENT, "1", "1")
    if rec.event_id == events.QUERY.code:
        keys = {"level": detail.get("level"), "keys": detail.get("keys", [])}
        _object(root, STUDY_ROOT_FIND, ID_SOP_CLASS, "2", "24", query=_b64(keys))
    if rec.event_id == events.AUDIT_LOG_USED.code:
        _object(root, str(detail.get("uri", "audit.sqlite")), ID_URI, "2", "13", name="Security Audit Log")
    _object(root, rec.hash, ID_RECORD, "2", "13", name=f"seq {rec.seq}",
            details={"seq": str(rec.seq), "prev_hash": rec.prev_hash, "detail": rec.detail})


def to_xml(rec: AuditRecord, source: Source, *, patient_id: str | None = None) -> bytes:
    """UTF-8 XML bytes of the message, one line (no declaration: the syslog MSG starts with a BOM)."""
    return ET.tostring(build_message(rec, source, patient_id=patient_id), encoding="utf-8", xml_declaration=False)
