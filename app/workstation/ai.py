"""AI results use cases: find the AI objects (SR, SEG) that entered the cache (import, C-STORE, retrieve), read
them once, mark the worklist (a suspected critical finding raises the study to STAT, its clock by site rule),
and record the radiologist's accept / reject in the AI store, the audit log and the report's findings."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Optional

if TYPE_CHECKING:
    from app.ai import AiFinding, AiStore
    from app.worklist.ai import AiMark
    from app.workstation.workstation import Workstation

log = logging.getLogger(__name__)
AI_SERVICE = "ai"


@dataclass(frozen=True)
class AiWarning:
    """An AI object that could not be read: nothing else changed."""

    sop_uid: str
    study_uid: str
    reason: str

    def __str__(self) -> str:
        return f"AI result {self.sop_uid} not used: {self.reason}"


@dataclass(frozen=True)
class FindingView:
    """One AI finding of a study with the decision on it (for the window's panel and the CLI)."""

    finding: "AiFinding"
    received: str
    decision: str = "pending"
    decided_by: str = ""
    decided_at: str = ""

    @property
    def key(self) -> str:
        return self.finding.key or self.finding.label

    @property
    def report_line(self) -> str:
        """``AI finding (suspected ICH): accepted by Dr X`` (the line the report's findings carry)."""
        head = f"AI finding ({self.finding.name})"
        return f"{head}: {self.decision} by {self.decided_by}" if self.decision != "pending" else f"{head}: pending"


def open_store(ws: "Workstation") -> "AiStore":
    from app.ai import AiStore, ai_db_path

    return AiStore(ai_db_path(ws.paths.home))


def scan(ws: "Workstation", study_uids: Optional[Iterable[str]] = None) -> list[AiWarning]:
    """Read the SR / SEG objects that entered the cache since the last scan (or every one of ``study_uids``);
    the warnings of those that could not be read (logged and recorded once; they change nothing)."""
    whole = study_uids is None
    mark = ws.ai_store.scan_mark() if whole and _has_store(ws) else 0
    top, rows = _candidates(ws, mark, None if whole else list(dict.fromkeys(study_uids or ())))
    if whole and top < mark:  # the newest rows were deleted: their ids may come back, look at everything again
        top, rows = _candidates(ws, 0, None)
    if not rows:
        if whole and _has_store(ws) and top != mark:
            ws.ai_store.set_scan_mark(top)
        return []  # no store is created for a cache without SR / SEG objects
    store = ws.ai_store
    known = store.known_sops()
    warnings: list[AiWarning] = []
    for row in rows:
        if row["sop_uid"] in known or row["state"] != "ok":
            continue
        inst = ws.cache.get_instance(row["sop_uid"])
        if inst is None:
            continue
        warning = _read_one(store, inst, row["study_uid"], row["modality"], row["received"] or "")
        if warning is not None:
            warnings.append(warning)
    if whole:
        store.set_scan_mark(top)
    return warnings


_CANDIDATES = """SELECT i.id, i.sop_uid, i.state, i.received, upper(se.modality) AS modality, st.study_uid
    FROM series se CROSS JOIN instances i ON i.series_ref = se.id JOIN studies st ON st.id = se.study_ref
    WHERE upper(se.modality) IN ('SR', 'SEG') AND st.deleting = 0 AND {where} ORDER BY i.id"""
# CROSS JOIN: SQLite walks the series (a few per study) and reaches only the SR / SEG instances by index


def _candidates(ws: "Workstation", after: int, study_uids: Optional[list[str]]) -> tuple[int, list[dict]]:
    """The highest instance row id of the cache index, and its SR / SEG instances past ``after`` (or of the
    given studies): one indexed query, so a listing of a large cache costs next to nothing."""
    cache = ws.cache
    with cache.lock:
        top = int(next(iter(cache.db.query("SELECT COALESCE(MAX(id), 0) AS top FROM instances")))["top"])
        if study_uids is None:
            return top, list(cache.db.query(_CANDIDATES.format(where="i.id > ?"), [after]))
        rows: list[dict] = []
        for i in range(0, len(study_uids), 500):
            chunk = study_uids[i:i + 500]
            rows += cache.db.query(_CANDIDATES.format(where=f"st.study_uid IN ({','.join('?' * len(chunk))})"), chunk)
        return top, rows


def _read_one(store: "AiStore", inst: Any, study_uid: str, kind: str, received: str) -> Optional[AiWarning]:
    from app.ai import AiObject, AiResultError
    from app.ai.parse import read_ai_object

    try:
        from app.dicom.stored import dcmread_stored

        ds = dcmread_stored(inst.path, stop_before_pixels=True)
        obj = read_ai_object(ds)
        if obj.study_uid != study_uid:
            raise AiResultError("its Study Instance UID differs from the study it is stored in")
    except Exception as exc:  # noqa: BLE001 - any damage: a warning for this object, nothing else changes
        from app.crypto import KeyMissingError

        if isinstance(exc, KeyMissingError):
            raise  # encrypted and locked: not damage, nothing is recorded
        reason = str(exc) if isinstance(exc, AiResultError) else f"unreadable ({type(exc).__name__}: {exc})"
        store.put_object(AiObject(inst.sop_instance_uid, study_uid, inst.series_instance_uid, kind, warning=reason),
                         received)
        log.warning("AI result %s not used: %s", inst.sop_instance_uid, reason)
        return AiWarning(inst.sop_instance_uid, study_uid, reason)
    store.put_object(obj, received)
    if obj.findings:
        log.info("AI result %s: %s", obj.sop_uid, ", ".join(f.name for f in obj.findings))
    return None


def _has_store(ws: "Workstation") -> bool:
    from app.ai import ai_db_path

    return AI_SERVICE in ws._services or ai_db_path(ws.paths.home).exists()


def forget_study(ws: "Workstation", study_uid: str) -> None:
    """A study deleted from the cache: its AI objects and findings go (the decisions made stay on record)."""
    if _has_store(ws):
        ws.ai_store.forget_study(study_uid)


def findings(ws: "Workstation", study_uid: str) -> list[FindingView]:
    """The study's AI findings (one per finding, first arrival first) with their decisions."""
    if not _has_store(ws):
        return []
    found = ws.ai_store.findings([study_uid]).get(study_uid, [])
    decided = ws.ai_store.decisions([study_uid]).get(study_uid, {})
    views: dict[str, FindingView] = {}
    for finding, received in found:
        key = finding.key or finding.label
        if key in views:
            continue
        d = decided.get(key) or {}
        views[key] = FindingView(finding, received, d.get("decision", "pending"), d.get("user", ""),
                                 d.get("decided_at", ""))
    return list(views.values())


def warnings(ws: "Workstation", study_uid: Optional[str] = None) -> list[AiWarning]:
    if not _has_store(ws):
        return []
    return [AiWarning(r["sop_uid"], r["study_uid"], r["warning"]) for r in ws.ai_store.warnings(study_uid)]


def ai_marks(ws: "Workstation", study_uids: Optional[Iterable[str]] = None) -> "dict[str, AiMark]":
    """The worklist's view of the AI store: each study's findings, decisions and the site's clock rule."""
    from app.ai import AiSettings, load_ai_settings
    from app.settings import SettingsError
    from app.worklist.ai import AiFindingMark, AiMark
    from app.worklist.build import parse_time

    if not _has_store(ws):
        return {}
    try:
        settings = load_ai_settings(ws.paths.config_dir)
    except SettingsError as exc:  # the worklist still shows: the defaults, and the reason
        log.warning("%s (the defaults are used)", exc)
        settings = AiSettings()
    uids = None if study_uids is None else list(study_uids)
    found = ws.ai_store.findings(uids)
    decided = ws.ai_store.decisions(found)
    marks: dict[str, AiMark] = {}
    for uid, items in found.items():
        seen: dict[str, AiFindingMark] = {}
        first_critical = None
        for finding, received in items:
            key = finding.key or finding.label
            if finding.critical and first_critical is None:
                first_critical = received
            d = decided.get(uid, {}).get(key) or {}
            seen.setdefault(key, AiFindingMark(key, finding.label, finding.critical, d.get("decision", "pending"),
                                               d.get("user", "")))
        marks[uid] = AiMark(tuple(seen.values()), parse_time(first_critical), settings.restart_clock,
                            settings.raise_stat)
    return marks


def decide(ws: "Workstation", study_uid: str, key: str, decision: str, note: str = "") -> FindingView:
    """Accept or reject one AI finding (``pending`` takes the decision back): recorded in the AI store and the
    audit log, written into the open report's findings, shown on the worklist row at once."""
    from app.ai import Decision
    from app.audit import events, record_quietly
    from app.workstation.workstation import WorkstationError

    chosen = Decision.parse(decision)
    views = {v.key: v for v in findings(ws, study_uid)}
    if key not in views:
        known = ", ".join(views) or "none"
        raise WorkstationError(f"study {study_uid} has no AI finding {key!r} (its AI findings: {known})")
    ws.ai_store.decide(study_uid, key, chosen, ws.user, note)
    view = {v.key: v for v in findings(ws, study_uid)}[key]
    record_quietly(ws.audit, events.PROCEDURE_RECORD, action="U", user=ws.user, study_uid=study_uid,
                   detail={"ai_finding": view.finding.name, "decision": chosen.value})
    _into_report(ws, study_uid, view)
    if ws.worklist.entry(study_uid) is not None:
        ws.worklist.remark(study_uid)
    return view


def _into_report(ws: "Workstation", study_uid: str, view: FindingView) -> None:
    """Put the decision line into the open report's findings (a draft is started if the study has none;
    a signed report is left alone: the decision stays in the AI store and shows in `telerad report show`)."""
    from app.reporting.service import current_report

    report = current_report(ws.report_store, study_uid)
    if report is None:
        if ws.cache.get_study(study_uid) is None:
            return
        report = ws.draft(study_uid)
    if not report.editable:
        return
    text = replace_line(report.sections.get("findings", ""), view)
    ws.draft(study_uid, sections={"findings": text})


def replace_line(text: str, view: FindingView) -> str:
    """``text`` with the finding's decision line replaced (or appended; removed when pending again)."""
    head = f"AI finding ({view.finding.name}):"
    lines = [line for line in text.splitlines() if not line.startswith(head)]
    if view.decision != "pending":
        lines.append(view.report_line)
    return "\n".join(lines).strip("\n")
