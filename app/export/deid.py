"""PS3.15 Annex E de-identification of one data set: the Basic Application Level Confidentiality Profile,
with the Retain Longitudinal Temporal Information (Modified Dates), Retain Device Identity and Clean
Descriptors options.

The action of every attribute comes from the Annex E table shipped by ``dicom-anonymizer`` (its 2026c
edition, generated from the standard); this module only applies it: D dummy value, Z empty, X remove,
U UID remapped (consistently through a :class:`Deidentifier`, so references between the exported objects
still resolve). The compound actions take the choice that keeps every IOD valid (Z/D, X/D, X/Z/D -> D;
X/Z -> Z, or X for a sequence (an empty Type 3 sequence is invalid); X/Z/U* sequences are kept and
cleaned). Sequences are cleaned item by item, private attributes
removed (no Retain Safe Private option), and any text left that still holds the patient's name or ID is
scrubbed. The option columns are not in that table: the few attributes each option changes are listed here.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydicom.dataelem import DataElement
    from pydicom.dataset import Dataset

TABLE_EDITION = "dicomfields_2026c"  # the module imported in _table()
# CID 7050 De-identification Method codes (scheme DCM).
BASIC_PROFILE = ("113100", "Basic Application Confidentiality Profile")
LONGITUDINAL_MODIFIED = ("113107", "Retain Longitudinal Temporal Information Modified Dates Option")
DEVICE_IDENTITY = ("113109", "Retain Device Identity Option")
CLEAN_DESCRIPTORS = ("113105", "Clean Descriptors Option")

# Retain Device Identity Option: these are kept (K in the option's column).
DEVICE_TAGS = frozenset({
    0x00181000, 0x00181002, 0x00181003, 0x00181004, 0x00181005, 0x00181007, 0x00181008, 0x0018700A,
    0x00081010, 0x00500020, 0x3010002D, 0x3010001B, 0x00181009,
})
# Clean Descriptors Option: free-text descriptors kept after cleaning (C in the option's column).
DESCRIPTOR_TAGS = frozenset({
    0x00081030, 0x0008103E, 0x00181030, 0x00204000, 0x00081080, 0x00400254, 0x00400007, 0x00321060,
})
# Removed whatever the table says: MAC Parameters and Digital Signatures Sequences (signatures over the
# original values), Encrypted Attributes and Original Attributes Sequences (the original values themselves).
ALWAYS_REMOVED = frozenset({0x4FFE0001, 0xFFFAFFFA, 0x04000500, 0x04000561})
TEXT_VRS = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UR", "UT"})
SCRUB_VRS = frozenset({"LO", "LT", "PN", "SH", "ST", "UC", "UT"})  # free text that may quote the patient


class DeidentificationBlocked(RuntimeError):
    """Burned In Annotation is YES and the user has not confirmed (the pixels may show the patient)."""


@dataclass(frozen=True)
class DeidOptions:
    """The Annex E options to apply; ``date_shift_days`` None picks a random shift per export."""

    retain_longitudinal: bool = False
    retain_device_identity: bool = False
    clean_descriptors: bool = False
    confirm_burned_in: bool = False
    date_shift_days: int | None = None


def _table() -> dict[int, str]:
    """tag (int) -> action letter(s), from the library's Annex E table; masked ranges keyed as (tag, mask)."""
    from dicomanonymizer.dicom_anonymization_databases import dicomfields_2026c as module  # static: bundled

    names = {"D_TAGS": "D", "Z_TAGS": "Z", "X_TAGS": "X", "U_TAGS": "U", "Z_D_TAGS": "D", "X_Z_TAGS": "XZ",
             "X_D_TAGS": "D", "X_Z_D_TAGS": "D", "X_Z_U_STAR_TAGS": "ZU"}
    actions: dict[Any, str] = {}
    for name, action in names.items():
        for entry in getattr(module, name):
            key = (entry[0] << 16 | entry[1]) if len(entry) == 2 else (entry[0] << 16 | entry[1], entry[2] << 16 | entry[3])
            actions[key] = action
    return actions


@dataclass
class Deidentifier:
    """One export: the UID map, the pseudonym and the date shift shared by every object of it."""

    options: DeidOptions = field(default_factory=DeidOptions)
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(16))
    uid_map: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._actions = _table()
        self._ranges = [(k, m, a) for key, a in self._actions.items() if isinstance(key, tuple) for k, m in [key]]
        shift = self.options.date_shift_days
        self.shift = timedelta(days=shift if shift is not None else -(secrets.randbelow(3650) + 365))
        self.pseudonym = "ANON" + hashlib.sha256(self.secret + b"patient").hexdigest()[:8].upper()
        self._phi: set[str] = set()

    def check_burned_in(self, ds: "Dataset") -> None:
        if str(ds.get("BurnedInAnnotation", "")).upper() == "YES" and not self.options.confirm_burned_in:
            raise DeidentificationBlocked("Burned In Annotation is YES: the pixels may show the patient's "
                                          "identity; confirm to export them anyway")

    def new_uid(self, old: str) -> str:
        """The same new UID for the same old one throughout this export (2.25 form, not reversible)."""
        if old not in self.uid_map:
            digest = hashlib.sha256(self.secret + old.encode("ascii", "replace")).digest()
            self.uid_map[old] = "2.25." + str(int.from_bytes(digest[:16], "big"))
        return self.uid_map[old]

    def apply(self, ds: "Dataset") -> "Dataset":
        """De-identify ``ds`` in place (file meta too) and add the de-identification attributes."""
        self.check_burned_in(ds)
        self._collect_phi(ds)
        self._clean(ds)
        meta = getattr(ds, "file_meta", None)
        if meta is not None and "MediaStorageSOPInstanceUID" in meta:
            meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        self._mark(ds)
        return ds

    # -- the table -----------------------------------------------------------------------------
    def _action(self, tag: int) -> str | None:
        if self.options.retain_device_identity and tag in DEVICE_TAGS:
            return "K"
        if self.options.clean_descriptors and tag in DESCRIPTOR_TAGS:
            return "C"
        found = self._actions.get(tag)
        if found is not None:
            return found
        for key, mask, action in self._ranges:
            if tag & mask == key & mask:
                return action
        return None

    def _clean(self, ds: "Dataset") -> None:
        for elem in list(ds):
            tag = int(elem.tag)
            if elem.tag.is_private or tag in ALWAYS_REMOVED:
                del ds[elem.tag]
                continue
            action = self._action(tag)
            dated = elem.VR in ("DA", "DT", "TM") and self.options.retain_longitudinal
            if (action == "X" or (action == "XZ" and elem.VR == "SQ")) and not dated:
                del ds[elem.tag]
            elif elem.VR == "SQ":
                self._sequence(ds, elem, action)
            elif action is not None and action != "K":
                self._element(elem, action)
            else:
                self._scrub(elem)

    def _sequence(self, ds: "Dataset", elem: "DataElement", action: str | None) -> None:
        if action == "Z":
            elem.value = []
            return
        for item in elem.value:  # D, U, ZU, C, K or not listed: keep the structure, clean every item
            self._clean(item)

    def _element(self, elem: "DataElement", action: str) -> None:
        if elem.VR == "UI" or action in ("U", "ZU"):
            if elem.VR == "UI" and elem.value:
                values = elem.value if elem.VM > 1 else [elem.value]
                mapped = [self.new_uid(str(v)) for v in values if str(v)]
                elem.value = mapped if elem.VM > 1 else mapped[0]
            elif action == "ZU":
                elem.value = None
            return
        if self.options.retain_longitudinal and elem.VR in ("DA", "DT", "TM"):
            self._shift(elem)
            return
        if action == "C":
            self._scrub(elem)
        elif action in ("Z", "XZ") or elem.value in (None, ""):
            elem.value = None if elem.VR in TEXT_VRS or elem.VR == "UI" else _empty(elem.VR)
        else:
            elem.value = self._dummy(elem)

    def _dummy(self, elem: "DataElement") -> Any:
        vr = elem.VR
        if vr == "PN":
            return self.pseudonym
        if vr in ("LO", "SH", "LT", "ST", "UT", "UC"):
            return self.pseudonym if int(elem.tag) == 0x00100020 else "REMOVED"
        return DUMMIES[vr] if vr in DUMMIES else _empty(vr)

    def _shift(self, elem: "DataElement") -> None:
        """Retain Longitudinal (Modified Dates): every date moved by the export's shift; times kept."""
        if elem.VR == "TM" or not elem.value:
            return
        values = list(elem.value) if elem.VM > 1 else [elem.value]
        elem.value = [_shift_text(str(v), self.shift) for v in values] if elem.VM > 1 else _shift_text(str(values[0]), self.shift)

    # -- the safety net ------------------------------------------------------------------------
    def _collect_phi(self, ds: "Dataset") -> None:
        for keyword in ("PatientName", "PatientID", "OtherPatientNames", "OtherPatientIDs", "PatientBirthName",
                        "PatientMotherBirthName", "IssuerOfPatientID"):
            value = ds.get(keyword)
            values = value if isinstance(value, (list, tuple)) else [value]
            for v in values:
                for token in re.split(r"[\^=\s,]+", str(v or "")):
                    if len(token) >= 3:
                        self._phi.add(token)

    def _scrub(self, elem: "DataElement") -> None:
        if not self._phi or elem.VR not in SCRUB_VRS or not isinstance(elem.value, str):
            return
        text = elem.value
        for token in sorted(self._phi, key=len, reverse=True):
            text = re.sub(re.escape(token), "", text, flags=re.IGNORECASE)
        if text != elem.value:
            elem.value = text.strip() or None

    def _mark(self, ds: "Dataset") -> None:
        from pydicom.dataset import Dataset

        ds.PatientIdentityRemoved = "YES"
        codes = [BASIC_PROFILE]
        if self.options.retain_longitudinal:
            codes.append(LONGITUDINAL_MODIFIED)
        if self.options.retain_device_identity:
            codes.append(DEVICE_IDENTITY)
        if self.options.clean_descriptors:
            codes.append(CLEAN_DESCRIPTORS)
        ds.DeidentificationMethod = [f"PS3.15 E {'Basic Profile' if code is BASIC_PROFILE else code[1][:50]}"
                                     for code in codes]
        items = []
        for code, meaning in codes:
            item = Dataset()
            item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = code, "DCM", meaning
            items.append(item)
        ds.DeidentificationMethodCodeSequence = items
        ds.LongitudinalTemporalInformationModified = "MODIFIED" if self.options.retain_longitudinal else "REMOVED"


def _empty(vr: str) -> Any:
    return b"" if vr.startswith("O") or vr == "UN" else None


def _shift_text(value: str, shift: timedelta) -> str:
    if len(value) < 8 or not value[:8].isdigit():
        return value
    moved = datetime.strptime(value[:8], "%Y%m%d").date() + shift
    return max(moved, date(1900, 1, 1)).strftime("%Y%m%d") + value[8:]


DUMMIES: dict[str, Any] = {
    "DA": "19000101", "TM": "000000", "DT": "19000101000000", "AS": "000Y", "CS": "REMOVED"[:16],
    "DS": "0", "IS": "0", "AE": "REMOVED", "UR": "", "US": 0, "SS": 0, "UL": 0, "SL": 0, "FL": 0.0, "FD": 0.0,
    "AT": 0, "OB": b"", "OW": b"", "OF": b"", "OD": b"", "OL": b"", "UN": b"",
}

__all__ = ["DeidOptions", "Deidentifier", "DeidentificationBlocked"]
