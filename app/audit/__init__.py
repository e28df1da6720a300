"""Append-only, hash-chained audit trail with DICOM (PS3.15 A.5) event codes."""

from app.audit import events
from app.audit.events import AuditEvent
from app.audit.log import AuditLog, AuditRecord
from app.audit.quiet import record_quietly

__all__ = ["AuditEvent", "AuditLog", "AuditRecord", "events", "record_quietly"]
