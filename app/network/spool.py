"""The durable landing place of a C-MOVE's instances: our Storage SCP answers Success after this fsync.

Each instance is written to ``<cache>/incoming/move-*/`` (encrypted in an encrypted data folder),
fsync'd, renamed from ``.part`` to ``.dcm`` and its folder fsync'd, then queued for the background
writer (:class:`~app.network.writer.BackgroundStore`), which moves it into the cache (a canonical file
is renamed into place, :meth:`app.network.sink.CacheSink.many`) and indexes it in group commits.
A crash leaves the spooled files: :func:`recover` stores them at the next start (``cache_sink``), so
nothing acknowledged is lost; ``.part`` files were never acknowledged and are removed.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from app.crypto import seal_for
from app.store.files import fsync_dir

if TYPE_CHECKING:
    from app.store import Cache

LOG = logging.getLogger(__name__)
INCOMING = "incoming"
RECOVERED = "recovered from the C-MOVE spool after a crash"
_lock = threading.Lock()
_active: set[Path] = set()  # spool folders in use in this process (the cache lock keeps other processes out)


class Spool:
    """One C-MOVE's spool folder; :meth:`put` returns once the bytes are durable."""

    def __init__(self, root: Path) -> None:
        base = root / INCOMING
        if not base.is_dir():
            base.mkdir(mode=0o700, exist_ok=True)
            fsync_dir(root)
        self.folder = Path(tempfile.mkdtemp(prefix="move-", dir=base))  # mode 0700
        fsync_dir(base)
        with _lock:
            _active.add(self.folder)
        self._fd = os.open(self.folder, os.O_RDONLY)

    def put(self, data: bytes | bytearray) -> Path:
        """Write ``data`` durably (file and name); raises OSError (a full disk: the peer hears A700)."""
        fd, name = tempfile.mkstemp(dir=self.folder, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(seal_for(self.folder, data))
                fh.flush()
                os.fdatasync(fh.fileno())
            final = name[: -len(".part")] + ".dcm"
            os.rename(name, final)
            os.fsync(self._fd)
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
        return Path(final)

    def close(self) -> None:
        """Remove the folder once empty (every instance stored); what is left waits for :func:`recover`."""
        os.close(self._fd)
        with _lock:
            _active.discard(self.folder)
        try:
            self.folder.rmdir()
        except OSError:
            LOG.warning("spool folder %s kept: instances still to store", self.folder.name)


def recover(cache: "Cache") -> int:
    """Store what a crashed process acknowledged but did not store (as solicited, node unknown); returns how
    many spooled instances were handled (stored, or rejected as not storable)."""
    base = cache.root / INCOMING
    if not base.is_dir():
        return 0
    stored = 0
    for folder in sorted(p for p in base.iterdir() if p.is_dir()):
        with _lock:
            if folder in _active:
                continue
        for path in sorted(folder.iterdir()):
            if path.suffix != ".dcm" or _store_spooled(cache, path):
                stored += path.suffix == ".dcm"
                path.unlink(missing_ok=True)
        if not any(folder.iterdir()):
            folder.rmdir()
    fsync_dir(base)
    if stored:
        LOG.warning("recovered %d instances a crashed C-MOVE had acknowledged", stored)
    return stored


def _store_spooled(cache: "Cache", path: Path) -> bool:
    """Store one spooled file; False keeps it for the next start (unreadable now, disk full)."""
    from app.crypto import read_stored

    try:
        result = cache.store_bytes(read_stored(path), None, source=RECOVERED)
    except Exception as exc:
        LOG.error("could not recover spooled instance %s: %s", path.name, exc)
        return False
    if result.status == "rejected":
        LOG.warning("spooled instance %s not stored: %s", path.name, result.reason)
    return True
