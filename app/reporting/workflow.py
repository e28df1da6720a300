"""High-level operations: start a draft for a study, sign a report (PDF + SR + encapsulated PDF, optionally an
HL7 ORU^R01, + outbox)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Optional, Sequence

from app.reporting.dicom_common import InstanceRef
from app.reporting.hl7_oru import NODE_PREFIX
from app.reporting.killpoints import killpoint
from app.reporting.letterhead import Letterhead
from app.reporting.model import Report, ReportKind
from app.reporting.outbox import Delivery
from app.reporting.store import OutputFile, ReportStore, utc_now
from app.reporting.study_source import read_source, study_info
from app.reporting.templates import Template, select_template

if TYPE_CHECKING:
    from pydicom import Dataset

    from app.audit import AuditLog
    from app.reporting.settings import Hl7Destination
    from app.reporting.signing import SigningIdentity

log = logging.getLogger(__name__)

SR_SERIES_BASE = 9001
HL7_FILE = "report.hl7"


def hl7_delivery_key(report_id: str) -> str:
    """Outbox key (its ``sop_instance_uid`` column) of a report's HL7 message: ``hl7:<report id>``."""
    return f"hl7:{report_id}"


def report_db_path(home: Path) -> Path:
    """``<home>/reports.sqlite``."""
    return Path(home) / "reports.sqlite"


def report_files_dir(home: Path) -> Path:
    """``<home>/reports``: signed PDFs and our DICOM objects, one folder per study/report."""
    return Path(home) / "reports"


def start_draft(store: ReportStore, source: Path, templates: Mapping[str, Template],
                template_id: Optional[str] = None) -> Report:
    """Create the study's draft from one of its instances, pre-filled by ``template_id`` or the best match."""
    info = study_info(read_source(source))
    template = templates[template_id] if template_id else select_template(
        templates.values(), info.modality, info.body_part, info.study_description)
    return store.create_draft(info, template.default_sections() if template else None,
                              template.id if template else "")


@dataclass(frozen=True)
class SignedReport:
    """What signing produced; ``timings`` holds seconds per step."""

    report: Report
    pdf: Path
    sr: Path
    encapsulated_pdf: Path
    timings: dict[str, float] = field(default_factory=dict)
    hl7: Optional[Path] = None


def _write_atomic(path: Path, data: bytes) -> OutputFile:
    """Owner-only while written, read-only once in place (see :func:`app.reporting.integrity.write_signed`)."""
    from app.reporting.integrity import write_signed

    return OutputFile("", str(path), write_signed(path, data), len(data))


def _dicom_bytes(ds: "Dataset") -> bytes:
    from app.dicom.part10 import dataset_bytes

    return dataset_bytes(ds)


def _signed_dicom_bytes(obj: "Dataset", identity: "SigningIdentity") -> tuple[bytes, "Dataset"]:
    """The file bytes of our SR (PS3.15 C.4 profile) or Encapsulated PDF with a DICOM Digital Signature:
    the MAC is computed over the data set as read back from its encoding, so it covers the bytes written."""
    import io

    import pydicom

    from app.reporting.signing import SigningError
    from app.reporting.sr_signature import SrSignatureError, sign_sr

    if identity.key is None or identity.certificate is None:
        raise SigningError("the signing identity has no private key for the DICOM signature")
    if not identity.is_rsa:
        log.info("DICOM objects signed with a non-RSA key: valid signatures, outside the SR RSA profile")
    ds = pydicom.dcmread(io.BytesIO(_dicom_bytes(obj)))
    try:
        sign_sr(ds, identity.key, identity.certificate)
    except SrSignatureError as exc:
        raise SigningError(str(exc)) from exc
    return _dicom_bytes(ds), ds


def _predecessor_refs(store: ReportStore, report: Report,
                      audit: "Optional[AuditLog]" = None) -> tuple[list[InstanceRef], list[InstanceRef]]:
    """(SR refs, encapsulated-PDF refs) of the report an addendum corrects (IntegrityError if one of its
    files changed after signing)."""
    from app.reporting.integrity import check_output

    if report.kind != ReportKind.ADDENDUM:
        return [], []
    outs = {o.role: o for o in store.outputs(report.predecessor_id)}
    for role in ("sr", "epdf"):
        if role in outs:
            check_output(outs[role], audit, report_id=report.predecessor_id, study_uid=report.study.study_uid,
                         action="reference")
    sr = [InstanceRef.read(Path(outs["sr"].path))] if "sr" in outs else []
    pdf = [InstanceRef.read(Path(outs["epdf"].path))] if "epdf" in outs else []
    return sr, sr + pdf


def sign_report(store: ReportStore, report_id: str, identity: "SigningIdentity", source: Path, out_dir: Path,
                letterhead: Letterhead = Letterhead(), node: Optional[str] = None,
                evidence: Sequence["Dataset"] = (), hl7: "Optional[Hl7Destination]" = None,
                audit: "Optional[AuditLog]" = None, preliminary: bool = False) -> SignedReport:
    """Render and PAdES-sign the PDF, build the SR and encapsulated PDF (and, with ``hl7``, an ORU^R01 for
    node ``hl7:<name>``), then commit state, outputs and outbox rows in one transaction. Files are written
    first; a crash before the commit leaves the report unsigned (orphan files are overwritten by the next
    attempt's new folder). An invalid HL7 message (Hl7BuildError) fails before anything is written.
    ``preliminary``: a preliminary read (app.reporting.reads): SR UNVERIFIED, ORU status P, outputs
    ``preliminary_*``, the report stays open for the final reader, whose SR then references it."""
    from pydicom.uid import generate_uid

    from app.reporting.model import ReportState
    from app.reporting.reads import PREFIX, preliminary_refs

    from app.reporting.dicom_pdf import build_encapsulated_pdf
    from app.reporting.dicom_sr import build_sr
    from app.reporting.pdf_render import render_pdf
    from app.reporting.signing import sign_pdf

    t: dict[str, float] = {}
    start = time.perf_counter()
    signed = store.signed_version(report_id, identity.person_name, utc_now(),
                                  ReportState.PRELIMINARY if preliminary else ReportState.FINAL)
    message = _hl7_message(signed, hl7) if hl7 is not None else None
    notify_dest, notification = _critical_notification(store, signed, hl7)
    pdf = render_pdf(signed, letterhead)
    t["render"] = time.perf_counter() - start
    pdf = sign_pdf(pdf, identity, location=letterhead.institution)
    t["sign"] = time.perf_counter() - start - t["render"]
    src = read_source(source)
    sr_preds, pdf_preds = _predecessor_refs(store, signed, audit)
    if not preliminary:  # a final read references the preliminary one it finalises
        read_srs, read_pdfs = preliminary_refs(store, signed)
        sr_preds, pdf_preds = sr_preds + read_srs, pdf_preds + read_pdfs
    ordinal = len(store.for_study(signed.study.study_uid)) - 1
    number = SR_SERIES_BASE + 10 * ordinal
    sr = build_sr(signed, src, generate_uid(), generate_uid(), number, letterhead.organization,
                  letterhead.institution, sr_preds, evidence)
    epdf = build_encapsulated_pdf(pdf, signed, src, generate_uid(), generate_uid(), number + 1,
                                  letterhead.institution, pdf_preds)
    sr_bytes, sr = _signed_dicom_bytes(sr, identity)
    epdf_bytes, epdf = _signed_dicom_bytes(epdf, identity)
    folder = Path(out_dir) / signed.study.study_uid / signed.id / ("preliminary" if preliminary else "")

    def role(name: str) -> str:
        return PREFIX + name if preliminary else name

    outputs = [
        _role(_write_atomic(folder / "report.pdf", pdf), role("pdf")),
        _role(_write_atomic(folder / "sr.dcm", sr_bytes), role("sr"), sr),
        _role(_write_atomic(folder / "report-pdf.dcm", epdf_bytes), role("epdf"), epdf),
    ]
    deliveries = [Delivery(o.sop_instance_uid, o.path, node) for o in outputs if node and o.sop_instance_uid]
    if hl7 is not None and message is not None:
        outputs.append(_role(_write_atomic(folder / HL7_FILE, message), role("hl7")))
        deliveries.append(Delivery(hl7_delivery_key(signed.id) + (":P" if preliminary else ""), outputs[-1].path,
                                   NODE_PREFIX + hl7.name))
    if notify_dest is not None and notification is not None:
        from app.reporting import hl7_critical

        outputs.append(_role(_write_atomic(folder / hl7_critical.CRITICAL_FILE, notification), role(hl7_critical.ROLE)))
        deliveries.append(Delivery(hl7_critical.delivery_key(signed.id), outputs[-1].path,
                                   NODE_PREFIX + notify_dest.name))
    killpoint("sign_before_finalize")
    final = (store.sign_preliminary if preliminary else store.finalize)(signed, outputs, deliveries)
    t["total"] = time.perf_counter() - start
    return SignedReport(final, Path(outputs[0].path), Path(outputs[1].path), Path(outputs[2].path), t,
                        Path(outputs[3].path) if hl7 is not None else None)


def _hl7_message(signed: Report, dest: "Hl7Destination") -> bytes:
    """The validated ORU^R01 of the report being signed (sent as is by the outbox, resends included)."""
    from app.reporting.hl7_oru import build_oru, control_id

    key = signed.id + (":P" if signed.state == "preliminary" else "")  # the final result gets its own MSH-10
    return build_oru(signed, dest, control_id(key), datetime.fromisoformat(signed.signed_at))


def _critical_notification(store: ReportStore, signed: Report, hl7: "Optional[Hl7Destination]",
                           ) -> "tuple[Optional[Hl7Destination], Optional[bytes]]":
    """(destination, message) of the separate critical-result notification (app.reporting.hl7_critical), or
    (None, None): not configured, not critical, or already sent with this report's preliminary read."""
    from app.reporting import hl7_critical

    dest = hl7.critical_notification if hl7 is not None else None
    if dest is None or not signed.critical:
        return None, None
    if any(o.role.endswith(hl7_critical.ROLE) for o in store.outputs(signed.id)):
        return None, None
    return dest, hl7_critical.build_notification(signed, dest, datetime.fromisoformat(signed.signed_at))


def _role(out: OutputFile, role: str, ds: "Optional[Dataset]" = None) -> OutputFile:
    if ds is None:
        return OutputFile(role, out.path, out.sha256, out.size)
    return OutputFile(role, out.path, out.sha256, out.size, ds.SOPInstanceUID, ds.SeriesInstanceUID)
