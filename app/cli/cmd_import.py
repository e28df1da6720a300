"""`telerad import PATH...`: import files, folders, ZIPs and DICOMDIR media into the cache."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app.cli.context import open_audit, open_cache, user_name
from app.cli.progress import TerminalProgress, cancel_on_sigint


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="file, folder, .zip or DICOMDIR")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def execute(args: argparse.Namespace) -> int:
    from app.importer import import_paths
    from app.tasks import Cancelled

    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        print(f"telerad import: no such file or folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    cache, audit = open_cache(args), open_audit(args)
    cancelled = False
    try:
        with cancel_on_sigint() as cancel:
            try:
                summary = import_paths(
                    cache, args.paths, progress=TerminalProgress("import"), cancel=cancel,
                    audit=audit, user=user_name(),
                )
            except Cancelled as exc:
                summary, cancelled = getattr(exc, "summary", None), True
    finally:
        cache.close()
    if summary is not None:
        print(json.dumps(summary.as_dict(), indent=2) if args.json else summary.format())
    if cancelled:
        print("import cancelled: everything listed above is stored; nothing else was written", file=sys.stderr)
        return 130
    return 0
