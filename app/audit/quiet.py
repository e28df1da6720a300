"""The one audit adapter of the services: record after the fact, never undo what already happened."""

from __future__ import annotations

import logging
from typing import Any

from app.audit.events import AuditEvent
from app.audit.log import AuditLog

log = logging.getLogger(__name__)


def record_quietly(audit: AuditLog | None, event: AuditEvent | str, **fields: Any) -> None:
    """Append ``event`` to ``audit``; ``None`` (no log configured) is a no-op and a failed write is logged,
    not raised: a transfer, an import or a signature that has happened must not be reported as failed."""
    if audit is None:
        return
    try:
        audit.record(event, **fields)
    except Exception as exc:
        from app.db.connection import storage_failure

        full = storage_failure(exc)
        if full is not None:  # a full disk: one line, not a traceback per refused store
            log.error("audit record failed (%s): %s", getattr(event, "name", event), full)
        else:
            log.exception("audit record failed (%s)", getattr(event, "name", event))
