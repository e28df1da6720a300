"""Staged inputs: worker processes read, validate and write each input's canonical file to a temp file
in a staging folder under the cache's ``tmp/`` (not synced, not renamed, not indexed). The writer
(:meth:`Cache.store_prepared`) then syncs, renames and indexes a batch of them as it does its own temp
files: nothing is reported stored before that. A crash leaves only temp files, removed at the next open.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from app.store.files import TMP, write_staged
from app.store.models import StoreResult
from app.store.prepare import Prepared, Rejected, prepare_parts

if TYPE_CHECKING:
    from app.store.cache import Cache

Staged = Union[Prepared, StoreResult]


@contextmanager
def staging_folder(cache: Cache) -> Iterator[Path]:
    """A private folder under ``tmp/`` for staged files; :meth:`Cache.check` leaves it alone while in use.
    Removed (with whatever was not moved into place) on exit."""
    with cache.lock:
        folder = Path(tempfile.mkdtemp(prefix="staging-", dir=cache.root / TMP))  # mode 0700
        cache.staging_folders.add(folder)
    try:
        yield folder
    finally:
        with cache.lock:
            cache.staging_folders.discard(folder)
            shutil.rmtree(folder, ignore_errors=True)


def stage_one(root: Path, folder: Path, path: Path) -> Staged:
    """Read, validate and write one local file's canonical copy into ``folder``; a rejection instead."""
    from app.store.cache import read_input

    data = read_input(path)
    if isinstance(data, StoreResult):
        return data
    try:
        parts = prepare_parts(data)
    except Rejected as exc:
        return StoreResult("rejected", exc.reason, skip=exc.skip)
    try:
        name, size = write_staged(root, folder, (parts.prefix, parts.body))
    except (OSError, ValueError, RuntimeError) as exc:
        return StoreResult("rejected", f"read/store error: {exc}")
    return Prepared(parts.header, b"", parts.sha256, staged=name, staged_size=size)


def stage_files(root: str, folder: str, paths: Sequence[str], keys: dict[str, Any] | None) -> list[Staged]:
    """Worker task: :func:`stage_one` for each path. ``keys``: the sender's unlocked data folders
    (``app.crypto.registry.snapshot``), so an encrypted cache gets encrypted temp files."""
    if keys:
        from app.crypto.registry import adopt

        adopt(keys)
    return [stage_one(Path(root), Path(folder), Path(p)) for p in paths]


def discard(entries: Sequence[object]) -> None:
    """Remove the temp files of staged entries that were not moved into place."""
    for entry in entries:
        prepared = entry[0] if isinstance(entry, tuple) else entry
        if isinstance(prepared, Prepared) and prepared.staged:
            Path(prepared.staged).unlink(missing_ok=True)
