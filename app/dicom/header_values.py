"""Reading attribute values for the index: tolerant text/number/vector readers, geometry, request fields.

Split out of :mod:`app.dicom.header`, which re-exports :class:`Geometry` and :func:`extract_geometry`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydicom.dataset import Dataset


@dataclass(frozen=True)
class Geometry:
    """Per-slice image attributes the viewer needs without reparsing."""

    rows: int | None = None
    columns: int | None = None
    number_of_frames: int | None = None
    samples_per_pixel: int | None = None
    bits_allocated: int | None = None
    bits_stored: int | None = None
    pixel_representation: int | None = None
    photometric_interpretation: str | None = None
    image_position: tuple[float, ...] | None = None
    image_orientation: tuple[float, ...] | None = None
    pixel_spacing: tuple[float, ...] | None = None
    slice_thickness: float | None = None
    rescale_slope: float | None = None
    rescale_intercept: float | None = None
    window_center: float | None = None
    window_width: float | None = None


def get_value(ds: Dataset | None, keyword: str) -> Any:
    """An attribute's value, or None when absent or undecodable."""
    try:
        value = ds.get(keyword)
    except Exception:  # invalid values (e.g. IS '1A') must not stop indexing
        return None
    return None if value is None or value == "" else value


def text_value(ds: Dataset, keyword: str) -> str:
    """A value as stripped text (multi-values joined with a backslash); '' when absent."""
    value = get_value(ds, keyword)
    if value is None:
        return ""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        value = "\\".join(str(v) for v in value)
    return str(value).strip().replace("\x00", "")


def number_value(ds: Dataset | None, keyword: str, kind: type = float) -> Any:
    """A (first) value converted with ``kind``; None when absent or not convertible."""
    value = get_value(ds, keyword)
    if value is not None and not isinstance(value, (str, bytes)) and hasattr(value, "__len__"):
        value = value[0] if len(value) else None
    try:
        return None if value is None else kind(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _vector(ds: Dataset | None, keyword: str, size: int) -> tuple[float, ...] | None:
    value = get_value(ds, keyword)
    try:
        vector = tuple(float(v) for v in value)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        return None
    return vector if len(vector) == size else None


def _group(ds: Dataset, sequence: str) -> Dataset | None:
    """First item of a functional-group macro (shared groups first, else the first frame's)."""
    for groups in ("SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence"):
        try:
            return getattr(getattr(ds, groups)[0], sequence)[0]  # type: ignore[no-any-return]
        except (AttributeError, IndexError, KeyError, TypeError):
            continue
    return None


def _either(value: Any, fallback: Any) -> Any:
    return fallback if value is None else value


def extract_geometry(ds: Dataset) -> Geometry:
    """Geometry/display attributes: top level, else (enhanced multi-frame) the functional groups
    (first frame's position). Multi-valued windows give their first value."""
    measures, plane = _group(ds, "PixelMeasuresSequence"), _group(ds, "PlaneOrientationSequence")
    position, voi = _group(ds, "PlanePositionSequence"), _group(ds, "FrameVOILUTSequence")
    transform = _group(ds, "PixelValueTransformationSequence")
    return Geometry(
        rows=number_value(ds, "Rows", int),
        columns=number_value(ds, "Columns", int),
        number_of_frames=number_value(ds, "NumberOfFrames", int),
        samples_per_pixel=number_value(ds, "SamplesPerPixel", int),
        bits_allocated=number_value(ds, "BitsAllocated", int),
        bits_stored=number_value(ds, "BitsStored", int),
        pixel_representation=number_value(ds, "PixelRepresentation", int),
        photometric_interpretation=text_value(ds, "PhotometricInterpretation") or None,
        image_position=_either(_vector(ds, "ImagePositionPatient", 3), _vector(position, "ImagePositionPatient", 3)),
        image_orientation=_either(_vector(ds, "ImageOrientationPatient", 6),
                                  _vector(plane, "ImageOrientationPatient", 6)),
        pixel_spacing=_either(_vector(ds, "PixelSpacing", 2), _vector(measures, "PixelSpacing", 2)),
        slice_thickness=_either(number_value(ds, "SliceThickness"), number_value(measures, "SliceThickness")),
        rescale_slope=_either(number_value(ds, "RescaleSlope"), number_value(transform, "RescaleSlope")),
        rescale_intercept=_either(number_value(ds, "RescaleIntercept"), number_value(transform, "RescaleIntercept")),
        window_center=_either(number_value(ds, "WindowCenter"), number_value(voi, "WindowCenter")),
        window_width=_either(number_value(ds, "WindowWidth"), number_value(voi, "WindowWidth")),
    )


def extract_request_fields(ds: Dataset) -> dict[str, str]:
    """Worklist request fields ('' when absent): Requested Procedure Priority and Requesting Service
    at top level, else from the Request Attributes Sequence (service also from its code sequence)."""
    rpp, service = text_value(ds, "RequestedProcedurePriority"), text_value(ds, "RequestingService")
    for item in _items(ds, "RequestAttributesSequence"):
        rpp = rpp or text_value(item, "RequestedProcedurePriority")
        service = service or text_value(item, "RequestingService")
    for item in _items(ds, "RequestingServiceCodeSequence")[:1]:
        service = service or text_value(item, "CodeMeaning")
    return {
        "requested_procedure_priority": rpp,
        "study_priority_id": text_value(ds, "StudyPriorityID"),
        "patient_age": text_value(ds, "PatientAge"),
        "requesting_service": service,
    }


def _items(ds: Dataset, keyword: str) -> list[Dataset]:
    value = get_value(ds, keyword)
    try:
        return list(value) if value is not None else []
    except TypeError:
        return []
