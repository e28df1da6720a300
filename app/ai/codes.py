"""The findings an AI triage result can name: codes (SNOMED CT, DCM) and the words vendors use instead."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class KnownFinding:
    """A finding the worklist knows: ``key`` (ich, lvo, pe), the short ``label`` shown ("ICH")."""

    key: str
    label: str
    meaning: str
    codes: frozenset[tuple[str, str]]  # (scheme, value); scheme SCT also matches SRT
    words: tuple[tuple[str, ...], ...]  # any group whose words all occur in a code meaning
    critical: bool = True


CRITICAL_FINDINGS: tuple[KnownFinding, ...] = (
    KnownFinding("ich", "ICH", "Intracranial hemorrhage",
                 frozenset({("SCT", "1386000"), ("SCT", "274100004"), ("SCT", "230706003")}),
                 (("intracranial", "hemorrhage"), ("intracranial", "haemorrhage"), ("cerebral", "hemorrhage"),
                  ("cerebral", "haemorrhage"), ("brain", "hemorrhage"), ("brain", "haemorrhage"), ("ich",),
                  ("subarachnoid", "hemorrhage"), ("subdural", "hemorrhage"), ("intraparenchymal", "hemorrhage"))),
    KnownFinding("lvo", "LVO", "Large vessel occlusion", frozenset(),
                 (("large", "vessel", "occlusion"), ("lvo",))),
    KnownFinding("pe", "PE", "Pulmonary embolism", frozenset({("SCT", "59282003")}),
                 (("pulmonary", "embolism"), ("pulmonary", "embolus"), ("pe",))),
)
HEMORRHAGE = ("SCT", "50960005")  # "Hemorrhage": intracranial only with a brain/head finding site
_HEAD_SITES = ("brain", "head", "intracranial", "cerebr", "cranial", "skull")
_NEGATIONS = {"no", "not", "without", "absent", "negative", "excluded", "ruled"}
_BY_KEY = {f.key: f for f in CRITICAL_FINDINGS}


def finding_by_key(key: str) -> Optional[KnownFinding]:
    return _BY_KEY.get(key)


def _scheme(scheme: str) -> str:
    scheme = scheme.strip().upper()
    return "SCT" if scheme in ("SRT", "SNM3", "SNOMED", "SNOMED-CT", "SNOMEDCT") else scheme


def _words(text: str) -> set[str]:
    cleaned = "".join(c.lower() if c.isalnum() else " " for c in text)
    return set(cleaned.split())


def negated(meaning: str) -> bool:
    """A meaning that says the finding is absent ("No intracranial hemorrhage")."""
    return bool(_words(meaning) & _NEGATIONS)


def match(scheme: str, value: str, meaning: str, site: str = "") -> Optional[KnownFinding]:
    """The known finding a coded value names (by code, else by the words of its meaning), if any.
    A plain "Hemorrhage" counts as intracranial when its finding site (or the meaning) is in the head."""
    code = (_scheme(scheme), value.strip())
    if negated(meaning):
        return None
    for finding in CRITICAL_FINDINGS:
        if code in finding.codes:
            return finding
    if code == HEMORRHAGE or _words(meaning) & {"hemorrhage", "haemorrhage", "bleed", "bleeding"}:
        if any(s in site.lower() for s in _HEAD_SITES):
            return _BY_KEY["ich"]
    words = _words(meaning)
    for finding in CRITICAL_FINDINGS:
        if any(all(w in words for w in group) for group in finding.words):
            return finding
    return None
