"""The rule model and its JSON file (see docs/hanging_protocols.md for the format).

Patterns are regular expressions searched case-insensitively (``"t2"`` matches "AX T2 TSE").
A file is ``{"version": 1, "protocols": [...]}``; the user's file is tried before the shipped defaults.
"""

from __future__ import annotations

import json
import re
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Optional, Sequence

DEFAULTS_FILE = Path(__file__).with_name("defaults.json")
VERSION = 1


class ProtocolFileError(ValueError):
    """A rules file that cannot be read (bad JSON, unknown key, bad pattern): the message says where."""


def search(pattern: str, text: str) -> bool:
    """Case-insensitive regex search; an empty pattern matches anything."""
    return not pattern or re.search(pattern, text or "", re.IGNORECASE) is not None


def parse_layout(text: str) -> tuple[int, int]:
    """'2x3' -> (2 rows, 3 columns); ValueError for anything else."""
    try:
        rows, cols = (int(v) for v in str(text).lower().split("x"))
    except ValueError:
        raise ValueError(f"layout must look like 2x2, not {text!r}") from None
    if not (1 <= rows <= 4 and 1 <= cols <= 4):
        raise ValueError(f"layout {text} out of range (1x1 .. 4x4)")
    return rows, cols


@dataclass
class Match:
    """When a protocol applies. Every field given must hold; empty fields are ignored."""

    modality: str = ""  # pattern one of the study's modalities must match in full, e.g. "CT" or "CR|DX"
    body_part: str = ""  # pattern searched in the study's and its series' Body Part Examined
    study_description: str = ""
    series_description: str = ""  # some series' description must match
    anatomy: str = ""  # searched in body part, study description and series descriptions (any of them)
    min_priors: int = 0  # priors counted: other studies of the patient no older than max_prior_age_days
    max_priors: Optional[int] = None
    max_prior_age_days: Optional[int] = None


@dataclass
class ViewportRule:
    """What one viewport shows: a series of the current study or of a prior, with a window."""

    role: str = "current"  # "current" or "prior"
    prior: int = 1  # with role "prior": 1 = the most recent prior
    modality: str = ""  # pattern, full match
    series_description: str = ""  # pattern searched in the series description
    exclude: str = ""  # pattern: series whose description matches are skipped
    laterality: str = ""  # "R" / "L": the image's ImageLaterality (mammography)
    view: str = ""  # pattern on the image's view: ViewPosition or View Code Sequence ("CC", "MLO")
    window: str = ""  # preset name ("Brain", "Stroke", "Lung", ...); "" = the header's window
    fallback: bool = True  # no series matches: show the study's first series rather than nothing


@dataclass
class Protocol:
    name: str
    match: Match = field(default_factory=Match)
    layout: str = "1x1"
    viewports: list[ViewportRule] = field(default_factory=list)  # beyond rows x cols: the next pages
    sync: bool = True  # synchronised scrolling (W/L dragging linked between viewports hung with the same window)
    reference_lines: bool = False
    mirror: bool = False  # R images face left, L images face right (breasts back to back)
    source: str = field(default="", compare=False)  # "user" / "default": where it was read

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("source")
        empty = asdict(Match())
        data["match"] = {k: v for k, v in data["match"].items() if v != empty[k]}
        defaults = asdict(ViewportRule())
        data["viewports"] = [{k: v for k, v in vp.items() if v != defaults[k]} for vp in data["viewports"]]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "") -> "Protocol":
        if "modalities" in data:  # a protocol saved by an older version (app.viewer.layout format)
            data = _from_legacy(data)
        _known(data, cls, "protocol")
        match = data.get("match") or {}
        _known(match, Match, f"protocol {data.get('name')!r} match")
        vps = []
        for vp in data.get("viewports") or []:
            _known(vp, ViewportRule, f"protocol {data.get('name')!r} viewport")
            vps.append(ViewportRule(**vp))
        kwargs = {k: v for k, v in data.items() if k not in ("match", "viewports", "source")}
        protocol = cls(**kwargs, match=Match(**match), viewports=vps, source=source)
        protocol.check()
        return protocol

    def check(self) -> None:
        """ProtocolFileError for a bad layout, role or pattern."""
        where = f"protocol {self.name!r}"
        for obj in (self, self.match, *self.viewports):
            _typed(obj, where)
        try:
            parse_layout(self.layout)
        except ValueError as exc:
            raise ProtocolFileError(f"{where}: {exc}") from None
        patterns = [getattr(self.match, f.name) for f in fields(Match) if isinstance(getattr(self.match, f.name), str)]
        for vp in self.viewports:
            if vp.role not in ("current", "prior"):
                raise ProtocolFileError(f"{where}: role must be current or prior, not {vp.role!r}")
            patterns += [vp.modality, vp.series_description, vp.exclude, vp.view]
        for p in patterns:
            try:
                re.compile(p)
            except re.error as exc:
                raise ProtocolFileError(f"{where}: bad pattern {p!r}: {exc}") from None


def _typed(obj: Any, where: str) -> None:
    """ProtocolFileError for a value of the wrong JSON type (a number given as text, ...)."""
    for f in fields(obj):
        value, default = getattr(obj, f.name), f.default
        if f.name in ("match", "viewports", "source") or default is MISSING:
            continue
        whole = isinstance(value, int) and not isinstance(value, bool)
        if isinstance(default, bool):
            ok, want = isinstance(value, bool), "true or false"
        elif default is None or isinstance(default, int):
            ok, want = whole or (default is None and value is None), "a whole number"
        else:
            ok, want = isinstance(value, str), "text"
        if not ok:
            raise ProtocolFileError(f"{where}: {f.name} must be {want}, not {value!r}")


def _known(data: Any, cls: type, where: str) -> None:
    if not isinstance(data, dict):
        raise ProtocolFileError(f"{where}: expected an object, got {type(data).__name__}")
    unknown = set(data) - {f.name for f in fields(cls)} - {"source"}
    if unknown:
        raise ProtocolFileError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    if cls is Protocol and not data.get("name"):
        raise ProtocolFileError(f"{where}: every protocol needs a name")


def _from_legacy(data: dict[str, Any]) -> dict[str, Any]:
    mods = "|".join(re.escape(m) for m in data.get("modalities") or ())
    vps = [{"role": "prior" if r.get("prior") else "current", "prior": max(int(r.get("prior") or 1), 1),
            "modality": re.escape(r.get("modality") or ""),
            "series_description": "".join(f"(?=.*{re.escape(w)})" for w in (r.get("description") or "").split())}
           for r in data.get("viewports") or []]
    return {"name": data["name"], "layout": data.get("layout", "1x1"), "sync": bool(data.get("sync", True)),
            "match": {"modality": mods, "body_part": re.escape(data.get("body_part") or "")}, "viewports": vps}


def load_protocols(path: Path, source: str = "user") -> list[Protocol]:
    """Protocols of a rules file (empty when it does not exist); ProtocolFileError when it is bad."""
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolFileError(f"{path}: {exc}") from None
    items = data if isinstance(data, list) else data.get("protocols") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ProtocolFileError(f"{path}: expected {{\"version\": 1, \"protocols\": [...]}}")
    try:
        return [Protocol.from_dict(dict(item), source) for item in items]
    except (TypeError, ProtocolFileError) as exc:
        raise ProtocolFileError(f"{path}: {exc}") from None


def default_protocols() -> list[Protocol]:
    """The shipped defaults (defaults.json beside this module)."""
    return load_protocols(DEFAULTS_FILE, "default")


def protocols_for(user_file: Optional[Path]) -> tuple[list[Protocol], str]:
    """User protocols then defaults, and a notice ("" or why the user file was ignored)."""
    notice, user = "", []
    if user_file is not None:
        try:
            user = load_protocols(user_file)
        except ProtocolFileError as exc:
            notice = f"Hanging protocols file ignored: {exc}"
    return [*user, *default_protocols()], notice


def save_user_protocol(path: Path, protocol: Protocol) -> None:
    """Put ``protocol`` first in the user's file (replacing one of the same name); atomic write.

    A user file that cannot be read is kept aside as ``<name>.bad`` rather than overwritten."""
    try:
        others = [p for p in load_protocols(path) if p.name != protocol.name]
    except ProtocolFileError:
        path.replace(path.with_suffix(".json.bad"))
        others = []
    write_protocols(path, [protocol, *others])


def write_protocols(path: Path, protocols: Sequence[Protocol]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"version": VERSION, "protocols": [p.to_dict() for p in protocols]}, indent=2) + "\n",
                   encoding="utf-8")
    tmp.replace(path)
