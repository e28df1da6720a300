"""The outbox's real ``send(path, node)``: C-STORE (``app.network.send_files``) or STOW-RS for
DICOMweb-only nodes, HL7 ORU over MLLP for ``hl7:<name>`` nodes, with an Export (110106) audit record per
attempt."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from app.reporting import auditing
from app.reporting.hl7_oru import NODE_PREFIX
from app.reporting.settings import ReportingSettings

if TYPE_CHECKING:
    from app.audit import AuditLog
    from app.network.nodes import Node, NodeConfig

FAILED_SOP_SEQUENCE = "00081198"


class DeliveryError(RuntimeError):
    """The peer refused or did not acknowledge an instance."""


def _uids(path: Path) -> tuple[str, str]:
    """(SOP Instance UID, Study Instance UID) of a Part 10 file."""
    from app.dicom.stored import dcmread_stored

    ds = dcmread_stored(path, stop_before_pixels=True, specific_tags=["SOPInstanceUID", "StudyInstanceUID"])
    return str(ds.SOPInstanceUID), str(ds.get("StudyInstanceUID", ""))


class ReportSender:
    """Callable ``send(path, node_name)`` for :class:`~app.reporting.outbox.Outbox`; raises on any failure."""

    def __init__(self, nodes: "NodeConfig", settings: ReportingSettings = ReportingSettings(),
                 audit: "Optional[AuditLog]" = None, user: Optional[str] = None,
                 cancel: Optional[threading.Event] = None) -> None:
        self.nodes, self.settings, self.audit, self.user, self.cancel = nodes, settings, audit, user, cancel

    def __call__(self, path: str, node_name: str) -> None:
        file = Path(path)
        if node_name.startswith(NODE_PREFIX):
            self._hl7(file, node_name)
            return
        transport = self.settings.transport(node_name)
        sop_uid, study_uid = "", None
        try:
            node = self.nodes.get(node_name)
            sop_uid, study_uid = _uids(file)
            if transport == "stow":
                self._stow(node, file, study_uid)
            else:
                self._c_store(node, file)
        except Exception as exc:
            auditing.report_exported(self.audit, node=node_name, transport=transport, sop_instance_uid=sop_uid,
                                     study_uid=study_uid, error=f"{type(exc).__name__}: {exc}", user=self.user)
            raise
        auditing.report_exported(self.audit, node=node_name, transport=transport, sop_instance_uid=sop_uid,
                                 study_uid=study_uid, user=self.user)

    def _hl7(self, file: Path, node_name: str) -> None:
        """Send an ORU^R01 file to the configured RIS or critical-notification destination (it must still be
        the one named in ``node_name``)."""
        from app.reporting.hl7_oru import study_uid_of
        from app.reporting.mllp import send_message

        study_uid = None
        try:
            wanted = node_name[len(NODE_PREFIX):]
            dest = self.settings.hl7.destination(wanted) if self.settings.hl7 is not None else None
            if dest is None:
                raise DeliveryError(f"HL7 destination {wanted!r} is not configured (reporting.json \"hl7\")")
            from app.crypto import read_stored

            message = read_stored(file)
            study_uid = study_uid_of(message) or None
            send_message(dest, message)
        except Exception as exc:
            auditing.report_exported(self.audit, node=node_name, transport="hl7", sop_instance_uid="",
                                     study_uid=study_uid, error=f"{type(exc).__name__}: {exc}", user=self.user)
            raise
        auditing.report_exported(self.audit, node=node_name, transport="hl7", sop_instance_uid="",
                                 study_uid=study_uid, user=self.user)

    def _c_store(self, node: "Node", file: Path) -> None:
        from app.network.send import send_files

        result = send_files(node, self.nodes.local.ae_title, [file], cancel=self.cancel,
                            timeout=self.settings.send_timeout_s)
        if result.failed or not result.sent:
            reason = next(iter(result.failed.values()), "not acknowledged")
            raise DeliveryError(f"C-STORE to {node.name}: {reason}")

    def _stow(self, node: "Node", file: Path, study_uid: Optional[str]) -> None:
        from app.network.dicomweb import DicomWebClient

        with DicomWebClient.for_node(node) as client:
            answer: dict[str, Any] = client.store([file], study_uid or None)
        failed = (answer.get(FAILED_SOP_SEQUENCE) or {}).get("Value") or []
        if failed:
            raise DeliveryError(f"STOW-RS to {node.name}: instance refused ({len(failed)} failed)")
