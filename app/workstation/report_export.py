"""Copies of a study's signed report files (PDF, SR, encapsulated PDF) outside the data folder, decrypted,
each checked against the SHA-256 recorded at signing; audited as 110106 Export."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.workstation.workstation import Workstation

SUFFIX = {"pdf": ".pdf", "sr": ".dcm", "epdf": ".dcm"}


def export_signed(ws: "Workstation", study_uid: str, destination: Path) -> list[Path]:
    """Write the signed outputs of every signed report of ``study_uid`` into ``destination`` (owner-only
    files, never overwritten); returns the written paths. WorkstationError when there is none or one is damaged."""
    import hashlib

    from app.audit import events, record_quietly
    from app.config import open_private, private_dir
    from app.crypto import read_stored
    from app.workstation.workstation import WorkstationError

    reports = [r for r in ws.report_store.for_study(study_uid) if r.signed_at]
    outputs = [(r, o) for r in reports for o in ws.report_store.outputs(r.id)]
    if not outputs:
        raise WorkstationError(f"no signed report for study {study_uid}")
    destination = private_dir(Path(destination))
    written = []
    for report, output in outputs:
        data = read_stored(output.path)
        if hashlib.sha256(data).hexdigest() != output.sha256:
            raise WorkstationError(f"{Path(output.path).name} changed after signing: not exported")
        target = destination / f"{report.id}-{output.role}{SUFFIX.get(output.role, Path(output.path).suffix)}"
        fd = open_private(target, os.O_WRONLY | os.O_EXCL)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        written.append(target)
    record_quietly(ws.audit, events.EXPORT, action="R", user=ws.user, study_uid=study_uid,
                   patient_id=reports[0].study.patient_id,
                   detail={"what": "signed report files", "files": len(written), "destination": str(destination)})
    return written
