"""The site's audit repository, ``<config_dir>/audit.json`` (read through ``app.settings``):

```json
{"repository": {"host": "audit.hospital.example", "port": 6514,
                "ca_file": "/etc/telerad/audit-ca.pem",       // required: the repository's CA
                "cert_file": "...", "key_file": "...",        // our client certificate (mutual TLS)
                "check_hostname": true,
                "source_id": "telerad@reading-room-3",        // AuditSourceID (default telerad@hostname)
                "site_id": "ST MARY",                          // AuditEnterpriseSiteID (optional)
                "retry_min_s": 1, "retry_max_s": 300}}
```
No file, or no ``repository.host``: audit export is off (events stay in the local log only)."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from app.audit.message import Source
from app.audit.syslog import SyslogTarget

SETTINGS_FILE = "audit.json"


@dataclass(frozen=True)
class AuditRepository:
    """Where and how the audit messages go."""

    host: Optional[str] = None
    port: int = 6514
    ca_file: Optional[str] = None
    cert_file: Optional[str] = None
    key_file: Optional[str] = None
    check_hostname: bool = True
    source_id: Optional[str] = None
    site_id: Optional[str] = None
    retry_min_s: float = 1.0
    retry_max_s: float = 300.0

    def __post_init__(self) -> None:
        if not (isinstance(self.port, int) and 1 <= self.port <= 65535):
            raise ValueError(f"repository.port must be an integer 1-65535, not {self.port!r}")
        if self.host and not self.ca_file:
            raise ValueError("repository.ca_file is required: the CA that signed the repository's certificate")
        if bool(self.cert_file) != bool(self.key_file):
            raise ValueError("repository.cert_file and repository.key_file go together")
        if not (0 < self.retry_min_s <= self.retry_max_s):
            raise ValueError("repository.retry_min_s must be positive and at most retry_max_s")

    @property
    def enabled(self) -> bool:
        return bool(self.host)

    def target(self) -> SyslogTarget:
        assert self.host and self.ca_file
        return SyslogTarget(self.host, self.port, self.ca_file, self.cert_file, self.key_file, self.check_hostname)

    def source(self) -> Source:
        return Source(self.source_id or f"telerad@{socket.gethostname()}", self.site_id)

    def to_json(self) -> dict[str, Any]:
        return {"repository": {k: v for k, v in vars(self).items() if v is not None}}


def _from_json(data: dict[str, Any]) -> AuditRepository:
    repo = data.get("repository") or {}
    if not isinstance(repo, dict):
        raise ValueError("repository must be an object")
    try:
        return AuditRepository(**repo)
    except TypeError as exc:
        raise ValueError(f"repository: {exc}") from exc


def load_repository(config_dir: Path) -> AuditRepository:
    """``audit.json`` (export off when absent); SettingsError naming the file and the key when invalid."""
    from app.settings import load_settings

    return load_settings(config_dir, SETTINGS_FILE, AuditRepository, _from_json)


def save_repository(config_dir: Path, repository: AuditRepository) -> Path:
    """Write ``audit.json`` atomically (owner-only)."""
    from app.settings import save_settings

    return save_settings(config_dir, SETTINGS_FILE, repository)
