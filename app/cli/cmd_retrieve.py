"""`telerad retrieve NODE STUDY_UID [--series UID]`: fetch a study into the cache (only what is missing)."""

from __future__ import annotations

import argparse
import logging
import json
import sys

from app.cli.context import unknown_node, workstation
from app.cli.progress import TerminalProgress, cancel_on_sigint


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("node")
    parser.add_argument("study", metavar="STUDY_UID")
    parser.add_argument("--series", metavar="UID", help="only this series")
    parser.add_argument("--method", choices=["get", "move", "dicomweb"], help="default: dicomweb (WADO-RS) when the node has a DICOMweb URL, else the node's "
                             "get/move; the window chooses the same way")
    parser.add_argument("--all", action="store_true", help="fetch everything, even instances already cached")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def execute(args: argparse.Namespace) -> int:
    from app.network.dicomweb import DicomWebError
    from app.network.scu import NetworkError
    from app.tasks import Cancelled

    code, result = 0, None
    with workstation(args) as ws:
        if unknown_node(ws, args.node, "retrieve"):
            return 2
        with cancel_on_sigint() as cancel:
            try:
                result = ws.retrieve(args.node, args.study, series_uid=args.series, method=args.method,
                                     refetch_all=args.all, progress=TerminalProgress("retrieve"), cancel=cancel)
            except Cancelled as exc:
                result, code = getattr(exc, "result", None), 130
            except (NetworkError, DicomWebError, OSError, ValueError) as exc:
                logging.getLogger(__name__).debug("retrieve failed", exc_info=True)
                print(f"telerad retrieve: {exc}", file=sys.stderr)
                code = 1
    if result is not None:
        summary = {"study": args.study, "method": result.method, "expected": result.expected,
                   "requested": result.requested, "received": len(result.received),
                   "outcomes": dict(result.outcomes), "failed": result.failed,
                   "incomplete": result.incomplete, "cancelled": result.cancelled}
        print(json.dumps(summary, indent=2) if args.json else
              f"{summary['received']} instance(s) received ({', '.join(f'{k} {v}' for k, v in result.outcomes.items()) or 'none'})"
              + ("; INCOMPLETE: run again to fetch the missing instances" if result.incomplete else ""))
        if code == 0 and result.incomplete:
            code = 1
    return code
