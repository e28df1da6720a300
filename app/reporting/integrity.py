"""Signed report files on disk: written owner-only then made read-only, and checked against the SHA-256
recorded when they were signed before anything reads them (cache, outbox, show, verify)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from app.config import private_dir
from app.reporting.model import ReportError

if TYPE_CHECKING:
    import sqlite_utils

    from app.audit import AuditLog
    from app.reporting.store import OutputFile

WRITE_MODE = 0o600
SIGNED_MODE = 0o400


class IntegrityError(ReportError):
    """A signed report file is missing or differs from the hash recorded when it was signed."""


def write_signed(path: Path, data: bytes) -> str:
    """Write ``data`` atomically (encrypted in an unlocked encrypted data folder, app.crypto): a 0600 temp
    file (whatever the umask), fsync, chmod 0400, rename; return the SHA-256 of ``data`` (the plaintext)."""
    from app.crypto import seal_for

    private_dir(path.parent)  # reports/<study>/<report>: 0700 whatever the umask
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)  # a crashed attempt may have left a read-only one
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, WRITE_MODE)
    try:
        os.fchmod(fd, WRITE_MODE)
        with os.fdopen(fd, "wb", closefd=False) as fh:
            fh.write(seal_for(path, data))
            fh.flush()
        os.fsync(fd)
        os.fchmod(fd, SIGNED_MODE)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    return hashlib.sha256(data).hexdigest()


def problem(path: Path, sha256: str) -> Optional[str]:
    """Why the file at ``path`` is not the one recorded with ``sha256`` (None if it is); its plaintext is
    hashed (KeyMissingError when it is encrypted and the data folder locked: not a problem of the file)."""
    from app.crypto import DecryptError, read_stored

    try:
        data = read_stored(path)
    except OSError as exc:
        return f"cannot read {Path(path).name}: {exc.strerror or type(exc).__name__}"
    except DecryptError:
        return f"{Path(path).name} changed on disk after signing (it no longer decrypts)"
    if hashlib.sha256(data).hexdigest() != sha256:
        return f"{Path(path).name} changed on disk after signing (SHA-256 differs from the record)"
    return None


def recorded_output(db: "sqlite_utils.Database", path: str) -> Optional[tuple[str, str, str]]:
    """(report id, role, recorded SHA-256) of the signed output at ``path``, None if it is not one."""
    row = db.execute("SELECT report_id, role, sha256 FROM report_outputs WHERE path = ?", [str(path)]).fetchone()
    return None if row is None else (row[0], row[1], row[2])


def check_output(out: "OutputFile", audit: "Optional[AuditLog]" = None, *, report_id: str = "",
                 study_uid: Optional[str] = None, action: str = "read", user: Optional[str] = None) -> None:
    """IntegrityError (after a Security Alert audit record) unless ``out`` is intact on disk."""
    found = problem(Path(out.path), out.sha256)
    if found is None:
        return
    alert(audit, path=out.path, role=out.role, report_id=report_id, study_uid=study_uid, reason=found,
          action=action, user=user)
    raise IntegrityError(f"refused to {action} the signed {out.role or 'file'}: {found}")


def alert(audit: "Optional[AuditLog]", *, path: str, role: str, report_id: str, reason: str,
          action: str, study_uid: Optional[str] = None, user: Optional[str] = None) -> None:
    """110113 Security Alert: a signed report object failed its integrity check (never raises)."""
    from app.audit import events, record_quietly

    record_quietly(audit, events.SECURITY_ALERT, action=events.ACTION_EXECUTE, user=user,
                   outcome=events.OUTCOME_SERIOUS_FAILURE, study_uid=study_uid,
                   detail={"what": "signed report object failed its integrity check", "refused": action,
                           "report_id": report_id, "role": role, "file": Path(path).name, "reason": reason})
