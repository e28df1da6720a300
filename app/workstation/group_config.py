"""Where the group database is: ``--group URL`` (or ``TELERAD_GROUP``) for this run, else the URL saved in
``<config>/group.json`` (the window's File > Group reading...); none: a lone reader. The file is owner-only
(a URL may hold a password; a ``~/.pgpass`` entry keeps it out of the file)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    from app.workstation.workstation import Workstation

GROUP_FILE = "group.json"
SCHEMES = ("postgresql://", "postgres://")
CONNECT_TIMEOUT_S = 5


@dataclass(frozen=True)
class GroupConfig:
    url: str = ""  # empty: lone reader

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "GroupConfig":
        url = data.get("url", "")
        if not isinstance(url, str):
            raise ValueError("url must be a text")
        return cls(check_url(url))

    def to_json(self) -> dict[str, Any]:
        return {"url": self.url}


def check_url(url: str) -> str:
    """The URL stripped; ValueError unless empty or a PostgreSQL connection URL."""
    url = url.strip()
    if url and not url.startswith(SCHEMES):
        raise ValueError("url must start with postgresql:// (e.g. postgresql://reader@db.example.org/telerad)")
    return url


def saved(ws: "Workstation") -> GroupConfig:
    """The saved group URL (read once per workstation: every group use case asks for it)."""
    from app.settings import load_settings

    found = getattr(ws, "_group_config", None)
    if found is None:
        found = load_settings(ws.paths.config_dir, GROUP_FILE, GroupConfig, GroupConfig.from_json)
        ws._group_config = found  # type: ignore[attr-defined]
    return found


def save(ws: "Workstation", url: str) -> GroupConfig:
    """Save the group URL for the next starts (empty: lone reader); ValueError for a URL of another kind."""
    from app.settings import save_settings

    config = GroupConfig(check_url(url))
    save_settings(ws.paths.config_dir, GROUP_FILE, config)
    ws._group_config = config  # type: ignore[attr-defined]
    return config


def configured_url(ws: "Workstation") -> Optional[str]:
    """This run's group URL: ``--group`` first, then the saved one; None for a lone reader."""
    return getattr(ws, "group_url", None) or saved(ws).url or None


def probe(url: str, progress: Any = None, cancel: Optional[threading.Event] = None) -> str:
    """Connect once (no migration) and describe the server: "PostgreSQL 15.4, group schema 6" (or "no group
    schema yet: created at the first start"); GroupUnavailable with the server's reason otherwise."""
    import psycopg

    from app.group import GroupUnavailable

    try:
        with psycopg.connect(check_url(url), connect_timeout=CONNECT_TIMEOUT_S, autocommit=True) as conn:
            version = conn.info.server_version
            row = conn.execute("SELECT to_regclass('group_schema') IS NOT NULL").fetchone()
            schema = conn.execute("SELECT max(version) FROM group_schema").fetchone()[0] if row and row[0] else None
    except (psycopg.Error, ValueError) as exc:
        raise GroupUnavailable(f"cannot use the group database: {str(exc).strip().splitlines()[0]}") from None
    server = f"PostgreSQL {version // 10000}.{version % 10000}"
    return f"{server}, group schema {schema}" if schema else f"{server}, no group schema yet: created at the first start"
