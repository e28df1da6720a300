"""Shared plumbing for subcommands: paths, cache and audit log from the global options."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from app.config import Paths, resolve_paths, user_name

if TYPE_CHECKING:
    from app.audit import AuditLog
    from app.network.nodes import Node, NodeConfig
    from app.store import Cache


def paths(args: argparse.Namespace) -> Paths:
    """Resolved data locations for this invocation."""
    return resolve_paths(args.data_dir)


def node_arg(args: argparse.Namespace) -> "tuple[NodeConfig, Node]":
    """The node configuration and the node named by ``args.node`` (NodeError if unknown or unreadable)."""
    from app.network.nodes import load

    cfg = load(paths(args).config_dir)
    return cfg, cfg.get(args.node)


def open_cache(args: argparse.Namespace) -> "Cache":
    """Open (create, migrate, reconcile) the study cache."""
    from app.store import Cache

    return Cache.open(paths(args).cache)


def open_audit(args: argparse.Namespace) -> "AuditLog":
    """Open the append-only audit log."""
    from app.audit import AuditLog

    return AuditLog(paths(args).audit_db)


def audit_event(args: argparse.Namespace, event: object, **fields: object) -> None:
    """Append one event to the audit log (opened and closed around the call)."""
    log = open_audit(args)
    try:
        log.record(event, user=user_name(), **fields)  # type: ignore[arg-type]
    finally:
        log.close()


def window_arg(text: str) -> tuple[float, float]:
    """argparse type of ``--window C,W`` (centre, positive width)."""
    try:
        centre, width = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError("expected CENTRE,WIDTH, e.g. 40,80") from None
    if width <= 0:
        raise argparse.ArgumentTypeError("window width must be positive")
    return centre, width
