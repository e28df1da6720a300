"""Reporting settings, read from ``<config_dir>/reporting.json`` (every key optional).

```json
{
  "destination": "PACS",                 // report destination node (a name from nodes.json)
  "destination_overrides_source": false, // true: always send there, not to the study's source node
  "dicomweb_only": ["cloud"],            // nodes reached with STOW-RS instead of C-STORE
  "retry_base_s": 5, "retry_cap_s": 3600,// outbox backoff (exponential, with jitter)
  "send_timeout_s": 60,                  // per association / HTTP request
  "trust_roots": ["/etc/telerad/ca.pem"],// CA certificates trusted by `report verify`
  "retention": "keep",                   // signed reports when their study is deleted: "keep" (medico-legal,
                                         // default) or "delivered" (removed once every delivery was sent)
  "hl7": {                               // optional: also send an HL7 v2.5.1 ORU^R01 over MLLP
    "name": "RIS", "host": "ris.example.org", "port": 2575,
    "receiving_application": "RIS", "receiving_facility": "RADIOLOGY",
    "sending_application": "TELERAD", "sending_facility": "", "timeout_s": 30,
    "critical_flag": "AA",               // OBX-8 of a critical result: AA (critically abnormal) or HH
    "critical_notification": {           // optional: a separate ORU^R01 for each signed critical result
      "host": "pager.example.org", "port": 2576,
      "name": "RIS-critical"             // outbox node hl7:<name>; keys not given are the ORU's (above)
    }
  }
}
```
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

SETTINGS_FILE = "reporting.json"
CRITICAL_FLAGS = ("AA", "HH", "LL")
RETENTION_RULES = ("keep", "delivered")


class SettingsError(ValueError):
    """A value of ``reporting.json`` is not valid (the loader adds the file name)."""


@dataclass(frozen=True)
class Hl7Destination:
    """The RIS that receives ORU^R01 result messages over MLLP (MSH-3..6 from these names)."""

    host: str
    port: int
    receiving_application: str
    receiving_facility: str
    name: str = "RIS"
    sending_application: str = "TELERAD"
    sending_facility: str = ""
    timeout_s: float = 30.0
    critical_flag: str = "AA"  # OBX-8 (HL7 table 0078) of a critical result's observations
    critical_notification: Optional["Hl7Destination"] = None  # a separate message per critical result

    def __post_init__(self) -> None:
        if self.critical_flag not in CRITICAL_FLAGS:
            raise SettingsError(f"hl7.critical_flag must be one of {', '.join(CRITICAL_FLAGS)}, "
                                f"not {self.critical_flag!r}")
        if not isinstance(self.host, str) or not self.host.strip():
            raise SettingsError("hl7.host must be a non-empty host name")
        if isinstance(self.port, bool) or not isinstance(self.port, int) or not 0 < self.port < 65536:
            raise SettingsError(f"hl7.port must be an integer in 1..65535, not {self.port!r}")
        if not self.timeout_s > 0:
            raise SettingsError("hl7.timeout_s must be positive")
        if not self.name:
            raise SettingsError("hl7.name must not be empty")
        if self.critical_notification is not None and self.critical_notification.name == self.name:
            raise SettingsError("hl7.critical_notification.name must differ from hl7.name")
        for key in ("sending_application", "sending_facility", "receiving_application", "receiving_facility"):
            if len(getattr(self, key)) > 20:  # HD-1 is an IS value: at most 20 characters
                raise SettingsError(f"hl7.{key} must be at most 20 characters")

    @classmethod
    def from_json(cls, data: Any) -> "Hl7Destination":
        """From the ``"hl7"`` object (host and port required, other keys optional, unknown keys ignored)."""
        if not isinstance(data, dict):
            raise SettingsError("hl7 must be an object")
        if "host" not in data or "port" not in data:
            raise SettingsError("hl7 needs host and port")
        defaults = {"name": "RIS", "receiving_application": "", "receiving_facility": "",
                    "sending_application": "TELERAD", "sending_facility": "", "critical_flag": "AA"}
        text = {k: d if data.get(k) is None else str(data[k]) for k, d in defaults.items()}
        notify = data.get("critical_notification")
        if notify is not None:  # a destination of its own; the keys it leaves out are the ORU's
            if not isinstance(notify, dict):
                raise SettingsError("hl7.critical_notification must be an object")
            inherited = {**data, "name": f"{text['name']}-critical", **{k: v for k, v in notify.items()
                                                                       if v is not None}}
            try:
                notify = cls.from_json({k: v for k, v in inherited.items() if k != "critical_notification"})
            except SettingsError as exc:
                raise SettingsError(str(exc).replace("hl7.", "hl7.critical_notification.", 1)) from None
        return cls(host=data["host"], port=data["port"], timeout_s=float(data.get("timeout_s", 30.0)),
                   critical_notification=notify, **text)

    def destination(self, name: str) -> "Optional[Hl7Destination]":
        """This destination or its critical notification, by ``name`` (None when neither has it)."""
        return next((d for d in (self, self.critical_notification) if d is not None and d.name == name), None)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


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
    hl7: Optional[Hl7Destination] = None
    retention: str = "keep"  # RETENTION_RULES: what `telerad delete` does with a study's signed reports

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
        hl7 = {"hl7": self.hl7.to_json()} if self.hl7 is not None else {}
        return {"destination": self.destination, "destination_overrides_source": self.destination_overrides_source,
                "dicomweb_only": sorted(self.dicomweb_only), "retry_base_s": self.retry_base_s,
                "retry_cap_s": self.retry_cap_s, "send_timeout_s": self.send_timeout_s,
                "trust_roots": list(self.trust_roots), "retention": self.retention, **hl7}


def load_settings(config_dir: Path) -> ReportingSettings:
    """The settings in ``config_dir`` (defaults when the file is absent; unknown keys ignored)."""
    from app import settings

    try:
        return settings.load_settings(config_dir, SETTINGS_FILE, ReportingSettings, _from_json)
    except settings.SettingsError as exc:
        raise SettingsError(str(exc)) from exc


def _number(data: dict[str, Any], key: str, default: float) -> float:
    try:
        return float(data.get(key, default))
    except (TypeError, ValueError):
        raise SettingsError(f"{key} must be a number, not {data.get(key)!r}") from None


def _from_json(data: dict[str, Any]) -> ReportingSettings:
    return ReportingSettings(
        destination=data.get("destination") or None,
        destination_overrides_source=bool(data.get("destination_overrides_source", False)),
        dicomweb_only=frozenset(data.get("dicomweb_only") or ()),
        retry_base_s=_number(data, "retry_base_s", 5.0), retry_cap_s=_number(data, "retry_cap_s", 3600.0),
        send_timeout_s=_number(data, "send_timeout_s", 60.0),
        trust_roots=tuple(str(p) for p in data.get("trust_roots") or ()),
        hl7=Hl7Destination.from_json(data["hl7"]) if data.get("hl7") is not None else None,
        retention=_retention(data.get("retention", "keep")))


def _retention(value: Any) -> str:
    if value not in RETENTION_RULES:
        raise SettingsError(f"retention must be one of {', '.join(RETENTION_RULES)}, not {value!r}")
    return str(value)


def save_settings(config_dir: Path, settings: ReportingSettings) -> Path:
    """Write ``reporting.json`` atomically (the one settings writer)."""
    from app import settings as loader

    return loader.save_settings(config_dir, SETTINGS_FILE, settings)
