"""`telerad listen`: run the Storage SCP until Ctrl-C (configured nodes only; unsolicited -> quarantine)."""

from __future__ import annotations

import argparse
import sys

from app.cli.context import paths, workstation
from app.cli.progress import cancel_on_sigint


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, help="listening port (default: `nodes local` setting)")
    parser.add_argument("--aet", help="our AE title (default: `nodes local` setting)")


def execute(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from app.network.nodes import NodeError, load
    from app.network.scp import StorageSCP
    from app.network.sink import cache_sink

    try:
        cfg = load(paths(args).config_dir)
        cfg.local = replace(cfg.local, ae_title=args.aet or cfg.local.ae_title,
                            port=cfg.local.port if args.port is None else args.port)
        tls = None
        if cfg.local.tls.enabled:
            from app.network.tls import server_context

            tls = server_context(cfg.local.tls)
    except NodeError as exc:
        print(f"telerad listen: {exc}", file=sys.stderr)
        return 2
    ws = workstation(args)
    cache, audit = ws.cache, ws.audit
    try:
        with cancel_on_sigint() as stop, StorageSCP(cfg, cache_sink(cache), audit=audit, tls=tls) as scp:
            print(f"listening as {cfg.local.ae_title} on port {scp.port}{' (TLS)' if tls else ''}; Ctrl-C stops",
                  flush=True)
            while not stop.wait(0.5):
                pass
    except OSError as exc:
        print(f"telerad listen: {exc}", file=sys.stderr)
        return 1
    finally:
        ws.close()
    return 0
