"""`report verify FILE`: a signed PDF, our Encapsulated PDF or our signed SR, checked for its signature,
for the SHA-256 recorded at signing, and (DICOM wrappers) for patient/study attributes equal to the
report record's."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Optional, Union

if TYPE_CHECKING:
    from pydicom import Dataset

    from app.audit import AuditLog
    from app.reporting.model import Report
    from app.reporting.store import ReportStore

SR_CLASSES = frozenset({"1.2.840.10008.5.1.4.1.1.88.33", "1.2.840.10008.5.1.4.1.1.88.22",
                        "1.2.840.10008.5.1.4.1.1.88.11"})
# wrapper attribute -> report record field (StudyInfo), SOP Instance UID checked against the output record
WRAPPER_FIELDS = (("PatientName", "patient_name"), ("PatientID", "patient_id"),
                  ("StudyInstanceUID", "study_uid"), ("AccessionNumber", "accession"))


@dataclass(frozen=True)
class FileVerification:
    """Outcome; ``ok`` only when ``problems`` is empty. ``kind`` is pdf, epdf, sr or ''."""

    ok: bool
    kind: str
    problems: tuple[str, ...]
    signer: str = ""
    signed_at: str = ""
    signatures: int = 0
    report_id: str = ""


def _root_bytes(roots: Iterable[Union[Path, bytes]]) -> list[bytes]:
    return [bytes(r) if isinstance(r, (bytes, bytearray)) else Path(r).read_bytes() for r in roots]


def _x509(roots: list[bytes]) -> list[Any]:
    from cryptography import x509

    return [x509.load_pem_x509_certificate(r) if b"-----BEGIN" in r else x509.load_der_x509_certificate(r)
            for r in roots]


def _record(store: "Optional[ReportStore]", path: Path, data: bytes, sop_uid: str,
            pdf: Optional[bytes]) -> tuple[Optional["Report"], Any]:
    """(report, output record) matching this file: by path, SOP Instance UID, or the hash of its PDF."""
    if store is None:
        return None, None
    digests = {hashlib.sha256(data).hexdigest()} | ({hashlib.sha256(pdf).hexdigest()} if pdf else set())
    with store._lock:
        rows = store.db.execute(
            "SELECT report_id, role FROM report_outputs WHERE path IN (?, ?) OR (sop_instance_uid != '' AND "
            f"sop_instance_uid = ?) OR sha256 IN ({','.join('?' * len(digests))}) ORDER BY path IN (?, ?) DESC",
            [str(path), str(path.resolve()), sop_uid, *digests, str(path), str(path.resolve())]).fetchall()
    if not rows:
        return None, None
    report = store.get(rows[0][0])
    outs = {o.role: o for o in store.outputs(report.id)}
    return report, outs


def _wrapper_problems(ds: "Dataset", report: "Report", out: Any) -> list[str]:
    found = []
    for keyword, field in WRAPPER_FIELDS:
        have, want = str(ds.get(keyword, "") or "").strip(), str(getattr(report.study, field) or "").strip()
        if have != want:
            found.append(f"{keyword} differs from the report record")
    if out is not None and str(ds.get("SOPInstanceUID", "")) != out.sop_instance_uid:
        found.append("SOPInstanceUID differs from the report record")
    return found


def _hash_problem(path: Path, out: Any, audit: "Optional[AuditLog]", report: "Report",
                  user: Optional[str]) -> list[str]:
    """The recorded file at ``path`` (if this is it) must still have its recorded hash."""
    from app.reporting.integrity import IntegrityError, check_output

    if out is None or Path(out.path).resolve() != path.resolve():
        return []
    try:
        check_output(out, audit, report_id=report.id, study_uid=report.study.study_uid, action="verify",
                     user=user)
    except IntegrityError as exc:
        return [str(exc)]
    return []


def verify_report_file(path: Path, trust_roots: Iterable[Union[Path, bytes]],
                       store: "Optional[ReportStore]" = None, audit: "Optional[AuditLog]" = None,
                       user: Optional[str] = None) -> FileVerification:
    """Verify ``path`` (never raises for a bad file: every failure is a problem in the result)."""
    from app.crypto import DecryptError, KeyMissingError, read_stored

    path = Path(path)
    try:
        data, roots = read_stored(path), _root_bytes(trust_roots)  # ours are encrypted at rest
    except OSError as exc:
        return FileVerification(False, "", (f"cannot read: {exc.strerror or exc}",))
    except (DecryptError, KeyMissingError) as exc:
        return FileVerification(False, "", (str(exc),))
    if data[128:132] == b"DICM":
        return _verify_dicom(path, data, roots, store, audit, user)
    if data.lstrip()[:5] == b"%PDF-":
        return _verify_plain_pdf(path, data, roots, store, audit, user)
    return FileVerification(False, "", ("not a PDF or DICOM file",))


def _verify_plain_pdf(path: Path, data: bytes, roots: list[bytes], store: "Optional[ReportStore]",
                      audit: "Optional[AuditLog]", user: Optional[str]) -> FileVerification:
    from app.reporting.verify import verify_pdf

    result = verify_pdf(data, roots)
    problems = list(result.problems)
    report, outs = _record(store, path, data, "", None)
    if report is not None:
        problems += _hash_problem(path, (outs or {}).get("pdf"), audit, report, user)
    return FileVerification(not problems, "pdf", tuple(problems), result.signer, result.signed_at,
                            result.signatures, report.id if report else "")


def _verify_dicom(path: Path, data: bytes, roots: list[bytes], store: "Optional[ReportStore]",
                  audit: "Optional[AuditLog]", user: Optional[str]) -> FileVerification:
    import io
    import warnings

    import pydicom

    try:
        with warnings.catch_warnings():  # a truncated file is reported as a problem, not a warning
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(io.BytesIO(data))
            sop_class = str(ds.get("SOPClassUID", ""))
    except Exception as exc:  # a damaged DICOM file is simply bad
        return FileVerification(False, "", (f"not a readable DICOM file: {type(exc).__name__}",))
    if sop_class in SR_CLASSES:
        kind, pdf, result = "sr", None, _signature_result(data, roots)
    elif "EncapsulatedDocument" in ds:
        kind, pdf, result = "epdf", *_epdf_result(ds, roots)
        if "DigitalSignaturesSequence" in ds:  # the wrapper's own DICOM signature (written since issue 15)
            result = _merge(result, _signature_result(data, roots))
    else:
        return FileVerification(False, "", (f"not a report object (SOP Class {sop_class or 'missing'})",))
    problems = list(result[0])
    report, outs = _record(store, path, data, str(ds.get("SOPInstanceUID", "")), pdf)
    if report is None:
        problems.append("no report record for this file in this data dir: patient/study attributes unchecked")
    else:
        out = (outs or {}).get(kind)
        problems += _hash_problem(path, out, audit, report, user) + _wrapper_problems(ds, report, out)
    return FileVerification(not problems, kind, tuple(dict.fromkeys(problems)), *result[1:],
                            report.id if report else "")


def _signature_result(data: bytes, roots: list[bytes]) -> tuple[tuple[str, ...], str, str, int]:
    """The DICOM Digital Signature check, on a fresh parse (nothing decoded before the MAC is rebuilt)."""
    import io

    import pydicom

    from app.reporting.sr_signature import verify_sr

    try:
        trusted = _x509(roots)
    except ValueError as exc:
        return (f"unusable trusted certificate: {exc}",), "", "", 0
    result = verify_sr(pydicom.dcmread(io.BytesIO(data)), trusted)
    return tuple(f"DICOM signature: {p}" for p in result.problems), result.signer, result.signed_at, \
        result.signatures


def _merge(first: tuple[tuple[str, ...], str, str, int],
           second: tuple[tuple[str, ...], str, str, int]) -> tuple[tuple[str, ...], str, str, int]:
    return first[0] + second[0], first[1] or second[1], first[2] or second[2], first[3] + second[3]


def _epdf_result(ds: "Dataset", roots: list[bytes]) -> tuple[Optional[bytes], tuple[tuple[str, ...], str, str, int]]:
    from app.reporting.dicom_pdf import extract_pdf
    from app.reporting.verify import verify_pdf

    try:
        pdf = extract_pdf(ds)
    except Exception as exc:  # damaged wrapper
        return None, ((f"cannot extract the PDF: {type(exc).__name__}",), "", "", 0)
    result = verify_pdf(pdf, roots)
    return pdf, (result.problems, result.signer, result.signed_at, result.signatures)
