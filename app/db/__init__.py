"""The one database layer: every SQLite file of the workstation is opened, migrated and written here.

:func:`open_database` sets WAL, a busy timeout, foreign keys and the durability level, then applies the
file's ordered migrations (schema version in ``PRAGMA user_version``; a newer schema is refused);
:func:`transaction` is the one write transaction helper. Medico-legal data (study index, reports, outbox,
audit, worklist) is opened with ``synchronous=FULL``: a commit survives a power cut.

The shared reading state (worklist, report states) is reached only through repository classes
(``app.worklist.db.WorklistDB``, ``app.reporting.store.ReportStore``) whose methods take and return plain
values, so a PostgreSQL implementation can stand behind the same workstation use cases.
"""

from app.db.connection import (
    BUSY_TIMEOUT_S, Durability, SchemaTooNewError, open_database, pragma_synchronous, transaction,
)
from app.db.migrations import Step, apply_migrations, schema_version

__all__ = [
    "BUSY_TIMEOUT_S", "Durability", "SchemaTooNewError", "Step", "apply_migrations", "open_database",
    "pragma_synchronous", "schema_version", "transaction",
]
