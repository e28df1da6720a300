"""Reporting settings, read from ``<config_dir>/reporting.json`` (every key optional).

```json
{
  "destination": "PACS",                 // report destination node (a name from nodes.json)
  "destination_overrides_source": false, // true: always send there, not to the study's source node
  "dicomweb_only": ["cloud"],            // nodes reached with STOW-RS instead of C-STORE
  "retry_base_s": 5, "retry_cap_s": 3600,// outbox backoff (exponential, with jitter)
  "send_timeout_s": 60,                  // per association / HTTP request
  "trust_roots": ["/etc/telerad/ca.pem"] // CA certificates trusted by `report verify`
}
```
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

SETTINGS_FILE = "reporting.json"


class SettingsError(ValueError):
    """``reporting.json`` is not valid."""


@dataclass(frozen=True)
class ReportingSettings:
    """Where signed reports go and how; see the module docstring for the file format."""

    destination: Optional[str] = None
    destination_overrides_source: bool = False
    dicomweb_only: frozenset[str] = frozenset()
    retry_base_s: float = 5.0
    retry_cap_s: float = 3600.0
    send_timeout_s: float = 60.0
    trust_roots: tuple[str, ...] = ()

    def choose_node(self, source_node: Optional[str], known: set[str]) -> Optional[str]:
        """The node a study's report goes to: its source node (when configured), else the report
        destination; the destination first when ``destination_overrides_source``. None: keep it local."""
        order = [self.destination, source_node] if self.destination_overrides_source else [source_node,
                                                                                             self.destination]
        return next((n for n in order if n and n in known), None)

    def transport(self, node: str) -> str:
        """``stow`` for DICOMweb-only nodes, else ``dimse`` (C-STORE)."""
        return "stow" if node in self.dicomweb_only else "dimse"

    def to_json(self) -> dict[str, Any]:
        return {"destination": self.destination, "destination_overrides_source": self.destination_overrides_source,
                "dicomweb_only": sorted(self.dicomweb_only), "retry_base_s": self.retry_base_s,
                "retry_cap_s": self.retry_cap_s, "send_timeout_s": self.send_timeout_s,
                "trust_roots": list(self.trust_roots)}


def load_settings(config_dir: Path) -> ReportingSettings:
    """The settings in ``config_dir`` (defaults when the file is absent; unknown keys ignored)."""
    path = Path(config_dir) / SETTINGS_FILE
    if not path.is_file():
        return ReportingSettings()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return ReportingSettings(
            destination=data.get("destination") or None,
            destination_overrides_source=bool(data.get("destination_overrides_source", False)),
            dicomweb_only=frozenset(data.get("dicomweb_only") or ()),
            retry_base_s=float(data.get("retry_base_s", 5.0)), retry_cap_s=float(data.get("retry_cap_s", 3600.0)),
            send_timeout_s=float(data.get("send_timeout_s", 60.0)),
            trust_roots=tuple(str(p) for p in data.get("trust_roots") or ()))
    except (ValueError, TypeError, AttributeError) as exc:
        raise SettingsError(f"{path}: {exc}") from exc


def save_settings(config_dir: Path, settings: ReportingSettings) -> Path:
    """Write ``reporting.json`` (atomic rename)."""
    folder = Path(config_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / SETTINGS_FILE
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(settings.to_json(), indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
