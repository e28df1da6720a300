"""Match a study against the rules and plan what each viewport shows (pure functions)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional, Sequence

from app.hanging.facts import ImageFacts, SeriesFacts, StudyFacts
from app.hanging.rules import Protocol, ViewportRule, parse_layout, search

#: When no rule applies: the current study's first series alone.
FALLBACK = Protocol("Default", layout="1x1", viewports=[ViewportRule()], source="built-in")
_FACING = {"R": "P", "L": "A"}  # rows run towards the chest wall: R images face left, L images face right


@dataclass
class Cell:
    """One viewport of a plan: the series (and image) to show, its window and whether to mirror it."""

    series_uid: Optional[str] = None
    sop_uid: str = ""  # a particular image of the series ("" = the series' middle image)
    window: str = ""  # preset name ("" = the header's window)
    flip: bool = False  # flip horizontally (mammography back to back)
    study_uid: str = ""
    role: str = "current"


@dataclass
class Plan:
    protocol: Protocol
    layout: str
    pages: list[list[Cell]] = field(default_factory=list)  # each page fills the layout's viewports

    @property
    def cells(self) -> list[Cell]:
        return self.pages[0] if self.pages else []


def counted_priors(protocol: Protocol, current: StudyFacts, priors: Sequence[StudyFacts]) -> list[StudyFacts]:
    """The priors a protocol counts and hangs: all, or those no older than ``max_prior_age_days``."""
    limit = protocol.match.max_prior_age_days
    if limit is None:
        return list(priors)
    return [p for p in priors if (age := p.age_days(current)) is None or age <= limit]


def matches(protocol: Protocol, current: StudyFacts, priors: Sequence[StudyFacts]) -> bool:
    m = protocol.match
    modalities = set(current.modalities) | {s.modality for s in current.series if s.modality}
    if m.modality and not any(re.fullmatch(m.modality, mod, re.IGNORECASE) for mod in modalities):
        return False
    bodies = [b for b in (current.body_part, *(s.body_part for s in current.series)) if b]
    descriptions = [s.description for s in current.series if s.description]
    if m.body_part and not any(search(m.body_part, b) for b in bodies):
        return False
    if m.study_description and not search(m.study_description, current.description):
        return False
    if m.series_description and not any(search(m.series_description, d) for d in descriptions):
        return False
    if m.anatomy and not any(search(m.anatomy, t) for t in (*bodies, current.description, *descriptions) if t):
        return False
    n = len(counted_priors(protocol, current, priors))
    return n >= m.min_priors and (m.max_priors is None or n <= m.max_priors)


def choose(protocols: Sequence[Protocol], current: StudyFacts, priors: Sequence[StudyFacts] = ()) -> Protocol:
    """The first protocol that matches (user rules come first), else a single viewport."""
    return next((p for p in protocols if matches(p, current, priors)), FALLBACK)


def plan(protocol: Protocol, current: StudyFacts, priors: Sequence[StudyFacts] = ()) -> Plan:
    """What each viewport of each page shows; pages after the first that would stay empty are dropped."""
    rows, cols = parse_layout(protocol.layout)
    per_page = rows * cols
    pool = counted_priors(protocol, current, priors)
    cells = [_cell(vp, current, pool, protocol.mirror) for vp in protocol.viewports] or [Cell()]
    cells += [Cell() for _ in range(-len(cells) % per_page)]
    pages = [cells[i:i + per_page] for i in range(0, len(cells), per_page)]
    pages = [pages[0], *(p for p in pages[1:] if any(c.series_uid for c in p))]
    return Plan(protocol, protocol.layout, pages)


def hang(protocols: Sequence[Protocol], current: StudyFacts, priors: Sequence[StudyFacts] = ()) -> Plan:
    return plan(choose(protocols, current, priors), current, priors)


def _cell(vp: ViewportRule, current: StudyFacts, priors: Sequence[StudyFacts], mirror: bool) -> Cell:
    study = current if vp.role == "current" else priors[vp.prior - 1] if 0 < vp.prior <= len(priors) else None
    empty = Cell(window=vp.window, role=vp.role)
    if study is None:
        return empty
    candidates = [s for s in study.series if _series_fits(vp, s)]
    if vp.laterality or vp.view:  # one image of the study: never a fallback (the wrong breast is worse than none)
        for s in candidates:
            img = next((i for i in s.images if _image_fits(vp, i)), None)
            if img is not None:
                flip = mirror and _faces_away(img)
                return Cell(s.uid, img.sop_uid, vp.window, flip, study.uid, vp.role)
        return empty
    chosen = candidates[0] if candidates else (study.series[0] if vp.fallback and study.series else None)
    return Cell(chosen.uid, "", vp.window, False, study.uid, vp.role) if chosen else empty


def _faces_away(img: ImageFacts) -> bool:
    """The image's rows run away from the chest wall side it should show towards the middle."""
    want, row = _FACING.get(img.laterality, ""), img.row_direction[:1]
    return bool(want) and row in ("A", "P") and row != want


def _series_fits(vp: ViewportRule, s: SeriesFacts) -> bool:
    return ((not vp.modality or re.fullmatch(vp.modality, s.modality or "", re.IGNORECASE) is not None)
            and search(vp.series_description, s.description)
            and not (vp.exclude and search(vp.exclude, s.description)))


def _image_fits(vp: ViewportRule, img: ImageFacts) -> bool:
    return ((not vp.laterality or img.laterality == vp.laterality.upper())
            and (not vp.view or re.fullmatch(vp.view, img.view, re.IGNORECASE) is not None))
