"""Where the workstation keeps its data: one settings object, resolved once."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

APP_NAME = "telerad"
# Everything under the data and config dirs holds or may hold PHI: owner-only, whatever the umask.
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


@dataclass(frozen=True)
class Paths:
    """Filesystem locations: ``home`` holds the cache and audit log, ``config_dir`` the settings."""

    home: Path
    config_dir: Path

    @property
    def cache(self) -> Path:
        return self.home / "cache"

    @property
    def audit_db(self) -> Path:
        return self.home / "audit.sqlite"

    @property
    def key_images(self) -> Path:
        """Key-image PNGs inserted into reports, named ``<instance sha256[:16]>-<frame>[-screen].png``."""
        return self.home / "key-images"


def resolve_paths(data_dir: Optional[str] = None) -> Paths:
    """``--data-dir`` wins, then ``TELERAD_HOME``, then the platform's user data dir."""
    chosen = data_dir or os.environ.get("TELERAD_HOME")
    if chosen:
        home = Path(chosen).expanduser().resolve()
        return Paths(home, home / "config")
    import platformdirs

    return Paths(
        Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
    )


def private_dir(path: Path) -> Path:
    """Create ``path`` and its missing parents owner-only (0700, whatever the umask); an existing ``path``
    is restricted too when it is ours and not a shared sticky folder such as /tmp."""
    path = Path(path)
    missing = []
    current = path
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    for new_dir in reversed(missing):
        new_dir.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
        restrict(new_dir, PRIVATE_DIR_MODE)
    if not missing and _ours_and_not_shared(path):
        restrict(path, PRIVATE_DIR_MODE)
    return path


def _ours_and_not_shared(path: Path) -> bool:
    import stat

    try:
        st = path.stat()
    except OSError:
        return False
    return st.st_uid == os.geteuid() and not st.st_mode & stat.S_ISVTX


def restrict(path: Path, mode: int = PRIVATE_FILE_MODE) -> None:
    """``chmod`` to ``mode`` unless the file system has no modes or the file is not ours."""
    try:
        os.chmod(path, mode)
    except OSError:
        pass


def open_private(path: Path, flags: int) -> int:
    """``os.open`` creating the file owner-only (0600 whatever the umask); returns the descriptor."""
    fd = os.open(path, flags | os.O_CREAT, PRIVATE_FILE_MODE)
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)
    except OSError:
        pass
    return fd


def resources_dir() -> Path:
    """The ``resources/`` folder (next to ``app/`` in a checkout, or inside a frozen bundle)."""
    import sys

    bundle = getattr(sys, "_MEIPASS", None)
    base = Path(bundle) if bundle else Path(__file__).resolve().parents[1]
    return base / "resources"


def user_name() -> str:
    """The local user, recorded in audit events."""
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return "unknown"
