"""`telerad check [--json]`: walk the whole store against the index (Cache.open does so only after a crash)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from app.cli.context import workstation
from app.cli.progress import TerminalProgress, cancel_on_sigint


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print what was found and repaired as JSON")


def execute(args: argparse.Namespace) -> int:
    from app.tasks import Cancelled

    with workstation(args) as ws, cancel_on_sigint() as cancel:
        try:
            report = ws.check_cache(progress=TerminalProgress("check"), cancel=cancel)
        except Cancelled:
            print("check cancelled: what was repaired so far is kept", file=sys.stderr)
            return 130
    found = asdict(report)
    if args.json:
        print(json.dumps(found, indent=2))
    else:
        repaired = {k: v for k, v in found.items() if v and k not in ("walked", "integrity", "unclean_shutdown")}
        print(f"{report.walked} file(s) checked; index {report.integrity}; "
              + (", ".join(f"{k.replace('_', ' ')} {v}" for k, v in repaired.items()) or "nothing to repair"))
    return 0
