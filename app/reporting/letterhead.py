"""Letterhead for the PDF, read from ``<config_dir>/letterhead.json`` (all keys optional)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

LETTERHEAD_FILE = "letterhead.json"


@dataclass(frozen=True)
class Letterhead:
    """Institution block printed on every report; ``logo_png`` and ``font_ttf`` are optional paths."""

    institution: str = "Telerad Workstation"
    department: str = "Teleradiology"
    address: str = ""
    phone: str = ""
    email: str = ""
    logo_png: str = ""
    font_ttf: str = ""
    organization: str = "Telerad"


def load_letterhead(config_dir: Path) -> Letterhead:
    """The configured letterhead, or defaults when the file is absent (unknown keys ignored)."""
    from app.settings import load_settings

    known = {f.name for f in fields(Letterhead)}
    return load_settings(config_dir, LETTERHEAD_FILE, Letterhead,
                         lambda data: Letterhead(**{k: str(v) for k, v in data.items() if k in known}))
