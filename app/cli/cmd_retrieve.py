"""`telerad retrieve NODE STUDY_UID [--series UID]`: fetch a study into the cache (only what is missing)."""

from __future__ import annotations

import argparse
import json
import sys

from app.cli.context import node_arg, user_name, workstation
from app.cli.progress import TerminalProgress, cancel_on_sigint


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("node")
    parser.add_argument("study", metavar="STUDY_UID")
    parser.add_argument("--series", metavar="UID", help="only this series")
    parser.add_argument("--method", choices=["get", "move", "dicomweb"], help="default: the node's setting")
    parser.add_argument("--all", action="store_true", help="fetch everything, even instances already cached")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def _run(args, cfg, node, cache, audit, cancel):  # type: ignore[no-untyped-def]
    from app.network.retrieve import retrieve_study
    from app.network.sink import cache_sink, local_instance_uids

    on_stored = cache_sink(cache)
    have = set() if args.all else local_instance_uids(cache, args.study)
    method = args.method or node.retrieve
    progress = TerminalProgress("retrieve")
    if method == "dicomweb":
        from app.network.dicomweb import DicomWebClient

        with DicomWebClient.for_node(node) as client:
            return client.retrieve_study(args.study, on_stored, series_uid=args.series, have=have, node_name=node.name,
                                         audit=audit, user=user_name(), cancel=cancel, progress=progress)
    scp = None
    if method == "move":
        from app.network.scp import StorageSCP

        scp = StorageSCP(cfg, on_stored, audit=audit).start()
    try:
        return retrieve_study(node, cfg.local.ae_title, args.study, on_stored=on_stored, scp=scp,
                              series_uid=args.series, have=have, method=method, audit=audit, user=user_name(),
                              cancel=cancel, progress=progress)
    finally:
        if scp is not None:
            scp.stop()


def execute(args: argparse.Namespace) -> int:
    from app.network.nodes import NodeError
    from app.network.scu import NetworkError
    from app.network.sink import mark_completeness
    from app.tasks import Cancelled

    try:
        cfg, node = node_arg(args)
    except NodeError as exc:
        print(f"telerad retrieve: {exc}", file=sys.stderr)
        return 2
    ws = workstation(args)
    cache, audit = ws.cache, ws.audit
    code, result = 0, None
    try:
        with cancel_on_sigint() as cancel:
            try:
                result = _run(args, cfg, node, cache, audit, cancel)
            except Cancelled as exc:
                result, code = getattr(exc, "result", None), 130
            except (NetworkError, OSError, ValueError) as exc:
                print(f"telerad retrieve: {exc}", file=sys.stderr)
                code = 1
        if result is not None:
            mark_completeness(cache, args.study, result.incomplete, result.expected,
                              f"retrieve from {node.name} ended short")
    finally:
        ws.close()
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
