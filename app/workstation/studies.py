"""Study use cases: import into the cache (audited), delete (audited, off the worklist)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Sequence

from app.tasks import ProgressFn

if TYPE_CHECKING:
    from app.importer import ImportSummary
    from app.store import ReconcileReport
    from app.workstation.workstation import Workstation


def import_paths(ws: "Workstation", paths: Sequence[Path], *, progress: Optional[ProgressFn] = None,
                 cancel: Optional[threading.Event] = None) -> "ImportSummary":
    """Import files, folders, ZIPs and DICOMDIR media (raises ``ImportCancelled`` with the partial summary)."""
    from app.importer import import_paths as run

    return run(ws.cache, list(paths), progress=progress, cancel=cancel, audit=ws.audit, user=ws.user)


def delete_study(ws: "Workstation", study_uid: str, *, command: str = "delete") -> bool:
    """Remove a study's rows and files; audited (110105 D) and dropped from the worklist. False if absent."""
    from app.audit import events, record_quietly

    if not ws.cache.delete_study(study_uid):
        return False
    record_quietly(ws.audit, events.STUDY_DELETED, action="D", user=ws.user, study_uid=study_uid,
                   detail={"command": command})
    ws.worklist.forget(study_uid, ws.user)
    return True


def check_cache(ws: "Workstation", *, progress: Optional[ProgressFn] = None,
                cancel: Optional[threading.Event] = None) -> "ReconcileReport":
    """Compare every stored file with the index and repair what differs (audited when anything changed)."""
    from dataclasses import asdict

    from app.audit import events, record_quietly

    report = ws.cache.check(progress=progress, cancel=cancel)
    if report.repaired_anything or report.integrity != "ok":
        record_quietly(ws.audit, events.SECURITY_ALERT, action="E", user=ws.user,
                       detail={"what": "cache check repaired the store", **asdict(report)})
    return report
