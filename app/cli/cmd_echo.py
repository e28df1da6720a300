"""`telerad echo NODE`: C-ECHO a configured node."""

from __future__ import annotations

import argparse
import sys

from app.cli.context import node_arg, workstation


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("node", help="configured node name (see `telerad nodes list`)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds (default 10)")


def execute(args: argparse.Namespace) -> int:
    from app.network import netaudit
    from app.network.nodes import NodeError
    from app.network.scu import NetworkError, echo

    try:
        cfg, node = node_arg(args)
        seconds = echo(node, cfg.local.ae_title, timeout=args.timeout)
        ok, message = True, f"{node.name}: C-ECHO ok ({seconds * 1000:.0f} ms)"
    except (NodeError, NetworkError, OSError) as exc:
        ok, message = False, f"telerad echo: {exc}"
    with workstation(args) as ws:
        netaudit.network_entry(ws.audit, what="echo", detail={"node": args.node, "ok": ok}, user=ws.user)
    print(message, file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1
