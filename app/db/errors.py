"""The exception classes of both SQLite bindings the workstation opens databases with: the standard
``sqlite3`` (plaintext) and ``sqlcipher3`` (encrypted at rest). Catch ``errors.OperationalError`` (a tuple)
instead of ``sqlite3.OperationalError``."""

from __future__ import annotations

import sqlite3
from types import ModuleType

try:
    from sqlcipher3 import dbapi2 as sqlcipher
except ImportError:  # pragma: no cover - a declared dependency; plaintext databases still work
    sqlcipher: ModuleType | None = None  # type: ignore[no-redef]


def _both(name: str) -> tuple[type[Exception], ...]:
    return (getattr(sqlite3, name),) + ((getattr(sqlcipher, name),) if sqlcipher is not None else ())


Error = _both("Error")
DatabaseError = _both("DatabaseError")
OperationalError = _both("OperationalError")
IntegrityError = _both("IntegrityError")
