"""JSON encoding of report parts, and the canonical content hash of a signed report."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any, Mapping

from app.reporting.model import ImageRef, KeyImage, Measurement, Report, StudyInfo

HASH_ALGORITHM = "sha256"


def dumps(value: Any) -> str:
    """Canonical JSON (sorted keys, no whitespace, UTF-8 kept) of dataclasses/lists/dicts."""
    return json.dumps(_plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def study_from_json(text: str) -> StudyInfo:
    """Inverse of ``dumps(StudyInfo)`` (unknown keys ignored for forward compatibility)."""
    data = json.loads(text)
    names = {f.name for f in dataclasses.fields(StudyInfo)}
    return StudyInfo(**{k: v for k, v in data.items() if k in names})


def _image(data: Mapping[str, Any] | None) -> ImageRef | None:
    return ImageRef(**data) if data else None


def measurements_from_json(text: str) -> tuple[Measurement, ...]:
    """Decode the measurements column."""
    return tuple(
        Measurement(d["label"], float(d["value"]), d["unit"], _image(d.get("image"))) for d in json.loads(text or "[]")
    )


def key_images_from_json(text: str) -> tuple[KeyImage, ...]:
    """Decode the key images column."""
    out = []
    for d in json.loads(text or "[]"):
        image = _image(d["image"])
        assert image is not None
        out.append(KeyImage(image, d.get("png_path", ""), d.get("caption", "")))
    return tuple(out)


def hashed_content(report: Report) -> dict[str, Any]:
    """The fields a signature vouches for (everything clinical, plus signer and signing time)."""
    return {
        "id": report.id,
        "study": _plain(report.study),
        "kind": str(report.kind),
        "predecessor_id": report.predecessor_id,
        "template_id": report.template_id,
        "sections": dict(report.sections),
        "addendum_note": report.addendum_note,
        "measurements": _plain(report.measurements),
        "key_images": [_plain(k.image) | {"caption": k.caption} for k in report.key_images],
        "critical": report.critical,
        "critical_text": report.critical_text,
        "signer_name": report.signer_name,
        "signed_at": report.signed_at,
    }


def content_hash(report: Report) -> str:
    """``sha256:<hex>`` of the canonical JSON of :func:`hashed_content`."""
    digest = hashlib.sha256(dumps(hashed_content(report)).encode("utf-8")).hexdigest()
    return f"{HASH_ALGORITHM}:{digest}"
