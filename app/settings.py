"""The one settings loader: JSON files in the config folder, read and written one way, errors that name the
file and the key. The typed sections live with their domains (``app.network.nodes.NodeConfig``,
``app.reporting.settings.ReportingSettings``, ``app.reporting.letterhead.Letterhead``); the workstation
bundles them (``Workstation.settings()``) and the CLI and the window's dialogs save them through here."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, TypeVar

from app.config import private_dir

T = TypeVar("T")


class SettingsError(ValueError):
    """A settings file is unreadable or holds an invalid value; the message names the file and the key."""

    def __init__(self, path: Path, message: str, key: str = "") -> None:
        self.path, self.key = Path(path), key
        super().__init__(f"{path}: {key + ': ' if key else ''}{message}")


def read_json(path: Path) -> dict[str, Any] | None:
    """The object in ``path`` (None when the file does not exist); SettingsError if it is not a JSON object."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SettingsError(path, f"not readable as JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise SettingsError(path, "must hold a JSON object")
    return data


def parse(path: Path, data: dict[str, Any], build: Callable[[dict[str, Any]], T]) -> T:
    """``build(data)``, its errors turned into a SettingsError naming the file (and the key, when the message
    starts with it, as ``"hl7.port must be ..."`` does)."""
    try:
        return build(data)
    except SettingsError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        text = str(exc).strip("'\"")
        first = text.split(" ", 1)[0].rstrip(":")
        if first.replace(".", "").replace("_", "").isalnum() and first in _keys(data):
            raise SettingsError(path, text[len(first):].lstrip(": "), first) from exc
        raise SettingsError(path, text) from exc


def load_settings(config_dir: Path, file_name: str, default: Callable[[], T],
                  build: Callable[[dict[str, Any]], T]) -> T:
    """``<config_dir>/<file_name>`` built by ``build`` (``default()`` when the file is absent);
    SettingsError naming the file and the key when it is invalid."""
    path = Path(config_dir) / file_name
    data = read_json(path)
    return default() if data is None else parse(path, data, build)


def save_settings(config_dir: Path, file_name: str, obj: Any) -> Path:
    """Write ``obj.to_json()`` to ``<config_dir>/<file_name>`` atomically (owner-only)."""
    return write_json(Path(config_dir) / file_name, obj.to_json())


def _keys(data: Any, prefix: str = "") -> set[str]:
    found: set[str] = set()
    if isinstance(data, dict):
        for k, v in data.items():
            name = f"{prefix}{k}"
            found |= {name} | _keys(v, name + ".")
    return found


def write_json(path: Path, data: Any) -> Path:
    """Write ``data`` atomically (temp file, fsync, rename), readable by the owner only."""
    path = Path(path)
    private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, ensure_ascii=False)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
