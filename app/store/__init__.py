"""Crash-safe study cache: content-addressed DICOM files plus a SQLite index."""

from app.store.cache import Cache, CacheClosedError, NotACacheError, StoreItem, read_input
from app.store.lifecycle import CacheLockedError
from app.store.models import (
    InstanceRecord,
    QuarantineRecord,
    ReconcileReport,
    SeriesSummary,
    StoreResult,
    StudySummary,
)
from app.store.schema import SCHEMA_VERSION, SchemaTooNewError

__all__ = [
    "SCHEMA_VERSION",
    "Cache",
    "CacheClosedError",
    "CacheLockedError",
    "InstanceRecord",
    "NotACacheError",
    "QuarantineRecord",
    "ReconcileReport",
    "SchemaTooNewError",
    "SeriesSummary",
    "StoreItem",
    "StoreResult",
    "StudySummary",
    "read_input",
]
