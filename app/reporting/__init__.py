"""Reporting core (Qt-free): report model and store, templates, signed PDF, DICOM SR / encapsulated PDF, outbox.

Names are loaded lazily so ``import app.reporting`` stays cheap; reportlab, pyHanko and highdicom are only
imported by the functions that use them.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "model": ("Report", "ReportState", "ReportKind", "StudyInfo", "ImageRef", "Measurement", "KeyImage",
              "CriticalNotice", "ReportError", "ImmutableReportError", "SECTION_KEYS", "SECTION_TITLES"),
    "store": ("ReportStore", "OutputFile"),
    "schema": ("SCHEMA_VERSION", "open_db"),
    "autosave": ("DraftAutosaver",),
    "templates": ("Template", "TemplateError", "load_templates", "load_macros", "select_template", "expand_macros"),
    "letterhead": ("Letterhead", "load_letterhead"),
    "signing": ("SigningIdentity", "SigningError", "load_identity", "sign_pdf"),
    "verify": ("PdfVerification", "verify_pdf"),
    "verify_file": ("FileVerification", "verify_report_file"),
    "sr_signature": ("SrVerification", "sign_sr", "verify_sr"),
    "integrity": ("IntegrityError",),
    "outbox": ("Outbox", "OutboxItem", "Delivery", "Backoff", "SendFn"),
    "workflow": ("start_draft", "sign_report", "SignedReport", "report_db_path", "report_files_dir"),
    "settings": ("ReportingSettings", "load_settings", "save_settings"),
    "delivery": ("ReportSender", "DeliveryError"),
    "runner": ("run_outbox", "RunSummary", "OutboxBusy"),
    "service": ("ReportingContext", "draft_for_study", "start_addendum", "sign", "set_critical", "record_notice",
                "publish_to_cache", "publish_study", "sync_cache", "delivery_states", "current_report", "destination_for",
                "source_instance"),
    "worklist_flags": ("ReportFlags", "report_flags"),
    "textio": ("parse_sections", "report_text"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'app.reporting' has no attribute {name!r}")
    return getattr(importlib.import_module(f"app.reporting.{module}"), name)
