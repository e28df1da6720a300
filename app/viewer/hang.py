"""Hanging a study (Qt-free): the facts the rules need, read from the cache, and the plan for them.

``plan_study`` runs off the main thread (it reads mammography headers for laterality and view);
the viewer widget then shows each cell of the plan (``open_cell``) and applies its window and mirror.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any, Optional, Sequence

from app.hanging import Cell, Plan, Protocol, SeriesFacts, StudyFacts, hang, protocols_for
from app.hanging.facts import image_facts
from app.hanging.rules import parse_layout
from app.viewer.loading import OpenedSeries, StudyContent, open_series
from app.viewer.presets import CT_PRESETS
from app.viewer.state import Window

log = logging.getLogger(__name__)

#: The user's hanging protocols, in the data dir's config folder (tried before the defaults).
USER_FILE = "hanging_protocols.json"
#: Series whose images are read for laterality / view (projection radiography: few, large images).
VIEWS_MODALITIES = frozenset({"MG", "CR", "DX"})
MAX_VIEW_IMAGES = 64


def study_facts(cache: Any, study: Any, series: list[Any], cancel: Optional[threading.Event] = None) -> StudyFacts:
    """StudyFacts of a cached study summary and its displayable series summaries."""
    facts = StudyFacts(study.study_instance_uid if study else "", study.study_date if study else "",
                       study.description if study else "", tuple(study.modalities) if study else (),
                       study.body_part if study else "")
    for s in series:
        sf = SeriesFacts(s.series_instance_uid, s.modality, s.description, s.body_part, s.series_number)
        if s.modality.upper() in VIEWS_MODALITIES and s.num_instances <= MAX_VIEW_IMAGES:
            sf.images = _images(cache, s.series_instance_uid, cancel)
        facts.series.append(sf)
    return facts


def _images(cache: Any, series_uid: str, cancel: Optional[threading.Event]) -> list[Any]:
    from app.dicom.codecs import DecodeError, read_dataset

    out = []
    for inst in cache.list_instances(series_uid):
        if cancel is not None and cancel.is_set():
            break
        try:
            out.append(image_facts(read_dataset(inst.path, stop_before_pixels=True)))
        except (DecodeError, OSError, ValueError, AttributeError) as exc:
            log.warning("hanging: cannot read the view of an image (%s)", type(exc).__name__)
    return out


def plan_study(cache: Any, content: StudyContent, user_file: Optional[Path], *,
               cancel: Optional[threading.Event] = None) -> tuple[Plan, str]:
    """The hanging plan of an opened study (user rules first), and a notice about a bad user file."""
    protocols, notice = protocols_for(user_file)
    current = study_facts(cache, cache.get_study(content.study_uid), content.series, cancel)
    priors = [study_facts(cache, summary, series, cancel) for summary, series in content.priors]
    return hang(protocols, current, priors), notice


def preset_window(name: str, modality: str) -> tuple[Optional[Window], str]:
    """(window, label) of a preset name; (None, "") = the header's window (unknown names, non-CT presets)."""
    if name.lower() == "auto":
        return (float("nan"), float("nan")), "Auto"
    if modality.upper() == "CT":
        for preset, window in CT_PRESETS:
            if preset.lower() == name.lower():
                return window, preset
    return None, ""


def preset_name_of(window: Optional[Window], modality: str) -> str:
    """The CT preset a window is (for "save this layout"), "" otherwise."""
    if window is None or modality.upper() != "CT":
        return ""
    return next((name for name, w in CT_PRESETS if w == tuple(window)), "")


def open_cell(cache: Any, series_uid: str, summary: Any, sop_uid: str = "", *,
              progress: Any = None, cancel: Optional[threading.Event] = None) -> OpenedSeries:
    """open_series, showing image ``sop_uid`` first when given (a mammography view of a multi-image series)."""
    opened = open_series(cache, series_uid, summary, progress=progress, cancel=cancel)
    if sop_uid and sop_uid in opened.info.sop_uids:
        index = opened.info.sop_uids.index(sop_uid)
        if index != opened.first:
            opened = open_series(cache, series_uid, summary, index, progress=progress, cancel=cancel)
    return opened


def content_and_plan(cache: Any, study_uid: str, with_priors: bool, user_file: Optional[Path], *,
                     progress: Any = None, cancel: Optional[threading.Event] = None) -> tuple[StudyContent, Plan, str]:
    """What opening a study needs off the main thread: its content (series, priors, PR/SEG) and its plan."""
    from app.viewer.loading import study_content

    content = study_content(cache, study_uid, with_priors, progress=progress, cancel=cancel)
    plan, notice = plan_study(cache, content, user_file, cancel=cancel)
    return content, plan, notice


def sharing(info: Any, frames: Any, cell: Any = None) -> OpenedSeries:
    """A series already open elsewhere, shown again (same frames) at the cell's image or the middle one."""
    sop = cell.sop_uid if cell is not None else ""
    first = info.sop_uids.index(sop) if sop and sop in info.sop_uids else info.frame_count // 2
    return OpenedSeries(info, frames, first)


def user_protocols_file(config_dir: Path) -> Path:
    return Path(config_dir) / USER_FILE


def relayout(plan: Plan, layout: Optional[str]) -> Plan:
    """``plan`` in another ``layout``: the cells of all its pages, in order, fill the first page."""
    if layout is None or layout == plan.layout:
        return plan
    rows, cols = parse_layout(layout)
    cells = [c for page in plan.pages for c in page][: rows * cols]
    return replace(plan, layout=layout, pages=[cells + [Cell() for _ in range(rows * cols - len(cells))]])


def given_series_plan(content: StudyContent, series_uids: Sequence[str], layout: Optional[str] = None) -> Plan:
    """The given series first (the header's window), then the study's others in order; the layout fits
    the given ones unless ``layout``. LookupError naming series the study does not have."""
    uids = [s.series_instance_uid for s in content.series]
    missing = [u for u in series_uids if u not in uids]
    if missing:
        raise LookupError(f"series not in study: {', '.join(missing)}")
    n = len(series_uids)
    layout = layout or ("1x1" if n == 1 else "1x2" if n == 2 else "2x2")
    order = [*series_uids, *(u for u in uids if u not in series_uids)]
    rows, cols = parse_layout(layout)
    cells = [Cell(u, study_uid=content.study_uid) for u in order][: rows * cols]
    return Plan(Protocol("Series given", layout=layout, reference_lines=True), layout, [cells + [Cell()] * (rows * cols - len(cells))])


def apply_cell_to_model(model: Any, cell: Optional[Cell]) -> None:
    """A cell's window preset and mirror on a viewport model that just got its series."""
    if cell is None or model.series is None:
        return
    window, name = preset_window(cell.window, model.series.modality)
    if window is not None:
        model.state.set_window(window, name)
    if cell.flip:
        model.state.flip_horizontal()


def open_cells(cache: Any, content: StudyContent, cells: Sequence[Cell], *,
               cancel: Optional[threading.Event] = None) -> list[Optional[OpenedSeries]]:
    """What each cell shows, as the viewer opens it: a series shown twice is decoded once (``sharing``)."""
    summaries = {s.series_instance_uid: s for s in (*content.series, *(s for _, g in content.priors for s in g))}
    opened: dict[str, OpenedSeries] = {}
    out: list[Optional[OpenedSeries]] = []
    for cell in cells:
        if not cell.series_uid:
            out.append(None)
        elif cell.series_uid in opened:
            first = opened[cell.series_uid]
            out.append(sharing(first.info, first.frames, cell))
        else:
            out.append(opened.setdefault(cell.series_uid, open_cell(
                cache, cell.series_uid, summaries.get(cell.series_uid), cell.sop_uid, cancel=cancel)))
    return out
