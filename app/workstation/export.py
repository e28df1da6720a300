"""Export use case: a de-identified copy of a cached study (or some of its series), audited (110106)."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Sequence

from app.tasks import ProgressFn

if TYPE_CHECKING:
    from app.export import DeidOptions, ExportResult
    from app.workstation.workstation import Workstation


def export_deidentified(ws: "Workstation", study_uid: str, destination: Optional[Path], options: "DeidOptions", *,
                        series_uids: Optional[Sequence[str]] = None, dicomdir: bool = False,
                        node: Optional[str] = None, progress: Optional[ProgressFn] = None,
                        cancel: Optional[threading.Event] = None, audit_destination: str = "") -> "ExportResult":
    """PS3.15 Annex E copy to a folder, ZIP or DICOMDIR media, or with ``node`` C-STORE to that node (a
    consultant's; the copy is made in a private temporary folder, removed afterwards); encapsulated documents
    are left out. WorkstationError for an unknown study, series or node, or when Burned In Annotation is YES
    and ``options.confirm_burned_in`` is not set (nothing is written or sent then)."""
    if node is not None:
        return _send_deidentified(ws, study_uid, node, options, series_uids=series_uids, progress=progress,
                                  cancel=cancel)
    if destination is None:
        raise ValueError("a destination or a node is needed")
    from app.audit import events, record_quietly
    from app.export import DeidentificationBlocked, exportable
    from app.export import export_deidentified as run
    from app.workstation.workstation import WorkstationError

    summary = ws.cache.get_study(study_uid)
    if summary is None:
        raise WorkstationError(f"study {study_uid} is not in the local cache")
    series = [s.series_instance_uid for s in ws.cache.list_series(study_uid)]
    unknown = sorted(set(series_uids or ()) - set(series))
    if unknown:
        raise WorkstationError(f"series {', '.join(unknown)} not in study {study_uid}")
    chosen = [s for s in series if not series_uids or s in series_uids]
    instances = [(s, i) for s in chosen for i in ws.cache.list_instances(s) if i.state == "ok"]
    sources = [(s, i.path) for s, i in instances if exportable(i.sop_class_uid)]
    if not sources:
        raise WorkstationError(f"study {study_uid} has no stored instances to export")
    kind = "dicomdir" if dicomdir else "zip" if Path(destination).suffix.lower() == ".zip" else "folder"
    detail = {"what": "de-identified export", "destination": audit_destination or kind,
              "series": len(chosen), "options": _option_names(options)}
    try:
        result = run(sources, Path(destination), options, dicomdir=dicomdir, progress=progress, cancel=cancel)
    except DeidentificationBlocked as exc:
        record_quietly(ws.audit, events.EXPORT, action="R", outcome=events.OUTCOME_MINOR_FAILURE, user=ws.user,
                       study_uid=study_uid, patient_id=summary.patient_id, detail={**detail, "error": str(exc)})
        raise WorkstationError(str(exc)) from exc
    except FileExistsError as exc:
        raise WorkstationError(str(exc)) from exc
    result = replace(result, skipped=len(instances) - len(sources))
    record_quietly(ws.audit, events.EXPORT, action="R", user=ws.user, study_uid=study_uid,
                   patient_id=summary.patient_id, detail={**detail, "instances": result.files,
                                                          "skipped_documents": result.skipped})
    return result


def _send_deidentified(ws: "Workstation", study_uid: str, node: str, options: "DeidOptions", *,
                       series_uids: Optional[Sequence[str]], progress: Optional[ProgressFn],
                       cancel: Optional[threading.Event]) -> "ExportResult":
    """De-identify into a private temporary folder, C-STORE it with the send use case, remove the folder."""
    import tempfile

    from app.network.nodes import NodeError
    from app.workstation.workstation import WorkstationError

    try:
        ws.nodes().get(node)
    except NodeError as exc:
        raise WorkstationError(str(exc)) from exc
    with tempfile.TemporaryDirectory(prefix="telerad-deid-") as tmp:  # 0700, outside the data dir
        folder = Path(tmp) / "study"
        result = export_deidentified(ws, study_uid, folder, options, series_uids=series_uids, progress=progress,
                                     cancel=cancel, audit_destination=f"node {node}")
        sent = ws.send(node, [str(folder)], cancel=cancel)
    return replace(result, destination=Path(f"{node}:"), node=node, sent=len(sent.sent),
                   failed=tuple(sent.failed.values()))


def _option_names(options: "DeidOptions") -> list[str]:
    return [name for name in ("retain_longitudinal", "retain_device_identity", "clean_descriptors",
                              "confirm_burned_in") if getattr(options, name)]
