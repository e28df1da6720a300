"""`telerad import PATH...`: import files, folders, ZIPs and DICOMDIR media into the cache."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from app.cli.context import workstation
from app.cli.progress import TerminalProgress, cancel_on_sigint

if TYPE_CHECKING:
    from app.importer import ImportSummary


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="file, folder, .zip or DICOMDIR")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def execute(args: argparse.Namespace) -> int:
    from app.importer import ImportCancelled

    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        print(f"telerad import: no such file or folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    cancelled = False
    with workstation(args) as ws, cancel_on_sigint() as cancel:
        try:
            summary = ws.import_paths(args.paths, progress=TerminalProgress("import"), cancel=cancel)
        except ImportCancelled as exc:
            summary, cancelled = exc.summary, True
    print(json.dumps(summary_dict(summary), indent=2) if args.json else summary.format())
    if cancelled:
        print("import cancelled: everything listed above is stored; nothing else was written", file=sys.stderr)
        return 130
    return 0


def summary_dict(summary: "ImportSummary") -> dict[str, object]:
    """The JSON form of an import summary."""
    keys = ("seen", "imported", "duplicates", "quarantined", "skipped", "rejected", "cancelled", "seconds")
    out: dict[str, object] = {k: getattr(summary, k) for k in keys}
    for name in ("rejected_files", "quarantined_files", "skipped_files"):
        out[name] = [{"path": label, "reason": reason} for label, reason in getattr(summary, name)]
    out["studies"] = sorted(summary.studies)
    return out
