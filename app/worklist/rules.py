"""Editable rules: site priority rules and subspecialty rules, matched on study attributes."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from typing import Any, Iterable, Sequence


@dataclass(frozen=True)
class Facts:
    """What rules can look at for one study."""

    modalities: tuple[str, ...]
    body_part: str
    description: str
    department: str
    referring: str
    site: str
    age_years: float | None


@dataclass(frozen=True)
class Rule:
    """Every non-empty condition must hold; ``result`` is a priority or a subspecialty name.

    ``modalities``/``body_parts``/``sites``: any-of, case-insensitive (body parts match as substrings).
    ``description``/``department``/``referring``: case-insensitive regular expressions (search).
    Ages in years: ``min_age`` inclusive, ``max_age`` exclusive; a rule with an age bound never
    matches a study of unknown age.
    """

    result: str
    name: str = ""
    modalities: tuple[str, ...] = ()
    body_parts: tuple[str, ...] = ()
    description: str = ""
    department: str = ""
    referring: str = ""
    sites: tuple[str, ...] = ()
    min_age: float | None = None
    max_age: float | None = None

    def matches(self, f: Facts) -> bool:
        if self.modalities and not {m.upper() for m in f.modalities} & {m.upper() for m in self.modalities}:
            return False
        if self.body_parts and not any(b.upper() in f.body_part.upper() for b in self.body_parts if b):
            return False
        if self.sites and f.site.upper() not in {s.upper() for s in self.sites}:
            return False
        for pattern, text in ((self.description, f.description), (self.department, f.department),
                              (self.referring, f.referring)):
            if pattern and not _regex(pattern).search(text or ""):
                return False
        if self.min_age is not None or self.max_age is not None:
            if f.age_years is None:
                return False
            if self.min_age is not None and f.age_years < self.min_age:
                return False
            if self.max_age is not None and f.age_years >= self.max_age:
                return False
        return True

    def to_json(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()
                if v not in ((), "", None) or k == "result"}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Rule":
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown rule fields: {sorted(unknown)}")
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        rule = cls(**values)
        for pattern in (rule.description, rule.department, rule.referring):
            if pattern:
                _regex(pattern)  # raises re.error on a bad pattern
        return rule


@lru_cache(maxsize=512)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def first_match(rules: Sequence[Rule], facts: Facts) -> Rule | None:
    """The first rule (in order) that matches."""
    return next((r for r in rules if r.matches(facts)), None)


def all_matches(rules: Iterable[Rule], facts: Facts) -> list[Rule]:
    return [r for r in rules if r.matches(facts)]


FALLBACK_SUBSPECIALTY = "general"

DEFAULT_SUBSPECIALTY_RULES: tuple[Rule, ...] = (
    Rule("paediatric", name="children", max_age=16),
    Rule("breast", name="mammography", modalities=("MG",)),
    Rule("breast", name="breast", description=r"mammo|breast|\bmam\b"),
    Rule("cardiac", name="cardiac", body_parts=("HEART", "CARD", "CORONARY")),
    Rule("cardiac", name="cardiac text", description=r"cardiac|coronary|heart|\bcac\b|calcium scor"),
    Rule("neuro", name="neuro parts", body_parts=("HEAD", "BRAIN", "SKULL", "SPINE", "NECK", "ORBIT", "SINUS")),
    Rule("neuro", name="neuro text",
         description=r"head|brain|neuro|skull|stroke|spine|orbit|sinus|\bIAM\b|c-?spine|cervical"),
    Rule("chest", name="chest parts", body_parts=("CHEST", "LUNG", "THORAX")),
    Rule("chest", name="chest text", description=r"chest|thora|lung|\bctpa\b|pulmonary|\bpe\b"),
    Rule("abdominal", name="abdominal parts",
         body_parts=("ABDOMEN", "PELVIS", "LIVER", "KIDNEY", "PANCREAS", "BOWEL", "COLON")),
    Rule("abdominal", name="abdominal text", description=r"abdo|pelvi|liver|renal|kidney|\bkub\b|appendi|bowel"),
    Rule("MSK", name="MSK parts", body_parts=(
        "KNEE", "SHOULDER", "HAND", "WRIST", "FOOT", "ANKLE", "HIP", "ELBOW", "EXTREMITY", "ARM", "LEG",
        "FEMUR", "TIBIA", "HUMERUS", "FINGER", "TOE", "CLAVICLE")),
    Rule("MSK", name="MSK text", description=r"fracture|knee|shoulder|wrist|ankle|hip|elbow|hand|foot|msk"),
)

DEFAULT_PRIORITY_RULES: tuple[Rule, ...] = (
    Rule("STAT", name="stroke / trauma call", description=r"\bstat\b|code stroke|stroke (call|alert)|trauma call"),
    Rule("urgent", name="emergency department", department=r"emergenc|\bED\b|\bA&E\b|\bER\b"),
)


def rules_to_json(rules: Sequence[Rule]) -> list[dict[str, Any]]:
    return [r.to_json() for r in rules]


def rules_from_json(data: Sequence[dict[str, Any]]) -> tuple[Rule, ...]:
    return tuple(Rule.from_json(d) for d in data)
