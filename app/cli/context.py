"""Shared plumbing for subcommands: the workstation of the global ``--data-dir``, node lookup, arguments.

Commands call the use cases of :class:`app.workstation.Workstation`; they parse, print and pick exit codes."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from app.config import Paths, resolve_paths, user_name

if TYPE_CHECKING:
    from app.network.nodes import Node, NodeConfig
    from app.workstation import Workstation


def paths(args: argparse.Namespace) -> Paths:
    """Resolved data locations for this invocation."""
    return resolve_paths(args.data_dir)


def node_arg(args: argparse.Namespace) -> "tuple[NodeConfig, Node]":
    """The node configuration and the node named by ``args.node`` (NodeError if unknown or unreadable)."""
    from app.network.nodes import load

    cfg = load(paths(args).config_dir)
    return cfg, cfg.get(args.node)


def workstation(args: argparse.Namespace) -> "Workstation":
    """The workstation of this invocation's data dir (use it as a context manager: it closes its services)."""
    from app.workstation import Workstation

    return Workstation(paths(args), user_name())


def unknown_node(ws: "Workstation", name: str, command: str) -> bool:
    """True, after a one-line message, when ``name`` is not a configured node (or nodes.json is invalid)."""
    import sys

    from app.network.nodes import NodeError

    try:
        ws.nodes().get(name)
    except NodeError as exc:
        print(f"telerad {command}: {exc}", file=sys.stderr)
        return True
    return False


def window_arg(text: str) -> tuple[float, float]:
    """argparse type of ``--window C,W`` (centre, positive width)."""
    try:
        centre, width = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError("expected CENTRE,WIDTH, e.g. 40,80") from None
    if width <= 0:
        raise argparse.ArgumentTypeError("window width must be positive")
    return centre, width
