"""Study use cases: import into the cache (audited), delete (audited, off the worklist)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Sequence

from app.tasks import ProgressFn

if TYPE_CHECKING:
    from app.importer import ImportSummary
    from app.store import ReconcileReport
    from app.workstation.workstation import Workstation


def import_paths(ws: "Workstation", paths: Sequence[Path], *, progress: Optional[ProgressFn] = None,
                 cancel: Optional[threading.Event] = None) -> "ImportSummary":
    """Import files, folders, ZIPs and DICOMDIR media (raises ``ImportCancelled`` with the partial summary);
    the AI results among them are read (app.workstation.ai)."""
    from app.importer import import_paths as run

    summary = run(ws.cache, list(paths), progress=progress, cancel=cancel, audit=ws.audit, user=ws.user)
    try:
        ws.scan_ai_results(summary.studies)  # AI results (SR / SEG) read now: a damaged one warns at import
    except Exception as exc:  # noqa: BLE001 - what is imported stays imported; the next listing reads them
        import logging

        logging.getLogger(__name__).warning("AI results not read: %s", exc)
    return summary


@dataclass(frozen=True)
class DeleteResult:
    """What deleting a study removed and kept; false when neither the cache nor the reports knew the study."""

    study_uid: str
    in_cache: bool
    deleted_reports: int = 0  # unsigned: drafts, preliminaries, open addenda (rows and any files)
    kept_signed: int = 0  # signed reports, rows and files, kept under the retention rule
    kept_unsigned: int = 0  # unsigned with a recorded critical-result communication (append-only)
    purged_signed: int = 0  # signed and delivered, removed under the "delivered" retention rule
    retention: str = "keep"

    def __bool__(self) -> bool:
        return self.in_cache or any((self.deleted_reports, self.kept_signed, self.kept_unsigned, self.purged_signed))

    def deleted(self) -> str:
        """What was removed, as a phrase ("" for nothing)."""
        parts = ["its images"] if self.in_cache else []
        parts += [_count(n, what) for n, what in ((self.deleted_reports, "unsigned report"),
                                                   (self.purged_signed, "delivered signed report")) if n]
        return ", ".join(parts)

    def kept(self) -> list[str]:
        """One line per kept kind, saying why."""
        lines = []
        if self.kept_signed:
            why = ("medico-legal retention" if self.retention == "keep"
                   else "not every delivery of them was sent yet")
            their = "its PDF and DICOM objects" if self.kept_signed == 1 else "their PDFs and DICOM objects"
            lines.append(f"kept {_count(self.kept_signed, 'signed report')} with {their} ({why}: "
                         f"{RETENTION_SETTING} setting is '{self.retention}')")
        if self.kept_unsigned:
            lines.append(f"kept {_count(self.kept_unsigned, 'unsigned report')} with a recorded critical-result "
                         "communication (append-only record)")
        return lines


RETENTION_SETTING = "'retention' (reporting.json)"


def _count(n: int, what: str) -> str:
    return f"{n} {what}" + ("" if n == 1 else "s")


def delete_study(ws: "Workstation", study_uid: str, *, command: str = "delete", signed: Optional[str] = None,
                 detail: Optional[dict] = None) -> DeleteResult:
    """Remove a study's cache rows and files, its orders and unsigned reports (rows and files); its signed
    reports stay unless ``signed`` is "purge" (a retention purge) or, with ``signed`` None, the reporting.json
    rule is "delivered" and all were delivered. A patient nothing names any more is erased from the order
    store and the audit spool. Audited (110105 D, with ``detail``), dropped from the worklist; false if
    nothing knew the study."""
    from app.audit import events, record_quietly
    from app.reporting.model import ReportState

    retention = ws.reporting(with_cache=False).settings().retention if signed is None else signed
    summary = ws.cache.get_study(study_uid)
    accessions = _order_accessions(ws, study_uid) if summary is not None else set()
    hashes = {i.sha256[:16] for s in ws.cache.list_series(study_uid)
              for i in ws.cache.list_instances(s.series_instance_uid)}
    in_cache = ws.cache.delete_study(study_uid)
    _remove_key_images(ws.paths.key_images, hashes)
    store = ws.report_store
    patients = {r.study.patient_id for r in store.for_study(study_uid)} | {getattr(summary, "patient_id", "")}
    deleted, kept_unsigned = store.delete_unsigned_for_study(study_uid)
    signed_ids = [r.id for r in store.for_study(study_uid) if r.state == ReportState.FINAL]
    purge = signed == "purge" or (signed is None and retention == "delivered" and
                                  all(store.delivered(r) for r in signed_ids))
    purged = signed_ids if purge and signed_ids else []
    if purged:
        store.purge_signed(purged)
    _remove_report_files(ws.paths.home, study_uid, keep={r.id for r in store.for_study(study_uid)})
    patients |= _delete_orders(ws, accessions, study_uid)
    result = DeleteResult(study_uid, in_cache, len(deleted), len(signed_ids) - len(purged), len(kept_unsigned),
                          len(purged), retention)
    if result:
        record_quietly(ws.audit, events.STUDY_DELETED, action="D", user=ws.user, study_uid=study_uid,
                       detail={"command": command, "unsigned_reports_deleted": len(deleted),
                               "signed_reports_kept": result.kept_signed, "signed_reports_deleted": len(purged),
                               **(detail or {})})
        ws.worklist.forget(study_uid, ws.user)
        from app.workstation.ai import forget_study

        forget_study(ws, study_uid)  # its AI findings go with it
    _erase_patients(ws, {p for p in patients if p})
    return result


def _order_accessions(ws: "Workstation", study_uid: str) -> set[str]:
    """The accessions of the orders matched to a cached study (none when no order store exists)."""
    from app.workstation.orders import has_orders

    if not has_orders(ws):
        return set()
    return {o.accession for o in ws.orders_for_studies([study_uid]).values()}


def _delete_orders(ws: "Workstation", accessions: set[str], study_uid: str) -> set[str]:
    """Delete the study's orders; the patient IDs they named."""
    from app.workstation.orders import has_orders

    if not has_orders(ws):
        return set()
    store = ws.order_store
    named = {o.patient.patient_id for o in store.by_accession(accessions).values()}
    named |= {o.patient.patient_id for o in store.orders(include_cancelled=True) if o.study_uid == study_uid}
    store.delete_orders(accessions, study_uid)
    return named


def _erase_patients(ws: "Workstation", patient_ids: set[str]) -> None:
    """Erase the patients no cached study and no report names any more: their demographics and merges in
    the order store, their clear ID in the audit export spool (its messages then carry the salted hash)."""
    from app.audit import spool
    from app.workstation.orders import has_orders

    for patient_id in patient_ids:
        with ws.cache.lock:
            cached = ws.cache.db.execute("SELECT 1 FROM patients WHERE patient_id = ? LIMIT 1",
                                         [patient_id]).fetchone()
        if cached or ws.report_store.has_patient(patient_id):
            continue
        if has_orders(ws):
            ws.order_store.forget_patient(patient_id)
        spool.erase_patient(ws.audit, patient_id)


def _remove_key_images(folder: Path, hashes: set[str]) -> None:
    """Delete the key-image PNGs rendered from the study's instances (named by their content hash)."""
    if hashes and folder.is_dir():
        for png in folder.glob("*.png"):
            if png.name.split("-", 1)[0] in hashes:
                png.unlink()


def _remove_report_files(home: Path, study_uid: str, keep: set[str]) -> None:
    """Delete ``reports/<study>/<report>`` folders of reports no longer recorded (e.g. a signing attempt that
    crashed before its commit), and the study folder when nothing is kept."""
    import shutil

    from app.reporting.workflow import report_files_dir

    folder = report_files_dir(home) / study_uid
    if not folder.is_dir() or folder.resolve().parent != report_files_dir(home).resolve():
        return
    for child in folder.iterdir():
        if child.name not in keep:
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    if not keep:
        folder.rmdir()


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
