"""Where the workstation keeps its data: one settings object, resolved once."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

APP_NAME = "telerad"


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
