"""Exports of cached studies: PS3.15 Annex E de-identified copies for a second opinion or teaching."""

from app.export.deid import DeidentificationBlocked, Deidentifier, DeidOptions
from app.export.study import ExportResult, export_deidentified, exportable

__all__ = ["DeidOptions", "DeidentificationBlocked", "Deidentifier", "ExportResult", "export_deidentified", "exportable"]
