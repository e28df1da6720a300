"""File layout of the cache root and crash-safe writes (temp file, fsync, rename, fsync dir)."""

from __future__ import annotations

import ctypes
import hashlib
import os
import re
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath

from app.config import PRIVATE_DIR_MODE, restrict
from app.crypto import keys_for, seal_for
from app.dicom.uids import is_tolerated_uid
from app.store.crash import crashpoint

OBJECTS = "objects"
QUARANTINE = "quarantine"
TMP = "tmp"
_HEX64 = re.compile(r"[0-9a-f]{64}")


def _digest(uid: str, what: str) -> str:
    if not is_tolerated_uid(uid):
        raise ValueError(f"invalid {what}")
    return hashlib.sha256(uid.encode("ascii")).hexdigest()


def object_relpath(sop_instance_uid: str, study_instance_uid: str) -> PurePosixPath:
    """``objects/<st>/<sha256(study uid)[2:]>/<sha256(uid)>.dcm``: one folder per study, so a batch of a
    series touches one or two folders; only for validated UIDs (ValueError otherwise)."""
    study = _digest(study_instance_uid, "Study Instance UID")
    return PurePosixPath(OBJECTS, study[:2], study[2:], f"{_digest(sop_instance_uid, 'SOP Instance UID')}.dcm")


def legacy_object_relpath(sop_instance_uid: str) -> PurePosixPath:
    """``objects/ab/cd/<sha256(uid)>.dcm``: where files stored before the per-study folders lie."""
    digest = _digest(sop_instance_uid, "SOP Instance UID")
    return PurePosixPath(OBJECTS, digest[:2], digest[2:4], f"{digest}.dcm")


def quarantine_relpath(content_sha256: str) -> PurePosixPath:
    """``quarantine/<sha256 of content>.dcm``."""
    if not _HEX64.fullmatch(content_sha256):
        raise ValueError("not a sha256 hex digest")
    return PurePosixPath(QUARANTINE, f"{content_sha256}.dcm")


def resolve_inside(root: Path, relpath: str | PurePosixPath) -> Path:
    """Absolute path of ``relpath`` under ``root``; ValueError if it would escape the root."""
    path = (root / Path(*PurePosixPath(relpath).parts)).resolve()
    if not path.is_relative_to(root.resolve()):
        raise ValueError("path escapes the cache root")
    return path


def fsync_dir(directory: Path) -> None:
    """Make a rename or unlink in ``directory`` durable (no-op where unsupported)."""
    if os.name != "posix":  # pragma: no cover
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _make_dirs(root: Path, directory: Path, pending: set[Path]) -> None:
    """Create ``directory`` (under ``root``); add the parent of each new level to ``pending``
    (the caller fsyncs those before it relies on the new entries)."""
    missing = []
    current = directory
    while not current.exists() and current != root:
        missing.append(current)
        current = current.parent
    for new_dir in reversed(missing):
        new_dir.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
        restrict(new_dir, PRIVATE_DIR_MODE)  # owner-only whatever the umask (PHI)
        pending.add(new_dir.parent)


def _syncfs_fn() -> "Callable[[int], int] | None":
    """libc ``syncfs`` (Linux): flush one filesystem's dirty data and metadata in one call."""
    if not sys.platform.startswith("linux"):  # pragma: no cover
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.syncfs  # type: ignore[no-any-return]
    except (OSError, AttributeError):  # pragma: no cover
        return None


_SYNCFS = _syncfs_fn()


def sync_filesystem(directory: Path) -> bool:
    """``syncfs`` the filesystem holding ``directory``; False where unavailable (caller fsyncs per file).
    Raises OSError if the kernel reports a write-back error."""
    if _SYNCFS is None:  # pragma: no cover
        return False
    fd = os.open(directory, os.O_RDONLY)
    try:
        if _SYNCFS(fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
    finally:
        os.close(fd)
    return True


def _write_temp(root: Path, data: "bytes | memoryview", *, fsync: bool = True) -> str:
    """Write ``data`` to a new file in ``root/tmp`` (fsync'd unless the caller syncs the filesystem)."""
    data = seal_for(root, data)  # encrypted in an unlocked encrypted data folder (app.crypto)
    fd, tmp_name = tempfile.mkstemp(dir=root / TMP, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    crashpoint("after_temp_write")
    return tmp_name


def write_staged(root: Path, folder: Path, pieces: Sequence["bytes | memoryview"]) -> tuple[str, int]:
    """Write a canonical file (``pieces`` in order) to a new temp file in ``folder`` (under ``root/tmp``),
    encrypted when ``root`` is; not synced where ``syncfs`` will be (see :func:`write_many`).
    Returns (temp path, plaintext length)."""
    from app.crypto.filecrypt import write_encrypted_pieces

    size, keys = sum(len(piece) for piece in pieces), keys_for(root)
    fd, tmp_name = tempfile.mkstemp(dir=folder, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            if keys is not None:  # sealed chunk by chunk: no whole-file copy
                write_encrypted_pieces(fh, keys.file_wrap, pieces)
            else:
                for piece in pieces:
                    fh.write(piece)
            fh.flush()
            if _SYNCFS is None:  # pragma: no cover - no syncfs: each file is synced on its own
                os.fsync(fh.fileno())
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return tmp_name, size


def _fsync_file(name: str) -> None:
    fd = os.open(name, os.O_RDWR)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _place(root: Path, tmp_name: str, relpath: PurePosixPath, folders: dict[PurePosixPath, Path],
           pending: set[Path]) -> Path:
    """Rename a temp file to ``relpath`` (its folder resolved, checked and created once per batch)."""
    try:
        if relpath.name in ("", ".", ".."):
            raise ValueError("not a file path")
        folder = folders.get(relpath.parent)
        if folder is None:
            folder = folders[relpath.parent] = resolve_inside(root, relpath.parent)
            _make_dirs(root, folder, pending)
        dest = folder / relpath.name
        os.replace(tmp_name, dest)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return dest


def write_many(root: Path, entries: list[tuple[PurePosixPath, "bytes | Path"]], written: list[Path]) -> None:
    """Crash-safe group write: every file to ``root/tmp`` (a ``Path`` is a temp file already written there,
    see :func:`write_staged`), then ONE ``syncfs`` (per-file fsync where it is unavailable) so all contents
    are durable, then each renamed into place and one fsync per directory touched or created (deepest
    first). All are durable when this returns; ``written`` collects the placed paths (also on failure, so
    the caller can undo them)."""
    batched = len(entries) > 1 and _SYNCFS is not None
    temps: list[str] = []
    try:
        for _relpath, data in entries:
            if isinstance(data, Path):
                temps.append(str(data))
                if not batched:
                    _fsync_file(str(data))
            else:
                temps.append(_write_temp(root, data, fsync=not batched))
        if batched:
            sync_filesystem(root / TMP)
            crashpoint("after_batch_sync")
    except BaseException:
        for name in temps:
            Path(name).unlink(missing_ok=True)
        raise
    directories: set[Path] = set()  # where entries were renamed or new directories created
    folders: dict[PurePosixPath, Path] = {}
    for index, ((relpath, _data), tmp_name) in enumerate(zip(entries, temps)):
        try:
            dest = _place(root, tmp_name, relpath, folders, directories)
        except BaseException:
            for name in temps[index + 1:]:
                Path(name).unlink(missing_ok=True)
            raise
        written.append(dest)
        directories.add(dest.parent)
        crashpoint("after_rename")
    for directory in sorted(directories, key=lambda d: len(d.parts), reverse=True):
        fsync_dir(directory)


def remove_file(root: Path, relpath: str, stop_at: str) -> None:
    """Delete ``root/relpath`` and prune now-empty parents up to ``root/stop_at``."""
    path = resolve_inside(root, relpath)
    path.unlink(missing_ok=True)
    limit = (root / stop_at).resolve()
    parent = path.parent
    while parent != limit and parent.is_relative_to(limit):
        try:
            parent.rmdir()
        except OSError:
            break
        parent = parent.parent
    fsync_dir(parent if parent.exists() else limit)
