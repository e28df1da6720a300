"""Site security settings, ``<config_dir>/security.json`` (read through ``app.settings``; every key optional):

```json
{"require_sign_in": false,     // true: the window never runs without a signed-in user (no lone-reader mode)
 "lock_after_minutes": 10}     // automatic lock after this much idle time (no keyboard or mouse); 0: never
```"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

SETTINGS_FILE = "security.json"


@dataclass(frozen=True)
class SecuritySettings:
    require_sign_in: bool = False
    lock_after_minutes: float = 10.0

    def __post_init__(self) -> None:
        if not isinstance(self.require_sign_in, bool):
            raise ValueError("require_sign_in must be true or false")
        if isinstance(self.lock_after_minutes, bool) or not isinstance(self.lock_after_minutes, (int, float)) \
                or not 0 <= self.lock_after_minutes <= 24 * 60:
            raise ValueError("lock_after_minutes must be a number of minutes from 0 (never) to 1440")

    @property
    def lock_after_ms(self) -> int:
        return int(self.lock_after_minutes * 60_000)

    def to_json(self) -> dict[str, Any]:
        return {"require_sign_in": self.require_sign_in, "lock_after_minutes": self.lock_after_minutes}


def _from_json(data: dict[str, Any]) -> SecuritySettings:
    unknown = set(data) - {"require_sign_in", "lock_after_minutes"}
    if unknown:
        raise ValueError(f"unknown key {sorted(unknown)[0]} (known: require_sign_in, lock_after_minutes)")
    return SecuritySettings(require_sign_in=data.get("require_sign_in", False),
                            lock_after_minutes=data.get("lock_after_minutes", 10.0))


def load_security_settings(config_dir: Path) -> SecuritySettings:
    """``security.json`` (defaults when absent); SettingsError naming the file and the key when invalid."""
    from app.settings import load_settings

    return load_settings(config_dir, SETTINGS_FILE, SecuritySettings, _from_json)


def save_security_settings(config_dir: Path, settings: SecuritySettings) -> Path:
    from app.settings import save_settings

    return save_settings(config_dir, SETTINGS_FILE, settings)
