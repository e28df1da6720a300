"""HL7 listener settings, ``<config_dir>/orders.json`` (read through ``app.settings``; every key optional):

```json
{"hl7": {"port": 2575,            // no port: `telerad listen` serves DICOM only
         "host": "0.0.0.0",       // default: the workstation's address (nodes.json local.host)
         "tls": {"enabled": true, "cert_file": "...", "key_file": "...", "ca_file": "..."},
         "max_bytes": 1048576, "read_timeout_s": 60}}
```"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from app.network.nodes import TlsSettings

SETTINGS_FILE = "orders.json"


@dataclass(frozen=True)
class OrdersSettings:
    port: Optional[int] = None
    host: Optional[str] = None
    tls: TlsSettings = field(default_factory=TlsSettings)
    max_bytes: int = 1 << 20
    read_timeout_s: float = 60.0

    def __post_init__(self) -> None:
        if self.port is not None and not (isinstance(self.port, int) and 0 <= self.port <= 65535):
            raise ValueError(f"hl7.port must be an integer 0-65535, not {self.port!r}")
        if not (isinstance(self.max_bytes, int) and 1024 <= self.max_bytes <= 64 << 20):
            raise ValueError("hl7.max_bytes must be an integer from 1024 to 67108864")
        if not (isinstance(self.read_timeout_s, (int, float)) and self.read_timeout_s > 0):
            raise ValueError("hl7.read_timeout_s must be a positive number")

    def to_json(self) -> dict[str, Any]:
        hl7: dict[str, Any] = {"port": self.port, "max_bytes": self.max_bytes, "read_timeout_s": self.read_timeout_s}
        if self.host is not None:
            hl7["host"] = self.host
        if self.tls.enabled:
            hl7["tls"] = {k: v for k, v in vars(self.tls).items() if v is not None}
        return {"hl7": hl7}


def _from_json(data: dict[str, Any]) -> OrdersSettings:
    hl7 = data.get("hl7") or {}
    if not isinstance(hl7, dict):
        raise ValueError("hl7 must be an object")
    tls = hl7.get("tls") or {}
    if not isinstance(tls, dict):
        raise ValueError("hl7.tls must be an object")
    try:
        tls_settings = TlsSettings(**tls)
    except TypeError as exc:
        raise ValueError(f"hl7.tls: {exc}") from exc
    return OrdersSettings(port=hl7.get("port"), host=hl7.get("host"), tls=tls_settings,
                          max_bytes=hl7.get("max_bytes", 1 << 20), read_timeout_s=hl7.get("read_timeout_s", 60.0))


def load_orders_settings(config_dir: Path) -> OrdersSettings:
    """``orders.json`` (defaults when absent); SettingsError naming the file and the key when invalid."""
    from app.settings import load_settings

    return load_settings(config_dir, SETTINGS_FILE, OrdersSettings, _from_json)


def save_orders_settings(config_dir: Path, settings: OrdersSettings) -> Path:
    from app.settings import save_settings

    return save_settings(config_dir, SETTINGS_FILE, settings)
