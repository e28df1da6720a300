"""Viewport layouts, priors of a study, and the older simple protocols (modality -> layout, series).

The window hangs studies with the rule-based protocols of :mod:`app.hanging` (applied by
``app.viewer.hang`` / ``hanging_view``); the simple protocols below remain for ``telerad screenshot``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

from app.hanging.rules import parse_layout  # noqa: F401 (re-exported: the viewer's callers use it from here)

LAYOUTS = ("1x1", "1x2", "2x1", "2x2", "2x3", "3x3")



@dataclass
class SeriesRule:
    """Pick a series: from the current study or the ``prior``-th prior (1 = most recent)."""

    prior: int = 0
    modality: str = ""
    description: str = ""  # words that must all appear (case-insensitive)
    index: int = 0  # n-th matching series

    def pick(self, series: Sequence[Any]) -> Optional[Any]:
        words = self.description.lower().split()
        found = [s for s in series
                 if (not self.modality or s.modality.upper() == self.modality.upper())
                 and all(w in (s.description or "").lower() for w in words)]
        return found[self.index] if self.index < len(found) else None


@dataclass
class HangingProtocol:
    name: str
    modalities: tuple[str, ...] = ()
    body_part: str = ""
    layout: str = "1x1"
    viewports: list[SeriesRule] = field(default_factory=list)
    sync: bool = True

    def score(self, modalities: Sequence[str], body_part: str) -> int:
        """0 = does not apply; higher = more specific."""
        mods = {m.upper() for m in modalities}
        if self.modalities and not mods & {m.upper() for m in self.modalities}:
            return 0
        if self.body_part and self.body_part.upper() != (body_part or "").upper():
            return 0
        return 1 + bool(self.modalities) + 2 * bool(self.body_part)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["modalities"] = list(self.modalities)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "HangingProtocol":
        rules = [SeriesRule(**r) for r in data.get("viewports", [])]
        return cls(data["name"], tuple(data.get("modalities", ())), data.get("body_part", ""),
                   data.get("layout", "1x1"), rules, bool(data.get("sync", True)))


def default_protocols() -> list[HangingProtocol]:
    """Built-in protocols: cross-sectional current vs prior side by side; mammo 2x2; others 1x1."""
    return [
        HangingProtocol("CT/MR with prior", ("CT", "MR", "PT"), layout="1x2",
                        viewports=[SeriesRule(0), SeriesRule(1)]),
        HangingProtocol("Mammography", ("MG",), layout="2x2",
                        viewports=[SeriesRule(0, "MG", index=i) for i in range(4)]),
        HangingProtocol("Default", (), layout="1x1", viewports=[SeriesRule(0)]),
    ]


def choose_protocol(protocols: Sequence[HangingProtocol], modalities: Sequence[str], body_part: str) -> HangingProtocol:
    """Best-scoring protocol (earlier wins ties: user protocols come first)."""
    best, best_score = None, 0
    for p in protocols:
        s = p.score(modalities, body_part)
        if s > best_score:
            best, best_score = p, s
    return best or default_protocols()[-1]


def assign(protocol: HangingProtocol, current: Sequence[Any], priors: Sequence[Sequence[Any]]) -> list[Optional[Any]]:
    """Series summary for each viewport of the protocol's layout (None = leave empty).

    A rule whose study has no match falls back to the first series of that study; extra
    viewports without a rule take the current study's remaining series in order."""
    rows, cols = parse_layout(protocol.layout)
    out: list[Optional[Any]] = []
    used: set[str] = set()
    for i in range(rows * cols):
        chosen = None
        if i < len(protocol.viewports):
            rule = protocol.viewports[i]
            pool = current if rule.prior == 0 else (priors[rule.prior - 1] if rule.prior <= len(priors) else [])
            chosen = rule.pick(pool) or (pool[0] if pool and not rule.modality and not rule.description else None)
        else:
            chosen = next((s for s in current if s.series_instance_uid not in used), None)
        if chosen is not None:
            used.add(chosen.series_instance_uid)
        out.append(chosen)
    return out


def save_protocols(path: Path, protocols: Sequence[HangingProtocol]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps([p.to_dict() for p in protocols], indent=2))
    tmp.replace(path)


def load_protocols(path: Path) -> list[HangingProtocol]:
    """User protocols (empty when the file is missing)."""
    if not path.is_file():
        return []
    return [HangingProtocol.from_dict(d) for d in json.loads(path.read_text())]


def find_priors(cache: Any, study_uid: str) -> list[Any]:
    """Other studies of the same patient (same ID and issuer), most recent first."""
    current = cache.get_study(study_uid)
    if current is None or not current.patient_id:
        return []
    others = [s for s in cache.list_studies()
              if s.study_instance_uid != study_uid and s.patient_id == current.patient_id
              and s.issuer_of_patient_id == current.issuer_of_patient_id]
    return sorted(others, key=lambda s: (s.study_date or "", s.study_time or ""), reverse=True)
