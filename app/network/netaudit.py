"""Audit records for network operations (PS3.15 A.5.3): query, transfers, security alerts.

Every function accepts ``audit=None`` (no log configured) and never raises: a failing audit write
is logged, not allowed to break a transfer that already happened.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    from app.audit import AuditLog



def _record(audit: "AuditLog | None", event: Any, **kw: Any) -> None:
    from app.audit import record_quietly

    record_quietly(audit, event, **kw)


def outcome_for(failed: int, succeeded: int, cancelled: bool = False) -> int:
    """0 success, 4 minor failure (partial or cancelled), 8 serious failure (nothing worked)."""
    from app.audit import events

    if failed and not succeeded:
        return events.OUTCOME_SERIOUS_FAILURE
    if failed or cancelled:
        return events.OUTCOME_MINOR_FAILURE
    return events.OUTCOME_SUCCESS


def query(audit: "AuditLog | None", *, node: str, level: str, keys: Mapping[str, str], matches: int,
          outcome: int = 0, user: str | None = None) -> None:
    """Query (110112): which node, level and filter keys (values hashed out: they may be PHI)."""
    from app.audit import events

    _record(audit, events.QUERY, action=events.ACTION_EXECUTE, outcome=outcome, user=user,
            detail={"node": node, "level": level, "keys": sorted(k for k, v in keys.items() if v),
                    "matches": matches})


def transfer(audit: "AuditLog | None", *, direction: str, node: str | None, study_uid: str | None,
             count: int, failed: int = 0, patient_id: str | None = None, outcome: int | None = None,
             user: str | None = None, extra: Mapping[str, Any] | None = None) -> None:
    """Instances transferred (110104): ``direction`` is received, retrieved or sent."""
    from app.audit import events

    action = events.ACTION_READ if direction == "sent" else events.ACTION_CREATE
    _record(audit, events.INSTANCES_TRANSFERRED, action=action, user=user,
            outcome=outcome_for(failed, count) if outcome is None else outcome,
            study_uid=study_uid, patient_id=patient_id,
            detail={"direction": direction, "node": node, "instances": count, "failed": failed, **(extra or {})})


def begin_transfer(audit: "AuditLog | None", *, node: str, study_uid: str | None, method: str,
                   user: str | None = None) -> None:
    """Begin transferring (110102), written when a retrieve or send starts."""
    from app.audit import events

    _record(audit, events.BEGIN_TRANSFERRING, action=events.ACTION_EXECUTE, user=user,
            study_uid=study_uid, detail={"node": node, "method": method})


def security_alert(audit: "AuditLog | None", *, peer: str, reason: str, user: str | None = None) -> None:
    """Security alert (110113 / node authentication 110126): a refused peer or connection."""
    from app.audit import events

    _record(audit, events.SECURITY_ALERT, action=events.ACTION_EXECUTE, user=user,
            outcome=events.OUTCOME_MINOR_FAILURE, event_type=events.NODE_AUTHENTICATION,
            detail={"peer": peer, "reason": reason})


def network_entry(audit: "AuditLog | None", *, what: str, detail: Mapping[str, Any],
                  user: str | None = None) -> None:
    """Application activity (110100) for listener start/stop and echo; a node-configuration edit is a
    Security Alert (110113) of type Network Configuration (110128), as PS3.15 A.5.3.11 lists it."""
    from app.audit import events

    if what == "config":
        _record(audit, events.SECURITY_ALERT, action=events.ACTION_EXECUTE, user=user,
                event_type=events.NETWORK_CONFIGURATION, detail={"what": what, **detail})
        return
    _record(audit, events.APPLICATION_ACTIVITY, action=events.ACTION_EXECUTE, user=user,
            detail={"what": what, **detail})
