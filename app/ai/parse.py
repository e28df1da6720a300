"""Read an AI result object (SR or SEG) into its suspected findings, tolerant of vendors' variants.

SR: a TID 1500 measurement report is read with highdicom (qualitative evaluations "Finding" = code of its
measurement groups); anything else (a vendor's container with a "Finding" CODE item and a "Presence"
property, a TID 1500 highdicom refuses) by walking the content tree. SEG: the segmented property types.
A damaged finding raises AiResultError naming what is wrong; objects without AI findings give none."""

from __future__ import annotations

import logging
from typing import Any, Iterator, Optional

from app.ai.codes import match, negated
from app.ai.model import AiFinding, AiObject, AiResultError

log = logging.getLogger(__name__)

FINDING = ("DCM", "121071")
FINDING_SITE = ("SCT", "363698007")
_FINDING_WORDS = {"finding", "findings", "ai finding", "suspected finding", "detected finding", "result"}
_PRESENT = {"present", "suspected", "positive", "yes", "true", "detected", "likely", "possible", "probable",
            "52101004", "415684004", "373066001", "10828004"}
_ABSENT = {"absent", "negative", "no", "false", "not detected", "not present", "unlikely", "none",
           "2667000", "373067005", "260385009"}
_MAX_ITEMS = 20_000
_MAX_DEPTH = 32


def read_ai_object(ds: Any) -> AiObject:
    """The AI findings of one SR or SEG dataset (none for an object that names no finding)."""
    modality = str(ds.get("Modality", "")).upper()
    base = dict(sop_uid=str(ds.get("SOPInstanceUID", "")), study_uid=str(ds.get("StudyInstanceUID", "")),
                series_uid=str(ds.get("SeriesInstanceUID", "")), kind=modality)
    if modality == "SEG":
        findings, refs, algorithm = _seg(ds)
    elif modality == "SR":
        findings, refs, algorithm = _sr(ds)
    else:
        raise AiResultError(f"not an SR or SEG object (modality {modality or 'missing'})")
    return AiObject(**base, algorithm=algorithm, findings=_unique(findings), references=tuple(dict.fromkeys(refs)))


def _unique(findings: list[AiFinding]) -> tuple[AiFinding, ...]:
    seen: dict[tuple[str, str], AiFinding] = {}
    for f in findings:
        seen.setdefault((f.key or f.meaning, f.presence), f)
    return tuple(seen.values())


# -- codes -----------------------------------------------------------------------------------------
def _code(seq: Any, what: str) -> tuple[str, str, str]:
    """(scheme, value, meaning) of the first item of a code sequence; AiResultError when missing."""
    if not seq:
        raise AiResultError(f"{what} has no code")
    item = seq[0]
    value = str(item.get("CodeValue") or item.get("LongCodeValue") or item.get("URNCodeValue") or "").strip()
    meaning = str(item.get("CodeMeaning", "")).strip()
    if not value and not meaning:
        raise AiResultError(f"{what} has an empty code")
    return str(item.get("CodingSchemeDesignator", "")).strip().upper(), value, meaning


def _name(item: Any) -> Optional[tuple[str, str, str]]:
    try:
        return _code(item.get("ConceptNameCodeSequence"), "concept name")
    except AiResultError:
        return None


def _is(code: Optional[tuple[str, str, str]], ref: tuple[str, str], words: set[str] = set()) -> bool:
    if code is None:
        return False
    scheme = "SCT" if code[0] in ("SRT", "SNM3") else code[0]
    return (scheme, code[1]) == ref or code[2].lower() in words


def _presence(text: str) -> Optional[str]:
    value = text.strip().lower()
    if value in _ABSENT:
        return "absent"
    if value in _PRESENT:
        return "suspected" if value in ("suspected", "415684004", "possible", "probable", "likely") else "present"
    return None


# -- SR --------------------------------------------------------------------------------------------
def _sr(ds: Any) -> tuple[list[AiFinding], list[str], str]:
    refs = [str(r.ReferencedSOPInstanceUID) for s in ds.get("CurrentRequestedProcedureEvidenceSequence") or []
            for se in s.get("ReferencedSeriesSequence") or [] for r in se.get("ReferencedSOPSequence") or []
            if "ReferencedSOPInstanceUID" in r]
    algorithm = _device_name(ds) or " ".join(str(ds.get(k, "")) for k in ("Manufacturer", "ManufacturerModelName")).strip()
    findings = _tid1500(ds)
    if findings is None:
        findings = list(_walk(ds.get("ContentSequence") or [], 0, [0]))
    return findings, refs, algorithm


def _device_name(ds: Any) -> str:
    for item in ds.get("ContentSequence") or []:
        if _is(_name(item), ("DCM", "121013")):
            return str(item.get("TextValue", "")).strip()
    return ""


def _tid1500(ds: Any) -> Optional[list[AiFinding]]:
    """The qualitative evaluations of a TID 1500 report read with highdicom; None when it is not one or
    highdicom refuses it (the tolerant walk reads it then)."""
    templates = [str(t.get("TemplateIdentifier", "")) for t in ds.get("ContentTemplateSequence") or []]
    if "1500" not in templates:
        return None
    try:
        import highdicom as hd

        report = hd.sr.MeasurementReport.from_sequence([ds], is_root=True)
        groups = [*report.get_image_measurement_groups(), *report.get_planar_roi_measurement_groups(),
                  *report.get_volumetric_roi_measurement_groups()]
        found: list[AiFinding] = []
        for group in groups:
            found += _group_findings(group)
        return found or None
    except Exception as exc:  # noqa: BLE001 - a vendor's variant: the tolerant walk reads it
        log.debug("highdicom could not read the TID 1500 report: %s", exc)
        return None


def _concept(code: Any) -> tuple[str, str, str]:
    return str(code.scheme_designator).upper(), str(code.value), str(code.meaning)


def _group_findings(group: Any) -> list[AiFinding]:
    """One TID 1501/1410/1411 group: its finding type (with its sites and a "Presence" evaluation) and the
    qualitative evaluations naming a known finding as present."""
    sites = " ".join(_concept(s.value)[2] for s in group.finding_sites)
    presence, found = None, []
    evaluations = [(_concept(ev.name), _concept(ev.value)) for ev in group.get_qualitative_evaluations()]
    for name, value in evaluations:
        if "presence" in name[2].lower() or "likelihood" in name[2].lower():
            presence = _presence(value[2]) or _presence(value[1]) or presence
    if group.finding_type is not None:
        found.append(_finding(FINDING + ("Finding",), _concept(group.finding_type), sites, presence))
    found += [_finding(name, value, sites, None) for name, value in evaluations]
    return [f for f in found if f is not None]


def _finding(name: tuple[str, str, str], value: tuple[str, str, str], site: str,
             presence: Optional[str]) -> Optional[AiFinding]:
    """A finding from a CODE item: "Finding" = code, or "<known finding>" = present/absent."""
    if _is(name, FINDING, _FINDING_WORDS):
        coded, status = value, presence or "present"
    else:
        status = _presence(value[2]) or _presence(value[1])
        if status is None or match(*name) is None:
            return None
        coded = name
    if status == "absent" or negated(coded[2]):
        return None
    known = match(*coded, site=site)
    return AiFinding(known.key if known else "", known.label if known else coded[2] or coded[1], coded[0],
                     coded[1], coded[2], status, bool(known and known.critical))


def _walk(items: Any, depth: int, count: list[int]) -> Iterator[AiFinding]:
    if depth > _MAX_DEPTH:
        raise AiResultError("content tree nested too deep")
    for item in items:
        count[0] += 1
        if count[0] > _MAX_ITEMS:
            raise AiResultError(f"content tree has more than {_MAX_ITEMS} items")
        name = _name(item)
        if str(item.get("ValueType", "")).upper() == "CODE" and name is not None:
            yield from _code_item(item, name)
        yield from _walk(item.get("ContentSequence") or [], depth + 1, count)


def _code_item(item: Any, name: tuple[str, str, str]) -> Iterator[AiFinding]:
    is_finding = _is(name, FINDING, _FINDING_WORDS)
    try:
        value = _code(item.get("ConceptCodeSequence"), f"{name[2] or 'CODE'} item")
    except AiResultError:
        if is_finding:
            raise
        return
    site, presence = "", None
    for child in item.get("ContentSequence") or []:
        child_name = _name(child)
        if child_name is None or "ConceptCodeSequence" not in child:
            continue
        try:
            child_value = _code(child.ConceptCodeSequence, "property")
        except AiResultError:
            continue
        if _is(child_name, FINDING_SITE, {"finding site", "site", "location"}):
            site = f"{site} {child_value[2]}"
        elif "presence" in child_name[2].lower() or "likelihood" in child_name[2].lower():
            presence = _presence(child_value[2]) or _presence(child_value[1]) or presence
    found = _finding(name, value, site, presence)
    if found is not None:
        yield found


# -- SEG -------------------------------------------------------------------------------------------
def _seg(ds: Any) -> tuple[list[AiFinding], list[str], str]:
    found: list[AiFinding] = []
    for seg in ds.get("SegmentSequence") or []:
        try:
            prop = _code(seg.get("SegmentedPropertyTypeCodeSequence"), f"segment {seg.get('SegmentNumber', '?')}")
        except AiResultError:
            continue  # a segment without a type names no finding; the outline is still drawn
        site = " ".join(str(r.get("CodeMeaning", "")) for r in seg.get("AnatomicRegionSequence") or [])
        site += " " + str(seg.get("SegmentLabel", ""))
        finding = _finding(FINDING + ("Finding",), prop, site, "present")
        if finding is not None:
            found.append(finding)
    refs = [str(r.ReferencedSOPInstanceUID) for se in ds.get("ReferencedSeriesSequence") or []
            for r in se.get("ReferencedInstanceSequence") or [] if "ReferencedSOPInstanceUID" in r]
    algorithm = " ".join(str(ds.get(k, "")) for k in ("Manufacturer", "ManufacturerModelName")).strip()
    return found, refs, algorithm
