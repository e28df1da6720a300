"""`telerad screenshot STUDY_UID --out PNG [--layout 2x2] [--series UID] [--mpr]`: render a view headless.

The study is hung as in the viewer (hanging protocol, priors), or the given series first;
each viewport shows its middle frame with overlays, rendered by offscreen VTK (no X needed).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

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


def _picks(cache: object, args: argparse.Namespace, content: object) -> tuple[str, list]:
    from app.viewer.layout import assign, choose_protocol, default_protocols, parse_layout

    series = content.series  # type: ignore[attr-defined]
    if args.series:
        by_uid = {s.series_instance_uid: s for s in series}
        first = [by_uid[u] for u in args.series if u in by_uid]
        missing = [u for u in args.series if u not in by_uid]
        if missing:
            raise LookupError(f"series not in study: {', '.join(missing)}")
        layout = args.layout or ("1x1" if len(first) == 1 else "1x2" if len(first) == 2 else "2x2")
        rest = [s for s in series if s not in first]
        rows, cols = parse_layout(layout)
        return layout, (first + rest + [None] * rows * cols)[: rows * cols]
    protocol = choose_protocol(default_protocols(), content.modalities, content.body_part)  # type: ignore[attr-defined]
    priors = [s for _, s in content.priors]  # type: ignore[attr-defined]
    if not priors and not args.layout:
        protocol.layout = "1x1"
    if args.layout:
        protocol.layout = args.layout
    return protocol.layout, assign(protocol, series, priors)


def execute(args: argparse.Namespace) -> int:
    from app.dicom.codecs import DecodeError
    from app.viewer.layout import parse_layout
    from app.viewer.loading import attach_extras, open_series, study_content
    from app.viewer.measurements import StudyAnnotations
    from app.viewer.offscreen_view import render_layout, save_png
    from app.viewer.viewport_model import ViewportModel

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
        layout, picks = _picks(cache, args, content)
        models = []
        for summary in picks:
            if summary is None:
                models.append(None)
                continue
            opened = open_series(cache, summary.series_instance_uid, summary)
            model = ViewportModel(StudyAnnotations(opened.info.study_uid))
            model.set_series(opened.info, opened.frames, opened.first)
            attach_extras(model, content)
            if args.window:
                model.state.set_window(args.window)
            models.append(model)
    except (LookupError, DecodeError) as exc:
        print(f"telerad screenshot: {exc}", file=sys.stderr)
        return 1
    finally:
        ws.close()
    from app.viewer.sync import align_models

    align_models(models)
    rows, cols = parse_layout(layout)
    save_png(render_layout(models, rows, cols, width, height), args.out)
    with workstation(args) as ws:
        ws.record_access(args.study, "screenshot")
    print(f"wrote {args.out}")
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
