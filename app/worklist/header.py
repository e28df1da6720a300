"""Request fields the study index does not carry, read from one instance header (no pixels)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from app.worklist.types import Priority

if TYPE_CHECKING:
    from app.store import Cache

log = logging.getLogger(__name__)

_RPP = {"STAT": Priority.STAT, "HIGH": Priority.URGENT, "ROUTINE": Priority.ROUTINE,
        "MEDIUM": Priority.ROUTINE, "LOW": Priority.ROUTINE}
_SPI = {"STAT": Priority.STAT, "HIGH": Priority.URGENT, "MED": Priority.ROUTINE, "MEDIUM": Priority.ROUTINE,
        "LOW": Priority.ROUTINE}


@dataclass(frozen=True)
class RequestFields:
    """Header values used by the worklist ('' when absent)."""

    requested_procedure_priority: str = ""
    study_priority_id: str = ""
    patient_age: str = ""
    requesting_service: str = ""


def header_priority(fields: RequestFields) -> Priority | None:
    """The most urgent priority that Requested Procedure Priority or Study Priority ID gives, if any."""
    found = [p for p in (_RPP.get(fields.requested_procedure_priority.strip().upper()),
                         _SPI.get(fields.study_priority_id.strip().upper())) if p is not None]
    return min(found, key=lambda p: p.rank) if found else None


def _text(ds: Any, keyword: str) -> str:
    value = ds.get(keyword)
    return "" if value is None else str(value).strip()


def fields_from_dataset(ds: Any) -> RequestFields:
    """Pick the request fields from a pydicom dataset (top level, else the Request Attributes Sequence)."""
    rpp = _text(ds, "RequestedProcedurePriority")
    service = _text(ds, "RequestingService")
    for item in ds.get("RequestAttributesSequence") or []:
        rpp = rpp or _text(item, "RequestedProcedurePriority")
        service = service or _text(item, "RequestingService")
    if not service:
        for item in ds.get("RequestingServiceCodeSequence") or []:
            service = _text(item, "CodeMeaning")
            break
    return RequestFields(rpp, _text(ds, "StudyPriorityID"), _text(ds, "PatientAge"), service)


def read_request_fields(cache: "Cache", study_uid: str) -> RequestFields | None:
    """Read one stored instance of the study; None if the study has no readable instance."""
    from app.dicom.stored import dcmread_stored

    for series in cache.list_series(study_uid):
        for inst in cache.list_instances(series.series_instance_uid):
            if inst.state != "ok":
                continue
            try:
                ds = dcmread_stored(inst.path, stop_before_pixels=True)  # encrypted at rest or not
            except Exception as exc:  # a damaged file: try the next one
                log.debug("cannot read header of %s: %s", inst.sop_instance_uid, exc)
                continue
            return fields_from_dataset(ds)
    return None


def age_from_header(text: str) -> float | None:
    """DICOM AS (``045Y``, ``006M``, ``010W``, ``003D``) in years; ``000Y`` (an anonymisation
    placeholder: infants are given in D/W/M) counts as unknown."""
    text = text.strip().upper()
    if len(text) != 4 or not text[:3].isdigit() or text == "000Y":
        return None
    n = int(text[:3])
    return {"Y": n, "M": n / 12, "W": n * 7 / 365.25, "D": n / 365.25}.get(text[3])


@lru_cache(maxsize=65536)  # many studies share a birth date and a study date
def age_from_dates(birth_date: str, study_date: str) -> float | None:
    """Age in years at the study date from DICOM DA strings, or None."""
    from datetime import date

    try:
        b = date(int(birth_date[:4]), int(birth_date[4:6]), int(birth_date[6:8]))
        s = date(int(study_date[:4]), int(study_date[4:6]), int(study_date[6:8]))
    except (ValueError, IndexError):
        return None
    return (s - b).days / 365.25 if s >= b else None
