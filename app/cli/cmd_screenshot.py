"""`telerad screenshot STUDY_UID --out PNG [--layout 2x2] [--series UID] [--mpr]`: render a view headless.

The study is hung as the window hangs it (``app.viewer.hang``: the user's and the default hanging protocols,
priors, window presets, mirroring; ``--layout`` re-lays the plan out), or the given series first;
each viewport shows the image the window shows first, with overlays, rendered by offscreen VTK (no X needed).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from app.cli.context import window_arg, workstation


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("study", metavar="STUDY_UID", help="study instance UID in the cache")
    parser.add_argument("--out", required=True, type=Path, metavar="PNG", help="PNG file to write")
    parser.add_argument("--layout", metavar="RxC", help="viewport grid, e.g. 1x1, 1x2, 2x2 (default: hanging protocol)")
    parser.add_argument("--series", action="append", default=[], metavar="UID",
                        help="series to show first (repeatable); the rest of the grid is filled in order")
    parser.add_argument("--size", default="1024x1024", metavar="WxH", help="image size in pixels (default 1024x1024)")
    parser.add_argument("--window", type=window_arg, metavar="C,W", help="window centre,width for every viewport")
    parser.add_argument("--no-priors", action="store_true", help="do not hang prior studies")
    parser.add_argument("--mpr", action="store_true", help="the MPR layout (axial, coronal, sagittal, 3D) instead")


def _size(text: str) -> tuple[int, int]:
    w, h = (int(v) for v in text.lower().split("x"))
    if not (16 <= w <= 8192 and 16 <= h <= 8192):
        raise ValueError("size out of range")
    return w, h


def _plan(cache: Any, ws: Any, args: argparse.Namespace, content: Any) -> Any:
    """The window's hanging plan (user rules first), re-laid out by ``--layout``; or ``--series`` first."""
    from app.viewer.hang import given_series_plan, plan_study, relayout, user_protocols_file

    if args.series:
        return given_series_plan(content, args.series, args.layout)
    plan, notice = plan_study(cache, content, user_protocols_file(ws.paths.config_dir))
    if notice:
        print(f"telerad screenshot: {notice}", file=sys.stderr)
    return relayout(plan, args.layout)


def _models(cache: Any, content: Any, plan: Any, window: Any) -> list[Any]:
    """A viewport model per cell of the plan's first page, opened, windowed and mirrored as the viewer does."""
    from app.viewer.hang import apply_cell_to_model, open_cells
    from app.viewer.loading import attach_extras
    from app.viewer.measurements import StudyAnnotations
    from app.viewer.viewport_model import ViewportModel

    models: list[Any] = []
    for cell, opened in zip(plan.cells, open_cells(cache, content, plan.cells)):
        if opened is None:
            models.append(None)
            continue
        model = ViewportModel(StudyAnnotations(opened.info.study_uid))
        model.set_series(opened.info, opened.frames, opened.first)
        apply_cell_to_model(model, cell)
        attach_extras(model, content)
        if window:
            model.state.set_window(window)
        models.append(model)
    return models


def execute(args: argparse.Namespace) -> int:
    from app.dicom.codecs import DecodeError
    from app.viewer.layout import parse_layout
    from app.viewer.loading import study_content
    from app.viewer.offscreen_view import render_layout, save_png

    try:
        width, height = _size(args.size)
        if args.layout:
            parse_layout(args.layout)
    except ValueError as exc:
        print(f"telerad screenshot: {exc}", file=sys.stderr)
        return 2
    if args.mpr:
        return _mpr(args, width, height)
    ws = workstation(args)
    try:
        cache = ws.cache
        if cache.get_study(args.study) is None:
            print(f"telerad screenshot: study {args.study} is not in the cache", file=sys.stderr)
            return 1
        content = study_content(cache, args.study, not args.no_priors)
        if not content.series:
            print("telerad screenshot: the study has no displayable image series", file=sys.stderr)
            return 1
        plan = _plan(cache, ws, args, content)
        models = _models(cache, content, plan, args.window)
    except (LookupError, DecodeError) as exc:
        print(f"telerad screenshot: {exc}", file=sys.stderr)
        return 1
    finally:
        ws.close()
    from app.viewer.sync import align_models

    # as the window: each series at the image it shows first (synced scrolling keeps that offset)
    align_models(models, sync=False, lines=plan.protocol.reference_lines)
    rows, cols = parse_layout(plan.layout)
    save_png(render_layout(models, rows, cols, width, height), args.out)
    with workstation(args) as ws:
        ws.record_access(args.study, "screenshot")
    print(f"wrote {args.out} ({plan.protocol.name}, {plan.layout})")
    return 0


def _mpr(args: argparse.Namespace, width: int, height: int) -> int:
    """The MPR layout of the study's largest volume series, rendered offscreen."""
    from app.dicom.codecs import DecodeError
    from app.dicom.geometry import GeometryError
    from app.viewer.mpr.headless import render_mpr_png

    with workstation(args) as ws:
        try:
            if ws.cache.get_study(args.study) is None:
                print(f"telerad screenshot: study {args.study} is not in the cache", file=sys.stderr)
                return 1
            render_mpr_png(ws.cache, args.study, args.out, size=(width, height))
        except (ValueError, GeometryError, DecodeError) as exc:
            print(f"telerad screenshot: {exc}", file=sys.stderr)
            return 1
        ws.record_access(args.study, "screenshot --mpr")
    print(f"wrote {args.out}")
    return 0


def _event() -> object:
    from app.audit import events

    return events.INSTANCES_ACCESSED
