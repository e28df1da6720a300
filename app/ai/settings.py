"""AI results settings, ``<config_dir>/ai.json`` (read through ``app.settings``; every key optional):

```json
{"tat_clock": "restart",          // restart: a suspected critical finding's STAT clock starts at the AI
                                  // result's arrival; keep: it runs from the study's arrival
 "raise_stat": ["ich", "lvo", "pe"]}   // the suspected findings that raise a study to STAT
```"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.ai.codes import CRITICAL_FINDINGS

SETTINGS_FILE = "ai.json"
CLOCK_RULES = ("restart", "keep")


@dataclass(frozen=True)
class AiSettings:
    tat_clock: str = "restart"
    raise_stat: tuple[str, ...] = tuple(f.key for f in CRITICAL_FINDINGS)

    def __post_init__(self) -> None:
        if self.tat_clock not in CLOCK_RULES:
            raise ValueError(f"tat_clock must be one of {', '.join(CLOCK_RULES)}, not {self.tat_clock!r}")
        known = {f.key for f in CRITICAL_FINDINGS}
        unknown = [k for k in self.raise_stat if k not in known]
        if unknown:
            raise ValueError(f"raise_stat: unknown finding {unknown[0]!r} (known: {', '.join(sorted(known))})")

    @property
    def restart_clock(self) -> bool:
        return self.tat_clock == "restart"

    def to_json(self) -> dict[str, Any]:
        return {"tat_clock": self.tat_clock, "raise_stat": list(self.raise_stat)}


def _from_json(data: dict[str, Any]) -> AiSettings:
    raise_stat = data.get("raise_stat", AiSettings.raise_stat)
    if not isinstance(raise_stat, (list, tuple)) or not all(isinstance(k, str) for k in raise_stat):
        raise ValueError("raise_stat must be a list of finding keys")
    return AiSettings(tat_clock=str(data.get("tat_clock", "restart")), raise_stat=tuple(raise_stat))


def load_ai_settings(config_dir: Path) -> AiSettings:
    """``ai.json`` (defaults when absent); SettingsError naming the file and the key when invalid."""
    from app.settings import load_settings

    return load_settings(config_dir, SETTINGS_FILE, AiSettings, _from_json)


def save_ai_settings(config_dir: Path, settings: AiSettings) -> Path:
    from app.settings import save_settings

    return save_settings(config_dir, SETTINGS_FILE, settings)
