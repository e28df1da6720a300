"""Reading use cases: the worklist with each study's report marks, opening a study for reading.

The rule that ties them: the report decides the reading status. A signed report makes the study final, a
signed addendum makes it amended, in the transaction that signs it: every worklist entry reads its report
marks from the report store (``Worklist.marks``; ``app.worklist.build.reading_status``). The worklist
database then records the step with its history (:func:`follow_report`), and a listing records any step a
crash or an older version left unrecorded (:func:`worklist_entries`).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Optional, Sequence

from app.tasks import ProgressFn

if TYPE_CHECKING:
    from app.worklist import ReportMark, WorklistEntry
    from app.workstation.workstation import Workstation

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReadingSession:
    """A study opened for reading: its worklist entry and whose claim it carries."""

    study_uid: str
    entry: "Optional[WorklistEntry]"
    claimed: bool  # this reader holds the claim
    note: str = ""  # why not (claimed by another reader, not on the worklist)


def report_marks(ws: "Workstation", study_uids: Optional[Iterable[str]] = None) -> "dict[str, ReportMark]":
    """The worklist's view of the report store: status, critical flags and delivery per study."""
    from app.reporting.worklist_flags import report_flags
    from app.worklist import ReportMark

    return {uid: ReportMark(f.status, f.flags, f.critical_text, f.delivery, f.signed_at)
            for uid, f in report_flags(ws.report_store, study_uids).items()}


def worklist_entries(ws: "Workstation", remote: Optional[Iterable[Any]] = None, *,
                     progress: Optional[ProgressFn] = None,
                     cancel: Optional[threading.Event] = None) -> "list[WorklistEntry]":
    """Refresh the worklist from the cache (plus ``remote`` studies), the status repaired from the reports;
    AI results that entered the cache since the last listing are read first (app.workstation.ai)."""
    try:
        ws.scan_ai_results()
    except Exception as exc:  # noqa: BLE001 - the AI store unusable (disk full...): the worklist still shows
        log.warning("AI results not read: %s", exc)
    entries = ws.worklist.refresh(ws.cache, remote, progress=progress, cancel=cancel)
    behind = ws.worklist.behind_reports()  # found while building the entries: no query per study
    for study_uid in behind:  # shown right already (the entry reads the report); recorded now, with history
        follow_report(ws, study_uid)
    return ws.worklist.entries() if behind else entries


def _wanted_status(ws: "Workstation", entry: "WorklistEntry") -> Optional[str]:
    """The status the worklist database should record for what the report store says (None: it does)."""
    from app.worklist import Status

    recorded = ws.worklist.recorded_status(entry.study_instance_uid)
    if entry.report.status == "addended" and recorded is not Status.AMENDED:
        return Status.AMENDED.value
    if entry.report.status == "final" and recorded not in (Status.FINAL, Status.AMENDED):
        return Status.FINAL.value
    return None


def follow_report(ws: "Workstation", study_uid: str, *, addendum_signed: bool = False) -> "Optional[WorklistEntry]":
    """Bring the study's reading status to what its reports say (final / amended) and refresh its marks."""
    if track(ws, study_uid) is None:
        return None
    entry = ws.worklist.remark(study_uid)  # the marks as the report store has them now
    if entry is None:
        return None
    try:
        wanted = _wanted_status(ws, entry)
        if addendum_signed or wanted == "amended":
            return ws.worklist.mark_amended(study_uid, ws.user)
        if wanted == "final":
            return ws.worklist.mark_read(study_uid, ws.user, force=True)
    except (ValueError, RuntimeError) as exc:  # an illegal transition: logged, the report stays signed
        log.warning("worklist status not updated: %s", exc)
    return ws.worklist.remark(study_uid)


def track(ws: "Workstation", study_uid: str) -> "Optional[WorklistEntry]":
    """The study's entry, loading just this study onto the worklist when it is not listed yet."""
    entry = ws.worklist.entry(study_uid)
    if entry is not None:
        return entry
    ws.scan_ai_results([study_uid])
    return ws.worklist.track(ws.cache, study_uid)


def open_for_reading(ws: "Workstation", study_uid: str, priors: Sequence[str] = ()) -> ReadingSession:
    """Record the access (110103 R) and claim the study for this reader (unread -> in progress)."""
    from app.audit import events, record_quietly
    from app.worklist import Status

    summary = ws.cache.get_study(study_uid)
    if summary is None:
        from app.workstation.workstation import WorkstationError

        raise WorkstationError(f"study {study_uid} is not in the local cache")
    record_quietly(ws.audit, events.INSTANCES_ACCESSED, action="R", user=ws.user, study_uid=study_uid,
                   patient_id=summary.patient_id, detail={"priors": len(priors)})
    entry = track(ws, study_uid)
    if entry is None:
        return ReadingSession(study_uid, None, False, "not on the worklist")
    from app.workstation import group

    refused = group.claim_for_reading(ws, study_uid)  # --group: a colleague's live claim wins
    if refused is not None:
        return ReadingSession(study_uid, entry, False, refused)
    if entry.claimed_by and entry.claimed_by != ws.user:
        return ReadingSession(study_uid, entry, False, f"claimed by {entry.claimed_by}")
    if entry.status in (Status.UNREAD, Status.PRELIMINARY):
        entry = ws.worklist.start_reading(study_uid, ws.user)
    elif not entry.claimed_by and entry.status is Status.IN_PROGRESS:
        entry = ws.worklist.claim(study_uid, ws.user)
    return ReadingSession(study_uid, entry, entry.claimed_by == ws.user)


def release(ws: "Workstation", study_uid: str) -> "Optional[WorklistEntry]":
    """Give this reader's claim back (an in-progress study returns to unread); None if not on the worklist."""
    if track(ws, study_uid) is None:
        return None
    return ws.worklist.release(study_uid, ws.user)


def record_access(ws: "Workstation", study_uid: str, command: str) -> None:
    """Audit that a study's images were shown or rendered (110103 R) outside a reading session."""
    from app.audit import events, record_quietly

    record_quietly(ws.audit, events.INSTANCES_ACCESSED, action="R", user=ws.user, study_uid=study_uid,
                   detail={"command": command})
