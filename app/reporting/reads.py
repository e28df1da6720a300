"""Preliminary and final reads: a night read signed as preliminary (SR UNVERIFIED, ORU result status P) is
finalised by another radiologist, who records agreement or a discrepancy (none / minor / major); the final
SR references the preliminary one (Predecessor Documents Sequence)."""

from __future__ import annotations

from pathlib import Path

from app.reporting.dicom_common import InstanceRef
from app.reporting.model import Report, ReportError, ReportKind, ReportState
from app.reporting.store import ReportStore

REVIEWS = ("none", "minor", "major")
PREFIX = "preliminary_"


class ReviewRequiredError(ReportError):
    """Finalising a preliminary read needs the final reader's review (none / minor / major)."""


def check_preliminary(report: Report) -> None:
    """Only an original draft is signed as a preliminary read."""
    if report.kind != ReportKind.ORIGINAL or report.state != ReportState.DRAFT:
        raise ReportError("only an original report still in draft can be signed as a preliminary read")


def check_final(report: Report, signer_name: str, review: str) -> None:
    """A preliminary read is finalised by another radiologist, who records the review."""
    if not report.preliminary_signer:
        return
    if _same_person(report.preliminary_signer, signer_name):
        raise ReportError(f"the preliminary read was signed by {report.preliminary_signer}: another radiologist "
                          "finalises it")
    if review not in REVIEWS:
        raise ReviewRequiredError(f"finalising a preliminary read: record the review ({' / '.join(REVIEWS)} "
                                  "discrepancy)")


def _same_person(a: str, b: str) -> bool:
    return " ".join(a.lower().replace("^", " ").split()) == " ".join(b.lower().replace("^", " ").split())


def preliminary_refs(store: ReportStore, report: Report) -> tuple[list[InstanceRef], list[InstanceRef]]:
    """(SR refs, encapsulated-PDF refs) of the report's preliminary read ([] when it has none)."""
    outs = {o.role: o for o in store.outputs(report.id)}
    sr = [InstanceRef.read(Path(outs[PREFIX + "sr"].path))] if PREFIX + "sr" in outs else []
    pdf = [InstanceRef.read(Path(outs[PREFIX + "epdf"].path))] if PREFIX + "epdf" in outs else []
    return sr, sr + pdf
