"""Texts and helpers of the report editor (no widgets): state line, extras line, conversions, sign task."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from app.reporting.model import ImageRef, Measurement, Report
from app.reporting.templates import Template

if TYPE_CHECKING:
    from app.workstation import Workstation

UNIT_TEXT = {"[hnsf'U]": "HU", "mm2": "mm²", "cm2": "cm²", "cm3": "cm³", "ml": "mL", "deg": "°"}


def sign_task(ws: "Workstation", report_id: str, p12: Path, password: bytes, progress: Any = None,
              cancel: Any = None, confirm_normal_text: bool = False, preliminary: bool = False, review: str = "",
              review_note: str = "") -> Any:
    """Bridge task: open the PKCS#12 and sign (the workstation's use case: the worklist follows)."""
    from app.reporting.signing import load_identity

    return ws.sign(report_id, load_identity(p12, password), confirm_normal_text=confirm_normal_text,
                   preliminary=preliminary, review=review, review_note=review_note, progress=progress,
                   cancel=cancel)


def as_measurement(item: Any) -> Measurement:
    """A reporting ``Measurement`` from one, or from a dict with label/value/unit/image."""
    if isinstance(item, Measurement):
        return item
    image = item.get("image")
    ref = ImageRef(**image) if isinstance(image, dict) else image
    return Measurement(str(item["label"]), float(item["value"]), str(item["unit"]), ref)


_DECIMALS = {"mm": 1, "deg": 1, "[hnsf'U]": 1, "cm2": 2, "mm2": 1, "{pixel}": 0}


def measurement_line(m: Measurement) -> str:
    """At clinical precision: mm, degrees and HU to (at most) one decimal, cm² to two."""
    decimals = _DECIMALS.get(m.unit)
    value = f"{round(m.value, decimals):g}" if decimals is not None else f"{m.value:g}"
    return f"{m.label}: {value} {UNIT_TEXT.get(m.unit, m.unit)}"


def person(pn: str) -> str:
    """DICOM PN ``Family^Given^^Prefix`` -> ``Prefix Given Family``."""
    parts = (pn.split("=")[0].split("^") + [""] * 5)[:5]
    return " ".join(p for p in (parts[3], parts[1], parts[2], parts[0]) if p) or pn


def header_text(report: Report) -> str:
    s = report.study
    kind = "Addendum" if str(report.kind) == "addendum" else "Report"
    return (f"<b>{kind}</b> — {person(s.patient_name)} · {s.modality} {s.study_description} · {s.study_date} · "
            f"accession {s.accession or '-'}")


def state_text(report: Report, autosave_error: Optional[BaseException] = None) -> str:
    if report.editable:
        error = f" · <span style='color:#c62828'>autosave failed: {autosave_error}</span>" if autosave_error else ""
        read = (f" · preliminary read signed by {person(report.preliminary_signer)} at "
                f"{report.preliminary_signed_at[:16]}, to be finalised by another radiologist"
                if report.preliminary_signer else "")
        return f"{str(report.state).capitalize()}{read} · autosaved (revision {report.revision}){error}"
    return (f"Signed by {person(report.signer_name)} at {report.signed_at} · "
            f"content hash {report.content_hash.split(':')[-1][:12]}…")


def extras_text(report: Report) -> str:
    told = "; ".join(f"told {n.recipient}{f' ({n.role})' if n.role else ''} ({n.method}, {n.communicated_at}"
                     f"{', read back' if n.read_back else ''})" for n in report.notices)
    crit = f" · <b style='color:#c62828'>CRITICAL</b> {told or 'nobody told yet'}" if report.critical else ""
    return f"{len(report.measurements)} measurement(s), {len(report.key_images)} key image(s){crit}"


def template_changes(texts: dict[str, str], old: Optional[Template], new: Template) -> dict[str, str]:
    """Sections to refill when switching template: empty ones and ones still holding the old normal text."""
    old_defaults = old.default_sections() if old else {}
    return {k: v for k, v in new.default_sections().items() if not texts[k].strip() or texts[k] == old_defaults.get(k)}
