"""`telerad send NODE (UID|PATH)...`: C-STORE cached studies/series/instances or files to a node."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.cli.context import node_arg, workstation
from app.cli.progress import TerminalProgress, cancel_on_sigint


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("node")
    parser.add_argument("items", nargs="+", metavar="UID|PATH",
                        help="study, series or SOP Instance UID from the cache, or a file/folder")


def _expand(cache, item: str) -> list[Path]:  # type: ignore[no-untyped-def]
    path = Path(item)
    if path.is_file():
        return [path]
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file())
    series = cache.list_series(item)
    if series:
        return [i.path for s in series for i in cache.list_instances(s.series_instance_uid)]
    instances = cache.list_instances(item)
    if instances:
        return [i.path for i in instances]
    one = cache.get_instance(item)
    if one is not None:
        return [one.path]
    raise LookupError(f"{item!r} is neither a file, a folder nor a UID in the cache")


def execute(args: argparse.Namespace) -> int:
    from app.network.nodes import NodeError
    from app.network.scu import NetworkError
    from app.network.send import send_files
    from app.tasks import Cancelled

    try:
        cfg, node = node_arg(args)
    except NodeError as exc:
        print(f"telerad send: {exc}", file=sys.stderr)
        return 2
    ws = workstation(args)
    cache, audit = ws.cache, ws.audit
    try:
        files = [p for item in args.items for p in _expand(cache, item)]
        with cancel_on_sigint() as cancel:
            result = send_files(node, cfg.local.ae_title, files, audit=audit, user=ws.user, cancel=cancel,
                                progress=TerminalProgress("send"))
    except LookupError as exc:
        print(f"telerad send: {exc}", file=sys.stderr)
        return 2
    except Cancelled:
        print("send cancelled", file=sys.stderr)
        return 130
    except (NetworkError, OSError) as exc:
        print(f"telerad send: {exc}", file=sys.stderr)
        return 1
    finally:
        ws.close()
    print(f"{len(result.sent)} sent, {len(result.failed)} failed")
    for path, reason in result.failed.items():
        print(f"  {path}: {reason}", file=sys.stderr)
    return 0 if not result.failed else 1
