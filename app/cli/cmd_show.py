"""`telerad show (UID|FILE) --png OUT`: render one image with its default or a given window."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from app.cli.context import window_arg, workstation

if TYPE_CHECKING:
    from app.store import Cache, InstanceRecord


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", metavar="UID|FILE", help="a file, or a SOP instance / series / study UID in the cache")
    parser.add_argument("--png", required=True, type=Path, metavar="OUT", help="PNG file to write")
    parser.add_argument("--frame", type=int, help="frame number, from 0 (default: the middle frame)")
    parser.add_argument("--window", type=window_arg, metavar="C,W", help="window centre and width, e.g. 40,80")


def execute(args: argparse.Namespace) -> int:
    from app.dicom.codecs import DecodeError
    from app.dicom.render import render_png

    source = Path(args.target)
    study_uid: Optional[str] = None
    if not source.is_file():
        found = _from_cache(args, args.target)
        if found is None:
            print(f"telerad show: {args.target} is neither a file nor a UID in the cache", file=sys.stderr)
            return 1
        source, study_uid = found
    try:
        render_png(source, args.png, frame=args.frame, window=args.window)
    except DecodeError as exc:
        print(f"telerad show: cannot render {args.target}: {exc}", file=sys.stderr)
        return 1
    if study_uid is not None:
        _audit_access(args, study_uid)
    print(f"wrote {args.png}")
    return 0


def _from_cache(args: argparse.Namespace, uid: str) -> Optional[tuple[Path, str]]:
    """The file for an instance UID, the middle image of a series, or of a study's largest series."""
    with workstation(args) as ws:
        cache = ws.cache
        instance = cache.get_instance(uid)
        if instance is not None:
            return instance.path, cache.study_of_series(instance.series_instance_uid)
        series_uid, study_uid = uid, cache.study_of_series(uid)
        if study_uid is None and cache.get_study(uid) is not None:
            study_uid = uid
            series = max(cache.list_series(uid), key=lambda s: s.num_instances, default=None)
            series_uid = series.series_instance_uid if series else ""
        chosen = _middle(cache, series_uid)
        return (chosen.path, study_uid) if chosen is not None and study_uid else None


def _middle(cache: "Cache", series_uid: str) -> Optional["InstanceRecord"]:
    """The middle instance of a series in instance-number order."""
    instances = sorted(cache.list_instances(series_uid), key=lambda i: (i.instance_number is None, i.instance_number or 0))
    return instances[len(instances) // 2] if instances else None


def _audit_access(args: argparse.Namespace, study_uid: str) -> None:
    with workstation(args) as ws:
        ws.record_access(study_uid, "show")
