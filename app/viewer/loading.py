"""Blocking loaders the viewer runs off the main thread (TaskBridge-compatible signatures).

Each takes ``progress`` and ``cancel`` keywords (app.tasks conventions). The first frame is
decoded by :func:`open_series` so it can be shown before the rest of the series loads.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Optional

from app.dicom.codecs import DecodeError
from app.tasks import ProgressFn, check_cancel, report
from app.viewer.frames import FrameSource
from app.viewer.series_data import SeriesInfo, image_series, load_series_info


@dataclass
class OpenedSeries:
    info: SeriesInfo
    frames: FrameSource
    first: int


@dataclass
class StudyContent:
    """A study's displayable series, its priors' series, and its PR / SEG objects."""

    study_uid: str
    series: list[Any]
    priors: list[tuple[Any, list[Any]]] = field(default_factory=list)  # (study summary, series)
    presentations: list[Any] = field(default_factory=list)
    segmentations: list[Any] = field(default_factory=list)
    modalities: tuple[str, ...] = ()
    body_part: str = ""


def open_series(cache: Any, series_uid: str, summary: Any = None, frame: Optional[int] = None, *,
                progress: Optional[ProgressFn] = None, cancel: Optional[threading.Event] = None) -> OpenedSeries:
    """Series info and its first displayed frame (the middle one unless ``frame``)."""
    info = load_series_info(cache, series_uid, summary)
    check_cancel(cancel)
    first = info.frame_count // 2 if frame is None else max(0, min(frame, info.frame_count - 1))
    frames = FrameSource(info)
    try:
        frames.get(first)
    except DecodeError:
        pass  # kept in frames.errors: the viewport shows a placeholder with the reason
    report(progress, 1, info.frame_count, "first image")
    return OpenedSeries(info, frames, first)


def load_rest(opened: OpenedSeries, *, progress: Optional[ProgressFn] = None,
              cancel: Optional[threading.Event] = None) -> OpenedSeries:
    """Load every other frame of an opened series (volumes on all cores)."""
    if opened.info.frame_count > 1:
        opened.frames.load_all(progress=progress, cancel=cancel, first=opened.first)
    return opened


def study_content(cache: Any, study_uid: str, with_priors: bool = True, *,
                  progress: Optional[ProgressFn] = None, cancel: Optional[threading.Event] = None) -> StudyContent:
    """Series lists (current + priors) and the study's presentation states / segmentations."""
    from app.viewer.layout import find_priors

    series = image_series(cache, study_uid)
    study = cache.get_study(study_uid)
    content = StudyContent(study_uid, series, modalities=tuple(study.modalities) if study else (),
                           body_part=study.body_part if study else "")
    if with_priors:
        for prior in find_priors(cache, study_uid):
            check_cancel(cancel)
            content.priors.append((prior, image_series(cache, prior.study_instance_uid)))
    _annotating_objects(cache, study_uid, content, cancel)
    return content


def _annotating_objects(cache: Any, study_uid: str, content: StudyContent, cancel: Optional[threading.Event]) -> None:
    from app.dicom.codecs import read_dataset
    from app.viewer.seg import read_segmentation

    for s in cache.list_series(study_uid):
        modality = s.modality.upper()
        if modality not in ("PR", "SEG"):
            continue
        for inst in cache.list_instances(s.series_instance_uid):
            check_cancel(cancel)
            try:
                ds = read_dataset(inst.path)
                if modality == "PR":
                    content.presentations.append(ds)
                else:
                    content.segmentations.append(read_segmentation(ds))
            except (DecodeError, ValueError, AttributeError, KeyError):
                continue  # a broken PR/SEG never stops the study from opening


def attach_extras(model: Any, content: Optional[StudyContent]) -> None:
    """Give a ViewportModel the study's SEG objects and the first GSPS referencing its image."""
    from app.viewer.gsps import presentation_for

    if content is None or model.series is None or content.study_uid != model.series.study_uid:
        return
    model.segmentations = list(content.segmentations)
    for pr in content.presentations:
        try:
            found = presentation_for(pr, model.frames.dataset(model.ref.path))
        except (ValueError, KeyError, AttributeError, TypeError):
            continue  # not applicable to this image
        if found is not None:
            model.presentation = found
            return
