"""Plain-text report bodies: split a text file into sections by headings, and print a report as text."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from app.reporting.model import SECTION_KEYS, SECTION_TITLES

if TYPE_CHECKING:
    from app.reporting.model import Report

ALIASES = {
    "clinical information": "clinical_information", "clinical info": "clinical_information",
    "history": "clinical_information", "indication": "clinical_information", "clinical history": "clinical_information",
    "technique": "technique", "comparison": "comparison", "comparisons": "comparison", "findings": "findings",
    "impression": "impression", "impressions": "impression", "conclusion": "impression", "opinion": "impression",
}
ALIASES.update({k.replace("_", " "): k for k in SECTION_KEYS})
_HEADING = re.compile(r"^\s*(?:#+\s*)?([A-Za-z][A-Za-z _]*?)\s*:?\s*$")


def parse_sections(text: str) -> dict[str, str]:
    """Sections of a text whose lines ``Findings:`` / ``## Impression`` / ``IMPRESSION`` start a section;
    text before the first heading (or the whole text if there is none) is the findings."""
    found: dict[str, list[str]] = {}
    current = "findings"
    for line in text.splitlines():
        match = _HEADING.match(line)
        key = ALIASES.get(match.group(1).strip().lower()) if match else None
        if key:
            current = key
            found.setdefault(key, [])
            continue
        found.setdefault(current, []).append(line)
    return {k: "\n".join(v).strip() for k, v in found.items() if "\n".join(v).strip() or k in found}


def report_text(report: "Report") -> str:
    """The report as readable text (headings in upper case, empty sections left out)."""
    parts = []
    if report.addendum_note:
        parts.append(f"ADDENDUM\n{report.addendum_note}")
    for key in SECTION_KEYS:
        body = (report.sections.get(key) or "").strip()
        if body:
            parts.append(f"{SECTION_TITLES[key].upper()}\n{body}")
    if report.critical:
        parts.append(f"CRITICAL FINDING\n{report.critical_text}")
    return "\n\n".join(parts)
