"""Verification of a signed report PDF: good only if intact, valid, trusted, whole-file and unmodified."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Union


@dataclass(frozen=True)
class SignatureVerification:
    """Outcome of checking a signed file (PDF here, DICOM SR/wrapper in ``sr_signature``); ``ok`` is True
    only when ``problems`` is empty."""

    ok: bool
    problems: tuple[str, ...]
    signer: str = ""
    signed_at: str = ""
    signatures: int = 0


@dataclass(frozen=True)
class PdfVerification(SignatureVerification):
    """Outcome of :func:`verify_pdf`, with pyHanko's per-check ``details``."""

    details: dict[str, str] = field(default_factory=dict)


def _load_roots(trust_roots: Iterable[Union[Path, bytes]]) -> list:
    from pyhanko.keys import load_cert_from_pemder
    from asn1crypto import pem, x509

    certs = []
    for root in trust_roots:
        if isinstance(root, (bytes, bytearray)):
            der = pem.unarmor(bytes(root))[2] if pem.detect(bytes(root)) else bytes(root)
            certs.append(x509.Certificate.load(der))
        else:
            certs.append(load_cert_from_pemder(str(root)))
    return certs


def _problems(status: object, is_last: bool) -> list[str]:
    from pyhanko.sign.diff_analysis import ModificationLevel
    from pyhanko.sign.validation import SignatureCoverageLevel

    s = status  # PdfSignatureStatus
    found = [name for name, good in (
        ("not intact (content changed)", s.intact), ("cryptographically invalid", s.valid),
        ("signer not trusted", s.trusted), ("DocMDP rules violated", s.docmdp_ok is not False),
        ("bottom line negative", s.bottom_line)) if not good]
    if s.revoked:
        found.append("signer certificate revoked")
    if is_last and s.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        found.append(f"signature does not cover the entire file ({s.coverage.name})")
    if s.modification_level not in (None, ModificationLevel.NONE):
        found.append(f"document modified after signing ({s.modification_level.name})")
    return found


def verify_pdf(pdf: Union[Path, bytes], trust_roots: Iterable[Union[Path, bytes]],
               require_certification: bool = True) -> PdfVerification:
    """Validate every signature of ``pdf`` against ``trust_roots`` (offline; no revocation fetching)."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.fields import MDPPerm
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    from app.crypto import read_stored

    data = read_stored(pdf) if isinstance(pdf, Path) else pdf  # a signed PDF of ours is encrypted at rest
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        sigs = list(reader.embedded_signatures)
        context = ValidationContext(trust_roots=_load_roots(trust_roots), allow_fetching=False)
        statuses = [validate_pdf_signature(sig, context) for sig in sigs]
    except Exception as exc:  # unparsable or damaged files are simply bad
        return PdfVerification(False, (f"cannot validate: {type(exc).__name__}: {exc}",))
    if not sigs:
        return PdfVerification(False, ("no signature",))
    problems: list[str] = []
    for i, status in enumerate(statuses):
        problems += _problems(status, is_last=i == len(statuses) - 1)
    first = sigs[0]
    if require_certification and first.docmdp_level != MDPPerm.NO_CHANGES:
        problems.append("not certified with 'no changes allowed'")
    last = statuses[-1]
    signer = last.signing_cert.subject.native.get("common_name", "")
    when = last.signer_reported_dt.isoformat() if last.signer_reported_dt else ""
    details = {"coverage": last.coverage.name, "modification_level": getattr(last.modification_level, "name", ""),
               "docmdp_ok": str(last.docmdp_ok), "summary": last.summary()}
    return PdfVerification(not problems, tuple(dict.fromkeys(problems)), signer, when, len(sigs), details)
