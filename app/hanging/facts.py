"""What a hanging rule is matched against: a study, its series and (for mammography) its images."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Optional

#: View Code Sequence (0054,0220) codes (SNOMED RT and SCT) -> ViewPosition-style abbreviations.
VIEW_CODES = {
    "R-10242": "CC", "399162004": "CC", "R-10226": "MLO", "399368009": "MLO", "R-10224": "ML",
    "399260004": "ML", "R-10228": "LM", "399352003": "LM", "R-1024A": "XCCL", "399192003": "XCCL",
    "R-10230": "LMO", "399099002": "LMO", "R-102D0": "SIO", "R-40AAA": "FB", "R-10244": "FB",
}
_VIEW_MEANINGS = {"cranio-caudal": "CC", "medio-lateral oblique": "MLO", "medio-lateral": "ML",
                  "latero-medial": "LM", "cranio-caudal exaggerated laterally": "XCCL"}


@dataclass(frozen=True)
class ImageFacts:
    """One image: laterality (R/L), view (CC, MLO, ...) and the patient direction of its rows."""

    sop_uid: str
    laterality: str = ""
    view: str = ""
    row_direction: str = ""  # first value of Patient Orientation (0020,0020), e.g. "P" or "A"


@dataclass
class SeriesFacts:
    uid: str
    modality: str = ""
    description: str = ""
    body_part: str = ""
    number: Optional[int] = None
    images: list[ImageFacts] = field(default_factory=list)  # only read where views matter (MG)


@dataclass
class StudyFacts:
    uid: str
    date: str = ""  # YYYYMMDD
    description: str = ""
    modalities: tuple[str, ...] = ()
    body_part: str = ""
    series: list[SeriesFacts] = field(default_factory=list)

    def age_days(self, than: "StudyFacts") -> Optional[int]:
        """Days between this study and the later ``than`` (None when a date is missing)."""
        a, b = _date(self.date), _date(than.date)
        return None if a is None or b is None else (b - a).days


def _date(text: str) -> Optional[date]:
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8])) if len(text) >= 8 else None
    except ValueError:
        return None


def image_facts(ds: Any) -> ImageFacts:
    """ImageFacts of a pydicom dataset (ImageLaterality / Laterality, ViewPosition / ViewCodeSequence)."""
    laterality = str(ds.get("ImageLaterality") or ds.get("Laterality") or "").upper().strip()
    view = str(ds.get("ViewPosition") or "").upper().strip()
    if not view:
        for item in ds.get("ViewCodeSequence") or ():
            code = str(item.get("CodeValue") or "")
            view = VIEW_CODES.get(code) or _VIEW_MEANINGS.get(str(item.get("CodeMeaning") or "").lower(), "")
            if view:
                break
    orientation = ds.get("PatientOrientation") or ()
    if isinstance(orientation, str):
        orientation = orientation.split("\\")
    row = str(orientation[0]).upper() if len(orientation) > 0 else ""
    return ImageFacts(str(ds.get("SOPInstanceUID") or ""), laterality if laterality in ("R", "L", "B") else "",
                      view, row)
