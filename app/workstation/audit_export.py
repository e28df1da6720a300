"""Audit log of a workstation and its export to the site's audit repository (``audit.json``).

With a repository configured, every new event is also spooled (same transaction) and the workstation's
:class:`~app.audit.sender.AuditSender` thread delivers it over syslog/TLS; rows spooled by an earlier run
or another process are delivered too. Without one, events stay in the local hash-chained log only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.audit import AuditLog
    from app.audit.repository import AuditRepository
    from app.audit.spool import SpoolStatus
    from app.workstation.workstation import Workstation

log = logging.getLogger(__name__)
SENDER = "audit_sender"


def open_audit(ws: "Workstation") -> "AuditLog":
    """The data dir's audit log, spooling to the repository (and its sender started) when one is set."""
    from app.audit import AuditLog, events, record_quietly
    from app.audit.sender import AuditSender
    from app.settings import SettingsError

    audit = AuditLog(ws.paths.audit_db)
    try:
        repository = _repository(ws)
    except SettingsError as exc:  # the local log still records; the broken setting is itself audited
        log.error("audit export off: %s", exc)
        record_quietly(audit, events.SECURITY_ALERT, action="E", outcome=events.OUTCOME_SERIOUS_FAILURE,
                       user=ws.user, event_type=events.SECURITY_CONFIGURATION,
                       detail={"what": "audit repository settings invalid", "error": str(exc)[:300]})
        return audit
    if repository.enabled:
        audit.spooling = True
        sender = AuditSender(audit, repository).start()
        audit.on_record = sender.notify
        ws._service(SENDER, lambda: sender)
    return audit


def _repository(ws: "Workstation") -> "AuditRepository":
    from app.audit.repository import load_repository

    return load_repository(ws.paths.config_dir)


@dataclass(frozen=True)
class ExportStatus:
    """The spool and where it goes (``telerad audit export-status``)."""

    repository: str | None  # host:port, None when export is off
    spool: "SpoolStatus"
    sender_error: str | None


def export_status(ws: "Workstation") -> ExportStatus:
    """Spool counts, the repository and the sender's last error (reading the log is audited: 110101)."""
    from app.audit import spool

    from app.settings import SettingsError

    audit = ws.audit
    sender = ws._services.get(SENDER)
    try:
        repository = _repository(ws)
        where = f"{repository.host}:{repository.port}" if repository.enabled else None
    except SettingsError as exc:
        where = f"none (invalid settings: {exc})"
    status = ExportStatus(where, spool.status(audit), getattr(sender, "last_error", None))
    record_log_read(ws, "export-status")  # after counting: the status shows what was there before it
    return status


def verify(ws: "Workstation") -> tuple[bool, int | None]:
    """Check the hash chain; audited as Audit Log Used (110101), a broken chain as a Security Alert."""
    from app.audit import events, record_quietly

    result = ws.audit.verify()
    record_log_read(ws, "verify", outcome=0 if result[0] else events.OUTCOME_SERIOUS_FAILURE)
    if not result[0]:
        record_quietly(ws.audit, events.SECURITY_ALERT, action="E", outcome=events.OUTCOME_SERIOUS_FAILURE,
                       user=ws.user, detail={"what": "audit log chain broken", "first_bad_seq": result[1]})
    return result


def flush(ws: "Workstation") -> int:
    """Deliver what is spooled now (the number sent; 0 when export is off or the repository is down)."""
    ws.audit  # opens the log (and starts the sender) if needed
    sender = ws._services.get(SENDER)
    return sender.flush() if sender is not None else 0


def record_log_read(ws: "Workstation", command: str, outcome: int = 0) -> None:
    """110101 Audit Log Used, action R."""
    from app.audit import events, record_quietly

    record_quietly(ws.audit, events.AUDIT_LOG_USED, action="R", outcome=outcome, user=ws.user,
                   detail={"command": command, "uri": ws.paths.audit_db.as_uri()})
