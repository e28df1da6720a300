"""`telerad send NODE (UID|PATH)...`: C-STORE cached studies/series/instances or files to a node."""

from __future__ import annotations

import argparse
import sys

from app.cli.context import unknown_node, workstation
from app.cli.progress import TerminalProgress, cancel_on_sigint


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("node")
    parser.add_argument("items", nargs="+", metavar="UID|PATH",
                        help="study, series or SOP Instance UID from the cache, or a file/folder")


def execute(args: argparse.Namespace) -> int:
    from app.network.scu import NetworkError
    from app.tasks import Cancelled

    with workstation(args) as ws:
        if unknown_node(ws, args.node, "send"):
            return 2
        try:
            with cancel_on_sigint() as cancel:
                result = ws.send(args.node, args.items, progress=TerminalProgress("send"), cancel=cancel)
        except LookupError as exc:
            print(f"telerad send: {exc}", file=sys.stderr)
            return 2
        except Cancelled:
            print("send cancelled", file=sys.stderr)
            return 130
        except (NetworkError, OSError) as exc:
            print(f"telerad send: {exc}", file=sys.stderr)
            return 1
    print(f"{len(result.sent)} sent, {len(result.failed)} failed")
    for path, reason in result.failed.items():
        print(f"  {path}: {reason}", file=sys.stderr)
    return 0 if not result.failed else 1
