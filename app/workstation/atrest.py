"""Encryption at rest of a data folder (issue 16 item 2): when the data services may open, and with which keys.

Every data folder with an account is encrypted: its master key (unwrapped by a sign-in) gives the keys
(``app.crypto.DataKeys``) that the databases (SQLCipher) and the stored files (AES-256-GCM) are opened with;
``encryption.json`` marks the folder. A folder without an account opens only in the plaintext mode of tests
and scripts (``TELERAD_PLAINTEXT=1``); otherwise the first account must be created first (``telerad user add``,
or the window's first start). A plaintext folder that gets its first account is converted: each database
when it next opens, the stored files by :func:`encrypt_remaining` (run after the sign-in, in the background)."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

from app.crypto import DataKeys, keys_for, register, unregister
from app.crypto.marker import encrypted_home, write_marker

if TYPE_CHECKING:
    from app.security import Session
    from app.tasks import ProgressFn
    from app.workstation.workstation import Workstation

PLAINTEXT_ENV = "TELERAD_PLAINTEXT"
# services holding PHI: they open only once the folder is unlocked (or in plaintext mode)
DATA_SERVICES = frozenset({"cache", "worklist", "reports", "orders", "ai", "group", "network"})
# folders of stored files below the data folder (the cache's objects and quarantine, reports, key images)
STORED_DIRS = ("cache/objects", "cache/quarantine", "reports", "key-images")


class LockedError(RuntimeError):
    """The data folder is encrypted (or must be) and nobody has unlocked it (a message meant for the user)."""


def plaintext_allowed() -> bool:
    """The plaintext mode of tests and scripts: a folder without accounts stays unencrypted."""
    return os.environ.get(PLAINTEXT_ENV) == "1"


def is_encrypted(ws: "Workstation") -> bool:
    """True if the folder is (or is becoming) encrypted: marked, or it has an account."""
    from app.security import accounts_path

    if encrypted_home(ws.paths.home) == Path(os.path.abspath(ws.paths.home)):
        return True
    return accounts_path(ws.paths.home).exists() and ws.accounts.any()  # never creates the accounts file


def unlocked(ws: "Workstation") -> bool:
    return keys_for(ws.paths.home) is not None


def unlock_data(ws: "Workstation", session: "Session") -> DataKeys:
    """Register the folder's keys (from the session's master key) and mark the folder encrypted."""
    from app.security import keywrap

    keys = DataKeys.from_master(session.master_key)
    register(ws.paths.home, keys)
    ws.data_keys = keys
    if encrypted_home(ws.paths.home) is None:
        write_marker(ws.paths.home, keywrap.key_check(session.master_key))
    return keys


def lock_data(ws: "Workstation") -> None:
    """Forget the folder's keys (the workstation closes)."""
    if getattr(ws, "data_keys", None) is not None:
        unregister(ws.paths.home)
        ws.data_keys = None


def ensure_unlocked(ws: "Workstation") -> None:
    """Before a data service opens: unlocked already, plaintext mode, or the workstation's ``unlocker``
    (the CLI asks for the password) unlocks now; LockedError otherwise."""
    if unlocked(ws):
        return
    if not is_encrypted(ws):
        if plaintext_allowed():
            return
        raise LockedError("this data folder has no user yet, and patient data is only kept encrypted: "
                          "create the first user with `telerad user add NAME` (or start the window)")
    unlocker: Optional[Callable[[], "Session"]] = getattr(ws, "unlocker", None)
    if unlocker is None:
        raise LockedError("the data folder is encrypted and locked: sign in first")
    unlock_data(ws, unlocker())


def plaintext_files(home: Path) -> list[Path]:
    """Stored files of ``home`` still in plaintext."""
    from app.crypto import is_stored_encrypted

    found = []
    for sub in STORED_DIRS:
        folder = Path(home) / sub
        if folder.is_dir():
            for path in folder.rglob("*"):
                if path.is_file() and not path.name.endswith((".tmp", ".part")) and not is_stored_encrypted(path):
                    found.append(path)
    return found


def encrypt_remaining(ws: "Workstation", progress: "Optional[ProgressFn]" = None,
                      cancel: Optional[threading.Event] = None) -> int:
    """Encrypt the folder's plaintext stored files in place (each: sealed temp file, fsync, atomic rename,
    its mode kept); returns how many. Needs the folder unlocked."""
    from app.crypto import seal_for
    from app.tasks import check_cancel, report

    if not unlocked(ws):
        raise LockedError("the data folder is locked: sign in first")
    todo = plaintext_files(ws.paths.home)
    for done, path in enumerate(todo):
        check_cancel(cancel)
        if path.exists():  # a purge or delete may have removed it meanwhile
            _seal_in_place(path, seal_for)
        report(progress, done + 1, len(todo), "encrypting stored files")
    return len(todo)


def _seal_in_place(path: Path, seal_for: Callable[[Path, bytes], "bytes | memoryview"]) -> None:
    from app.config import open_private

    mode = path.stat().st_mode & 0o777
    sealed = seal_for(path, path.read_bytes())
    tmp = path.with_name(path.name + ".sealing.tmp")
    tmp.unlink(missing_ok=True)
    fd = open_private(tmp, os.O_WRONLY | os.O_EXCL)
    try:
        _write_all(fd, sealed)
        os.fsync(fd)
        os.fchmod(fd, mode)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _write_all(fd: int, data: "bytes | memoryview") -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
