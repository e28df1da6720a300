"""Repair the patient/study attributes we copy from a source instance into our SR and encapsulated PDF, so the
objects we write are valid whatever the source's header defects: values checked by VR rules (pydicom's
validators plus control characters, VM, enumerated values), Type 1/1C/2 rules from a small module table,
sequences dropped when an item is invalid. Each repair is described without its value (no PHI)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Optional

if TYPE_CHECKING:
    from pydicom import Dataset
    from pydicom.dataelem import DataElement

# Patient (PS3.3 C.7.1.1), General Study (C.7.2.1) and Patient Study (C.7.2.2) attributes we copy: their Type.
PATIENT_STUDY_TYPES: dict[str, str] = {
    "PatientName": "2", "PatientID": "2", "IssuerOfPatientID": "3", "IssuerOfPatientIDQualifiersSequence": "3",
    "PatientBirthDate": "2", "PatientBirthTime": "3", "PatientSex": "2", "OtherPatientIDsSequence": "3",
    "PatientComments": "3", "PatientIdentityRemoved": "3", "DeidentificationMethod": "1C",
    "DeidentificationMethodCodeSequence": "1C", "EthnicGroup": "3",
    "StudyInstanceUID": "1", "StudyDate": "2", "StudyTime": "2", "ReferringPhysicianName": "2",
    "ReferringPhysicianIdentificationSequence": "3", "StudyID": "2", "AccessionNumber": "2",
    "IssuerOfAccessionNumberSequence": "3", "StudyDescription": "3", "ProcedureCodeSequence": "3",
    "PhysiciansOfRecord": "3", "NameOfPhysiciansReadingStudy": "3", "ReferencedStudySequence": "3",
    "AdmittingDiagnosesDescription": "3", "PatientAge": "3", "PatientSize": "3", "PatientWeight": "3",
    "MedicalAlerts": "3", "Allergies": "3", "PregnancyStatus": "3", "AdditionalPatientHistory": "3",
}
ENUMERATED: dict[str, frozenset[Any]] = {
    "PatientSex": frozenset({"M", "F", "O"}), "PatientIdentityRemoved": frozenset({"YES", "NO"}),
    "PregnancyStatus": frozenset({1, 2, 3, 4}),
}
# Type 1 attributes of the items of the sequences we copy (code items are checked by _code_item_ok).
ITEM_REQUIRED: dict[str, tuple[str, ...]] = {
    "OtherPatientIDsSequence": ("PatientID",),
    "ReferencedStudySequence": ("ReferencedSOPClassUID", "ReferencedSOPInstanceUID"),
}
DEID_UNSTATED = "Not stated by the source"
_TEXT_VRS = frozenset({"LT", "ST", "UT"})  # may hold TAB, LF, FF, CR
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_TEXT = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_PN_GROUP_MAX = 64


def repair_header(ds: "Dataset", repairs: Optional[list[str]] = None) -> "Dataset":
    """Repair (in place) the copied patient/study attributes of ``ds``; append one line per repair to
    ``repairs``. Values are decoded with the declared character set (see :func:`charset_problem`)."""
    log: list[str] = [] if repairs is None else repairs
    problem = charset_problem(ds)
    if problem:
        log.append(problem)
    for keyword, kind in PATIENT_STUDY_TYPES.items():
        if keyword in ds:
            _repair_element(ds, keyword, kind, log)
    _repair_deidentification(ds, log)
    return ds


def charset_problem(ds: "Dataset") -> str:
    """Why the declared Specific Character Set cannot be copied as is ("" if it can): an unknown term, or
    non-ASCII bytes under the default repertoire. Our writers then choose UTF-8."""
    from pydicom.charset import python_encoding

    declared = ds.get("SpecificCharacterSet", "") or ""
    terms = [declared] if isinstance(declared, str) else list(declared)
    unknown = [t for t in terms if t and t not in python_encoding and t.replace(" ", "_") not in python_encoding]
    if unknown:
        return "SpecificCharacterSet: unknown term(s) " + ", ".join(repr(t) for t in unknown) + \
            " (values read as ISO 8859-1), written as UTF-8"
    if all(t in ("", "ISO_IR 6") for t in terms) and not all(t.isascii() for t in header_texts(ds)):
        return "SpecificCharacterSet: non-ASCII characters under the default repertoire (read as ISO 8859-1), " \
               "written as UTF-8"
    return ""


def header_texts(ds: "Dataset") -> list[str]:
    """The text values of the copied attributes (sequence items included), to choose a character set."""
    out: list[str] = []
    for keyword in PATIENT_STUDY_TYPES:
        elem = _element(ds, keyword)
        if elem is not None:
            _collect_texts(elem, out)
    return out


def _element(ds: "Dataset", keyword: str) -> "Optional[DataElement]":
    """``ds[keyword]``, None if absent or if its bytes do not convert to its VR (e.g. DS "abc")."""
    if keyword not in ds:
        return None
    try:
        return ds[keyword]
    except (ValueError, TypeError, OverflowError, LookupError):
        return None


def _collect_texts(elem: "DataElement", out: list[str]) -> None:
    if elem.VR == "SQ":
        for item in elem.value or []:
            for sub in item:
                _collect_texts(sub, out)
    elif elem.VR in ("PN", "LO", "SH", "ST", "LT", "UT", "UC") and elem.value is not None:
        values = elem.value if _is_multi(elem.value) else [elem.value]
        out.extend(str(v) for v in values)


def _is_multi(value: Any) -> bool:
    from pydicom.multival import MultiValue

    return isinstance(value, (MultiValue, list, tuple))


def _repair_element(ds: "Dataset", keyword: str, kind: str, log: list[str]) -> None:
    from pydicom.datadict import dictionary_VR

    elem = _element(ds, keyword)
    want = dictionary_VR(keyword)
    if elem is None:
        _drop(ds, keyword, kind, log, reason=f"value does not convert to {want}")
        return
    if elem.VR != want:
        fixed = _convert_vr(elem, want)
        action = "converted" if fixed is not None else "emptied" if kind == "2" else "dropped"
        log.append(f"{keyword}: VR {elem.VR} instead of {want}: {action}")
        if fixed is None:
            _drop(ds, keyword, kind, log, reason="", quiet=True)
            return
        ds[keyword] = elem = fixed
    if want == "SQ":
        problem = _sequence_problem(keyword, elem.value)
        if problem:
            del ds[keyword]
            log.append(f"{keyword}: {problem}: dropped")
        return
    value, notes = _repair_value(keyword, want, elem.value)
    if value is _INVALID:
        _drop(ds, keyword, kind, log, reason="; ".join(notes) or "invalid value")
        return
    if notes:
        elem.value = value
        log.append(f"{keyword}: " + "; ".join(notes))
    if kind.startswith("1") and _empty(elem.value) and keyword != "DeidentificationMethod":  # its rule: below
        _drop(ds, keyword, kind, log, reason=f"empty Type {kind}")


def _drop(ds: "Dataset", keyword: str, kind: str, log: list[str], reason: str, quiet: bool = False) -> None:
    """Type 2: emptied; otherwise removed (a Type 1 UID we cannot invent stays: the importer checked it)."""
    if keyword == "StudyInstanceUID":
        return
    if kind == "2":
        from pydicom.datadict import dictionary_VR

        del ds[keyword]
        setattr(ds, keyword, [] if dictionary_VR(keyword) == "SQ" else "")
        action = "emptied"
    else:
        del ds[keyword]
        action = "dropped"
    if not quiet:
        log.append(f"{keyword}: {reason}: {action}")


def _convert_vr(elem: "DataElement", vr: str) -> "Optional[DataElement]":
    """``elem`` re-made with the dictionary VR (text values kept), None if its value cannot be text."""
    from pydicom.dataelem import DataElement

    if vr == "SQ" or elem.VR == "SQ":
        return None
    value = elem.value
    if isinstance(value, bytes):
        try:
            value = value.decode("ascii").rstrip("\0 ")
        except UnicodeDecodeError:
            return None
    if vr == "US":
        try:
            return DataElement(elem.tag, vr, int(str(value).strip()))
        except ValueError:
            return None
    return DataElement(elem.tag, vr, value)


_INVALID = object()


def _repair_value(keyword: str, vr: str, value: Any) -> tuple[Any, list[str]]:
    """(repaired value or _INVALID, what was changed)."""
    from pydicom.datadict import dictionary_VM

    notes: list[str] = []
    if value is None or value == "":
        return value, notes
    values = list(value) if _is_multi(value) else [value]
    if dictionary_VM(keyword) == "1" and len(values) > 1:
        values = [" ".join(str(v) for v in values)] if vr not in _NUMERIC else values[:1]
        notes.append("several values where one is allowed: joined" if vr not in _NUMERIC else "kept the first value")
    fixed = []
    for v in values:
        r, note = _repair_one(keyword, vr, v)
        if note:
            notes.append(note)
        if r is _INVALID:
            return _INVALID, notes
        fixed.append(r)
    return (fixed[0] if len(fixed) == 1 else fixed), notes


_NUMERIC = frozenset({"US", "SS", "UL", "SL", "FL", "FD", "DS", "IS"})


def _repair_one(keyword: str, vr: str, v: Any) -> tuple[Any, str]:
    allowed = ENUMERATED.get(keyword)
    if allowed is not None:
        probe = str(v).strip().upper() if isinstance(v, str) else v
        return (probe, "") if probe in allowed else (_INVALID, f"not one of {sorted(map(str, allowed))}")
    if vr in _DATE_FIXERS:
        return _DATE_FIXERS[vr](str(v))
    if vr in ("DS", "IS"):
        return _repair_number(vr, v)
    if vr in _NUMERIC:
        return (v, "") if _valid(vr, v) else (_INVALID, f"not a valid {vr}")
    return _repair_text(vr, str(v))


def _repair_number(vr: str, v: Any) -> tuple[Any, str]:
    """A DS/IS as written (pydicom keeps the original string): valid, or a DS reformatted into 16 characters."""
    from pydicom.valuerep import format_number_as_ds

    text = str(v).strip()
    if _valid(vr, text):
        return v, ""
    if vr == "DS":
        try:
            shorter = format_number_as_ds(float(text))
        except (ValueError, OverflowError):
            return _INVALID, "not a valid DS"
        if _valid(vr, shorter):
            return shorter, "longer than 16 characters: reformatted"
    return _INVALID, f"not a valid {vr}"


def _valid(vr: str, v: Any) -> bool:
    from pydicom import config
    from pydicom.valuerep import validate_value

    try:
        validate_value(vr, v, config.RAISE)
    except (ValueError, TypeError):
        return False
    return True


def _repair_text(vr: str, v: str) -> tuple[Any, str]:
    notes = []
    pattern = _CONTROL_TEXT if vr in _TEXT_VRS else _CONTROL
    if pattern.search(v):
        v = pattern.sub(" ", v)
        notes.append("control characters replaced by spaces")
    if vr == "PN":
        v, note = _fit_pn(v)
        notes += [note] if note else []
    elif vr == "CS" and not _valid(vr, v):
        v = re.sub(r"[^A-Z0-9 _]", "_", v.strip().upper())
        notes.append("characters outside A-Z 0-9 space _ replaced")
    limit = _max_len(vr)
    if limit and len(v) > limit:
        v = v[:limit].rstrip()
        notes.append(f"longer than {limit} characters: truncated")
    if not _valid(vr, v):
        return _INVALID, "; ".join(notes + [f"not a valid {vr}"])
    return v, "; ".join(notes)


def _max_len(vr: str) -> int:
    from pydicom.valuerep import MAX_VALUE_LEN

    return MAX_VALUE_LEN.get(vr, 0)


def _fit_pn(v: str) -> tuple[str, str]:
    """At most 3 component groups of at most 5 components, each group at most 64 characters."""
    groups = v.split("=")
    notes = []
    if len(groups) > 3:
        groups = groups[:3]
        notes.append("more than 3 component groups: extra dropped")
    out = []
    for g in groups:
        parts = g.split("^")
        if len(parts) > 5:
            parts = parts[:4] + [" ".join(parts[4:])]
            notes.append("more than 5 name components: extra joined into the suffix")
        g = "^".join(parts)
        if len(g) > _PN_GROUP_MAX:
            g = g[:_PN_GROUP_MAX]
            notes.append(f"name group longer than {_PN_GROUP_MAX} characters: truncated")
        out.append(g)
    return "=".join(out), "; ".join(notes)


def _fix_da(v: str) -> tuple[Any, str]:
    digits = re.sub(r"[.\-/ ]", "", v.strip())
    if _date_ok(digits, "%Y%m%d"):
        return digits, ("" if digits == v else "reformatted as YYYYMMDD")
    return _INVALID, "not a valid date"


def _fix_tm(v: str) -> tuple[Any, str]:
    s = v.strip().replace(":", "")
    whole, _, frac = s.partition(".")
    ok = re.fullmatch(r"\d{2}(\d{2}(\d{2})?)?", whole) and (not frac or (frac.isdigit() and len(whole) == 6))
    if ok and int(whole[:2]) < 24 and int(whole[2:4] or 0) < 60 and int(whole[4:6] or 0) < 61:
        s = whole + ("." + frac[:6] if frac else "")
        return s, ("" if s == v else "reformatted as HHMMSS.FFFFFF")
    return _INVALID, "not a valid time"


def _fix_dt(v: str) -> tuple[Any, str]:
    return (v, "") if _valid("DT", v) else (_INVALID, "not a valid date-time")


def _fix_as(v: str) -> tuple[Any, str]:
    return (v, "") if re.fullmatch(r"\d{3}[DWMY]", v) else (_INVALID, "not nnnD/W/M/Y")


def _date_ok(value: str, fmt: str) -> bool:
    try:
        datetime.strptime(value, fmt)
    except ValueError:
        return False
    return len(value) == 8


_DATE_FIXERS: dict[str, Callable[[str], tuple[Any, str]]] = {"DA": _fix_da, "TM": _fix_tm, "DT": _fix_dt,
                                                              "AS": _fix_as}


def _empty(value: Any) -> bool:
    return value is None or value == "" or (_is_multi(value) and not any(str(v) for v in value))


def _sequence_problem(keyword: str, items: Any) -> str:
    """Why a copied sequence is invalid ("" if it is not): empty items, an invalid value, a missing Type 1."""
    for item in items or []:
        if len(item) == 0:
            return "empty item"
        missing = [k for k in ITEM_REQUIRED.get(keyword, ()) if _empty(item.get(k))]
        if missing or not _code_item_ok(keyword, item):
            return "item lacks " + (", ".join(missing) or "a complete code (value, scheme, meaning)")
        for elem in item:
            problem = _element_problem(elem)
            if problem:
                return problem
    return ""


def _code_item_ok(keyword: str, item: "Dataset") -> bool:
    if not keyword.endswith("CodeSequence") and "CodeValue" not in item and "CodeMeaning" not in item:
        return True
    has_value = any(not _empty(item.get(k)) for k in ("CodeValue", "LongCodeValue", "URNCodeValue"))
    return has_value and not _empty(item.get("CodingSchemeDesignator")) and not _empty(item.get("CodeMeaning"))


def _element_problem(elem: "DataElement") -> str:
    from pydicom.datadict import dictionary_VR

    if elem.tag.is_private:
        return ""
    try:
        want = dictionary_VR(elem.tag)
    except KeyError:
        return f"unknown attribute {elem.tag}"
    if elem.VR != want and not (want in ("US or SS", "OB or OW", "US or OW") and elem.VR in want):
        return f"{elem.keyword or elem.tag} has VR {elem.VR} instead of {want}"
    if elem.VR == "SQ":
        return _sequence_problem(elem.keyword, elem.value)
    value, notes = _repair_value(elem.keyword, elem.VR, elem.value) if elem.keyword else (elem.value, [])
    return f"{elem.keyword}: " + "; ".join(notes) if (value is _INVALID or notes) else ""


def _repair_deidentification(ds: "Dataset", log: list[str]) -> None:
    """Type 1C: De-identification Method (or its code sequence) is required when Patient Identity Removed is
    YES; an empty one is dropped otherwise."""
    removed = str(ds.get("PatientIdentityRemoved", "") or "") == "YES"
    has_code = bool(ds.get("DeidentificationMethodCodeSequence"))
    has_text = not _empty(ds.get("DeidentificationMethod"))
    if "DeidentificationMethodCodeSequence" in ds and not has_code:
        del ds.DeidentificationMethodCodeSequence
        log.append("DeidentificationMethodCodeSequence: empty Type 1C: dropped")
    if removed and not has_code and not has_text:
        ds.DeidentificationMethod = DEID_UNSTATED
        log.append(f"DeidentificationMethod: empty or missing while PatientIdentityRemoved is YES: set to "
                   f"{DEID_UNSTATED!r}")
    elif "DeidentificationMethod" in ds and not has_text:
        del ds.DeidentificationMethod
        log.append("DeidentificationMethod: empty Type 1C: dropped")
